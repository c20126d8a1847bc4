"""The torch backend on padded batches: the model itself, or its ``torch.compile`` twin, one batch at a time.

A batch that runs out of memory is split in halves and retried, rows staying in order, and the rest of the run
keeps to half the size that failed. Logits that are not finite are an error naming the engine, never scores.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import torch

from ..core.backend import Layout, ScoreMatrix, logits_to_scores
from ..core.batching import Batch, split_batch
from . import torch_compiled
from .base import SynchronousRunner

if TYPE_CHECKING:
    from ..core.loading import LoadedModel
    from ..core.options import ClassifierOptions

logger = logging.getLogger("spacy_goemotions")


@dataclass
class TorchBatch:
    """A batch as CPU tensors (pinned for a CUDA device), and the arrays it came from (to split it)."""

    batch: Batch
    input_ids: torch.Tensor
    attention_mask: torch.Tensor | None = None
    position_ids: torch.Tensor | None = None
    cu_seqlens: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.batch)


class TorchBackend:
    """Padded batches through the eager model, or through its compiled twin when the run asks for it."""

    layout: Layout = "padded"

    def __init__(self, options: ClassifierOptions, loaded: LoadedModel) -> None:
        self.options = options
        self.loaded = loaded
        # Pinned memory makes the host-to-GPU copy asynchronous (non_blocking=True). The runner is synchronous (the
        # scores come back to the CPU after each batch), so the copy does not overlap the previous batch's compute;
        # what overlaps is host work: prepare() builds and pins the next batches on the prefetch thread.
        self.pin = loaded.device.type == "cuda"

    def prepare(self, batch: Batch) -> TorchBatch:
        def tensor(array: npt.NDArray[Any]) -> torch.Tensor:
            result = torch.from_numpy(array)
            return result.pin_memory() if self.pin else result

        optional = {
            name: tensor(getattr(batch, name))
            for name in ("attention_mask", "position_ids", "cu_seqlens")
            if getattr(batch, name) is not None
        }
        return TorchBatch(batch, tensor(batch.input_ids), **optional)

    @contextmanager
    def open(self, estimated_tokens: float) -> Iterator[TorchRunner]:
        yield TorchRunner(self, self.module_for_run(estimated_tokens))

    def module_for_run(self, estimated_tokens: float) -> torch.nn.Module:
        """The eager model, or its compiled twin when ``compile`` says this run should use it."""
        return torch_compiled.module_for_run(self.loaded, self.options, estimated_tokens)

    @torch.inference_mode()
    def forward(self, prepared: TorchBatch, module: torch.nn.Module) -> ScoreMatrix:
        """One batch's sigmoid scores, in float32, copied back to the CPU once."""
        device = self.loaded.device
        assert prepared.attention_mask is not None
        # non_blocking: from pinned memory (CUDA) the copy is asynchronous; elsewhere it is a no-op flag.
        input_ids = prepared.input_ids.to(device, non_blocking=True)
        logits = module(input_ids=input_ids, attention_mask=prepared.attention_mask.to(device, non_blocking=True)).logits
        return scores_from_logits(logits, self.loaded.device_name, self.loaded.dtype_name)


def scores_from_logits(logits: torch.Tensor, device: str, dtype: str) -> ScoreMatrix:
    """A batch's scores (:func:`~spacy_goemotions.core.backend.logits_to_scores`, the same for every backend).

    The logits come to the CPU first (one small copy, which synchronizes as the scores' copy did), so that the
    finite check costs no extra synchronization on a GPU.

    Raises:
        NonFiniteScoresError: NaN or infinite logits.
    """
    return logits_to_scores(logits.float().cpu().numpy(), f"torch, {dtype}, on {device}")


class TorchRunner(SynchronousRunner):
    """One run on a torch backend: computes each batch as it is submitted."""

    name = "torch"

    def __init__(self, backend: TorchBackend, module: torch.nn.Module) -> None:
        self.backend = backend
        self.module = module
        self.warms_up = module is not backend.loaded.model
        #: After an out-of-memory error: the most tokens (rows x width) a batch of this run may compute.
        self.token_cap: int | None = None

    @property
    def compiled(self) -> bool:
        return self.module is not self.backend.loaded.model

    @property
    def precision(self) -> str:
        return str(self.backend.loaded.dtype).removeprefix("torch.")

    def compute(self, prepared: TorchBatch) -> ScoreMatrix:
        """Forward one batch; out of memory, split it in halves and retry (rows stay in order), and keep the rest
        of the run's batches to half the size that failed, so that they do not fail first."""
        batch = prepared.batch
        if self.token_cap is not None and len(batch) > 1 and batch.computed_tokens > self.token_cap:
            return self._in_halves(prepared)
        scores = self._forward_or_none(prepared)
        if scores is not None:
            return scores
        # Handled here, after the except block: the failed forward's frames, and the activations they hold, are
        # gone now (inside the except, the traceback keeps them alive and freeing the cache frees nothing).
        device = self.backend.loaded.device
        if device.type == "cuda":
            torch.cuda.empty_cache()
        if len(batch) == 1:
            raise torch.OutOfMemoryError(
                f"Out of memory on a single sequence of {batch.real_tokens} tokens on {device}. "
                "Lower max_length, use long_text='chunk', or run on a device with more memory."
            )
        self.token_cap = batch.computed_tokens // 2
        logger.warning(
            "Out of memory on a batch of %d (%d tokens); retrying as two halves, and batches of this run keep under %d tokens",
            len(batch),
            batch.computed_tokens,
            self.token_cap,
        )
        return self._in_halves(prepared)

    def _forward_or_none(self, prepared: TorchBatch) -> ScoreMatrix | None:
        """The batch's scores, or None when the device ran out of memory (the error is dropped with its frames)."""
        try:
            return self.backend.forward(prepared, self.module)
        except torch.OutOfMemoryError:
            return None

    def _in_halves(self, prepared: TorchBatch) -> ScoreMatrix:
        halves = split_batch(prepared.batch, self.backend.loaded.pad_token_id)
        return np.concatenate([self.compute(self.backend.prepare(half)) for half in halves])
