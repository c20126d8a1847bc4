"""Batch planning: group token sequences so padding (wasted compute) stays small."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


def plan_batches(lengths: Sequence[int] | npt.NDArray[np.integer], max_tokens: int, batch_size: int) -> list[npt.NDArray[np.intp]]:
    """Split sequence indices into batches sorted by length.

    Sequences are taken longest first (an out-of-memory error then shows on the first batch, not
    after an hour), and a batch grows while ``rows x longest_length <= max_tokens`` and
    ``rows <= batch_size``. A sequence longer than ``max_tokens`` gets a batch of its own.

    Returns:
        Index arrays into ``lengths``; together they hold every index exactly once.
    """
    if max_tokens < 1 or batch_size < 1:
        raise ValueError(f"max_tokens and batch_size must be >= 1, got {max_tokens} and {batch_size}")
    lengths_array = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-lengths_array, kind="stable")
    batches: list[npt.NDArray[np.intp]] = []
    start = 0
    total = len(order)
    while start < total:
        longest = max(int(lengths_array[order[start]]), 1)
        rows = max(1, min(batch_size, max_tokens // longest, total - start))
        batches.append(order[start : start + rows])
        start += rows
    return batches


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Right-pad token id lists into ``(input_ids, attention_mask)`` arrays."""
    width = max((len(seq) for seq in sequences), default=0)
    input_ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(sequences), width), dtype=np.int64)
    for row, seq in enumerate(sequences):
        input_ids[row, : len(seq)] = seq
        attention_mask[row, : len(seq)] = 1
    return input_ids, attention_mask
