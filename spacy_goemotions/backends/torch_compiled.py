"""``torch.compile`` for the torch backend: one compiled twin per model, built when a run pays for it.

Compiling costs 75-80 s cold on 2 CPU cores for ModernBERT-base and about doubles bf16 throughput
there (benchmarks/README.md); ``compile="auto"`` therefore compiles only for large bf16 CPU runs, and
a run never fails because compiling failed (it falls back to the eager model, see ``TorchRunner``).
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import TYPE_CHECKING, cast

import torch

if TYPE_CHECKING:
    from ..core.loading import LoadedModel
    from ..core.options import ClassifierOptions

logger = logging.getLogger("spacy_goemotions")

#: ``compile="auto"`` compiles (on CPU) only for runs of at least this many tokens: compiling costs
#: 75-80 s cold on 2 cores and about doubles bf16 throughput, so it pays after ~300k tokens; the
#: margin covers noisy machines and a cold inductor cache.
AUTO_COMPILE_MIN_TOKENS = 1_000_000

_COMPILED: weakref.WeakKeyDictionary[torch.nn.Module, torch.nn.Module] = weakref.WeakKeyDictionary()
_FAILED: weakref.WeakSet[torch.nn.Module] = weakref.WeakSet()
_COMPILE_LOCK = threading.Lock()


def compiled(model: torch.nn.Module) -> torch.nn.Module:
    """``torch.compile(model, dynamic=True)``, built once per model object and shared by every classifier.

    ``dynamic=True`` compiles one graph for all batch shapes (rows x tokens vary with every batch);
    without it each new shape would recompile. Compilation itself happens at the first calls, which
    the caller times (75-80 s cold on 2 CPU cores for ModernBERT-base; inductor caches on disk).
    """
    with _COMPILE_LOCK:
        module = _COMPILED.get(model)
        if module is None:
            module = _COMPILED[model] = cast(torch.nn.Module, torch.compile(model, dynamic=True))
        return module


def is_compiled(model: torch.nn.Module) -> bool:
    """True when a working compiled twin of ``model`` exists (later runs reuse it at no cost)."""
    return model in _COMPILED and model not in _FAILED


def compile_failed(model: torch.nn.Module) -> bool:
    """True when compiling ``model`` failed in this process ("auto" then stops trying)."""
    return model in _FAILED


def mark_compile_failed(model: torch.nn.Module, error: BaseException) -> None:
    """Remember that compiling failed here (no C++ compiler, an unsupported op) and say so once."""
    with _COMPILE_LOCK:
        _FAILED.add(model)
    logger.warning("torch.compile failed (%s: %s); running the model without it", type(error).__name__, error)


def module_for_run(loaded: LoadedModel, options: ClassifierOptions, estimated_tokens: float) -> torch.nn.Module:
    """The eager model, or its compiled twin when ``options.compile`` says this run should use (or build) it."""
    model = loaded.model
    if options.compile is False:
        return model
    if options.compile is True:
        return compiled(model)
    if compile_failed(model):
        return model
    if is_compiled(model):
        return compiled(model)
    # "auto": measured to pay with bf16 on CPU (see benchmarks/README.md); elsewhere it stays eager.
    if loaded.device.type == "cpu" and loaded.dtype == torch.bfloat16 and estimated_tokens >= AUTO_COMPILE_MIN_TOKENS:
        logger.info("Compiling the model for a run of ~%d tokens (compile='auto')", estimated_tokens)
        return compiled(model)
    return model
