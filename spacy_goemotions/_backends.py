"""Fast paths behind the core's forward pass: ``torch.compile`` and padding-free packed batches.

Both are chosen by the core (``EmotionClassifier(compile=..., packing=...)``); neither changes
the scores beyond the usual floating-point noise of a different kernel order.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import weakref
from typing import Any

import torch

logger = logging.getLogger("spacy_goemotions")

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
            module = _COMPILED[model] = torch.compile(model, dynamic=True)
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


# --- packed (variable-length) batches -----------------------------------------------------------


def flash_attn_available() -> bool:
    """True when the ``flash_attn`` package is importable (it needs a CUDA GPU to run)."""
    return importlib.util.find_spec("flash_attn") is not None


def supports_packing(model: torch.nn.Module, device: torch.device) -> bool:
    """Packing needs a CUDA device, flash-attn's variable-length kernel, and a ModernBERT-style
    classifier (``model``, ``head``, ``drop``, ``classifier``, mean or cls pooling) whose body we can
    call without the pooling that would mix packed texts.
    """
    if device.type != "cuda" or not flash_attn_available():
        return False
    config = getattr(model, "config", None)
    return (
        getattr(config, "model_type", None) == "modernbert"
        and getattr(config, "classifier_pooling", None) in ("mean", "cls")
        and all(hasattr(model, name) for name in ("model", "head", "drop", "classifier"))
    )


_ATTN_LOCK = threading.Lock()


def enable_flash_attention(model: torch.nn.Module) -> None:
    """Switch a loaded model to flash-attention-2 (done once; padded batches keep working with it)."""
    with _ATTN_LOCK:
        if getattr(model.config, "_attn_implementation", None) != "flash_attention_2":
            model.set_attn_implementation("flash_attention_2")


def segment_pool(hidden: torch.Tensor, cu_seqlens: torch.Tensor, pooling: str) -> torch.Tensor:
    """Pool a packed ``(total_tokens, hidden)`` tensor into one row per sequence.

    ``"cls"`` takes each sequence's first token; ``"mean"`` averages its tokens (summed in float32,
    as the padded model's masked mean would be, then cast back).
    """
    starts = cu_seqlens[:-1].long()
    if pooling == "cls":
        return hidden[starts]
    lengths = cu_seqlens.diff().long()
    owners = torch.repeat_interleave(torch.arange(len(lengths), device=hidden.device), lengths)
    sums = torch.zeros(len(lengths), hidden.shape[-1], dtype=torch.float32, device=hidden.device)
    sums.index_add_(0, owners, hidden.float())
    return (sums / lengths[:, None].to(torch.float32)).to(hidden.dtype)


def classify_pooled(model: Any, pooled: torch.Tensor) -> torch.Tensor:
    """The classifier head of a ModernBERT sequence classifier on already pooled states."""
    return model.classifier(model.drop(model.head(pooled)))


def packed_logits(model: Any, input_ids: torch.Tensor, position_ids: torch.Tensor, cu_seqlens: torch.Tensor, max_length: int) -> torch.Tensor:
    """Logits for a packed batch: the encoder runs on one row of concatenated sequences and
    flash-attn's varlen kernel keeps every sequence (and its sliding window) to itself.
    """
    cu = cu_seqlens.to(torch.int32)
    hidden = model.model(
        input_ids=input_ids, position_ids=position_ids, cu_seq_lens_q=cu, cu_seq_lens_k=cu,
        max_length_q=max_length, max_length_k=max_length,
    ).last_hidden_state[0]  # fmt: skip
    return classify_pooled(model, segment_pool(hidden, cu, model.config.classifier_pooling))
