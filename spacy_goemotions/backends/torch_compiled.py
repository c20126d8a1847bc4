"""``torch.compile`` for the torch backend (``compile=True``): one compiled twin per model.

Compiling costs 75-80 s cold on 2 CPU cores for ModernBERT-base and about doubles bf16 throughput
there (benchmarks/README.md). ``compile="auto"`` (the default) does not compile: compiled and eager
kernels round differently, and a run's engine must not depend on its size or on what ran before it
(the fast CPU path is OpenVINO, which ``backend="auto"`` picks). ``compile=True`` compiles every run.
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

_COMPILED: weakref.WeakKeyDictionary[torch.nn.Module, torch.nn.Module] = weakref.WeakKeyDictionary()
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


def module_for_run(loaded: LoadedModel, options: ClassifierOptions, estimated_tokens: float) -> torch.nn.Module:
    """The compiled twin with ``compile=True``, else the eager model (``"auto"`` stays eager: see the module docstring)."""
    if options.compile is True:
        return compiled(loaded.model)
    return loaded.model
