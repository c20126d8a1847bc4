"""Packed batches for the torch backend: texts concatenated into one row, no padding, through flash-attn.

flash-attn's variable-length kernel keeps every text (and its sliding window) to itself, so a batch
costs its real tokens only. It needs a CUDA GPU of compute capability 8.0+, bf16 or fp16, a ``flash_attn``
whose kernel loads and a ModernBERT classifier (:func:`packing_refusal`); ``packing=None`` turns it on
where all are there, and says why not (once) where a GPU has flash-attn installed but cannot use it. The
scores differ from padded batches only by the floating-point noise of another kernel order.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import torch

from ..core.backend import Layout, ScoreMatrix
from ..errors import ConfigurationError
from .modernbert import classify_pooled, has_modernbert_head
from .torch_eager import TorchBackend, TorchBatch, TorchRunner, scores_from_logits

if TYPE_CHECKING:
    from ..core.loading import LoadedModel
    from ..core.options import ClassifierOptions

logger = logging.getLogger("spacy_goemotions")


def flash_attn_available() -> bool:
    """True when the ``flash_attn`` package is installed (whether its kernel loads is :func:`flash_attn_refusal`'s)."""
    return importlib.util.find_spec("flash_attn") is not None


#: Packing's dtypes: flash-attn's kernels take bf16 and fp16 only (float32 is rejected at the first batch).
PACKING_DTYPES = ("bfloat16", "float16")
#: flash-attn 2 needs an Ampere or newer GPU (compute capability 8.0).
MIN_CAPABILITY = (8, 0)


def flash_attn_refusal() -> str | None:
    """Why flash-attn's variable-length kernel cannot run here, or None when it imports.

    A wheel built for another torch or CUDA fails on import (an undefined symbol), not when installed.
    """
    if not flash_attn_available():
        return "flash_attn is not installed"
    try:
        from flash_attn import flash_attn_varlen_func  # noqa: F401
    except Exception as error:  # noqa: BLE001 - ImportError, OSError (undefined symbol), RuntimeError: all mean "no"
        return f"flash_attn does not load ({type(error).__name__}: {str(error)[:200]}); a wheel built for another torch?"
    return None


def packing_refusal(model: torch.nn.Module, device: torch.device, dtype: str) -> str | None:
    """Why packed batches cannot run for this model, device and dtype, or None when they can.

    Packing needs a CUDA device of compute capability 8.0 or more, bf16 or fp16, a flash-attn whose kernel
    loads, and a ModernBERT-style classifier (``model``, ``head``, ``drop``, ``classifier``, mean or cls
    pooling) whose body we can call without the pooling that would mix packed texts.
    """
    if device.type != "cuda":
        return f"the device is {device}, not a CUDA GPU"
    if dtype not in PACKING_DTYPES:
        return f"dtype is {dtype}; flash-attn computes in bfloat16 or float16 only"
    capability = tuple(torch.cuda.get_device_capability(device))
    if capability < MIN_CAPABILITY:
        return f"{device} has compute capability {capability[0]}.{capability[1]}; flash-attn 2 needs 8.0 (Ampere) or newer"
    refusal = flash_attn_refusal()
    if refusal is not None:
        return refusal
    if not (has_modernbert_head(model) and getattr(model.config, "classifier_pooling", None) in ("mean", "cls")):
        return "the model is not a ModernBERT classifier with mean or cls pooling"
    return None


_ATTN_LOCK = threading.Lock()


def enable_flash_attention(model: Any) -> None:
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


def packed_logits(
    model: Any, input_ids: torch.Tensor, position_ids: torch.Tensor, cu_seqlens: torch.Tensor, max_length: int
) -> torch.Tensor:
    """Logits for a packed batch: the encoder runs on one row of concatenated sequences and
    flash-attn's varlen kernel keeps every sequence (and its sliding window) to itself.
    """
    cu = cu_seqlens.to(torch.int32)
    hidden = model.model(
        input_ids=input_ids,
        position_ids=position_ids,
        cu_seq_lens_q=cu,
        cu_seq_lens_k=cu,
        max_length_q=max_length,
        max_length_k=max_length,
    ).last_hidden_state[0]
    return classify_pooled(model, segment_pool(hidden, cu, model.config.classifier_pooling))


_WARNED: set[str] = set()


def use_packing(options: ClassifierOptions, loaded: LoadedModel) -> bool:
    """Whether this classifier runs packed batches.

    ``packing=True`` where it cannot work is an error saying why; ``packing=None`` (automatic) runs padded
    batches instead, with a warning (once per reason) where packing was within reach on a GPU but cannot run:
    float32, an older GPU, a flash-attn that does not load.
    """
    if options.packing is False:
        return False
    refusal = packing_refusal(loaded.model, loaded.device, loaded.dtype_name)
    if refusal is not None:
        if options.packing is True:
            raise ConfigurationError(
                f"packing=True cannot run here: {refusal}. Use packing=None (automatic: padded batches where packing "
                "cannot run) or packing=False.",
                options=("packing",),
                value=True,
                example={"packing": None},
            )
        if loaded.device_type == "cuda" and flash_attn_available() and refusal not in _WARNED:
            _WARNED.add(refusal)
            logger.warning("Packed batches are off (%s); running padded batches", refusal)
        return False
    enable_flash_attention(loaded.model)
    return True


class TorchPackedBackend(TorchBackend):
    """Packed batches through the eager model (never compiled: the varlen kernel is already fused)."""

    layout: Layout = "packed"

    @contextmanager
    def open(self, estimated_tokens: float) -> Iterator[TorchRunner]:
        runner = TorchRunner(self, self.loaded.model)
        runner.warms_up = True  # flash-attn builds its kernels for the first shapes
        yield runner

    @torch.inference_mode()
    def forward(self, prepared: TorchBatch, module: torch.nn.Module) -> ScoreMatrix:
        device = self.loaded.device
        assert prepared.position_ids is not None and prepared.cu_seqlens is not None
        logits = packed_logits(
            self.loaded.model,
            prepared.input_ids.to(device, non_blocking=True),
            prepared.position_ids.to(device, non_blocking=True),
            prepared.cu_seqlens.to(device, non_blocking=True),
            prepared.batch.max_length,
        )
        return scores_from_logits(logits, self.loaded.device_name, self.loaded.dtype_name)
