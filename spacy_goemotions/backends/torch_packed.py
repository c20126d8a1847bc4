"""Packed batches for the torch backend: texts concatenated into one row, no padding, through flash-attn.

flash-attn's variable-length kernel keeps every text (and its sliding window) to itself, so a batch
costs its real tokens only. It needs a CUDA device, the ``flash_attn`` package and a ModernBERT
classifier; ``packing=None`` turns it on where all three are there. The scores differ from padded
batches only by the floating-point noise of another kernel order.
"""

from __future__ import annotations

import importlib.util
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
    return has_modernbert_head(model) and getattr(model.config, "classifier_pooling", None) in ("mean", "cls")


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


def use_packing(options: ClassifierOptions, loaded: LoadedModel) -> bool:
    """Whether this classifier runs packed batches; ``packing=True`` where it cannot work is an error."""
    if options.packing is False:
        return False
    supported = supports_packing(loaded.model, loaded.device)
    if options.packing is True and not supported:
        raise ConfigurationError(
            f"packing=True needs a CUDA device, the flash_attn package and a ModernBERT classifier; "
            f"here the device is {loaded.device} and flash_attn is "
            f"{'installed' if flash_attn_available() else 'not installed'}. Use packing=None (automatic)."
        )
    if supported:
        enable_flash_attention(loaded.model)
    return supported


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
        return scores_from_logits(logits, self.loaded.device_name, self.loaded.dtype_name, len(prepared))
