"""Batch planning and feeding: group token sequences so padding (wasted compute) stays small,
and prepare the next batches on a background thread while the device computes.

Batches are numpy arrays: each backend turns them into its own inputs (``Backend.prepare``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

T = TypeVar("T")


def row_bucket(rows: int) -> int:
    """The largest of a fixed set of row counts that is at most ``rows``.

    1-8 stay as they are; above that the set has four steps per doubling (8, 10, 12, 14, 16, 20, 24,
    28, 32, 40, ...), so at most 1/5 of a batch's rows move to the next batch.
    """
    if rows <= 8:
        return rows
    step = 1 << (rows.bit_length() - 3)
    return rows - rows % step


def plan_batches(
    lengths: Sequence[int] | npt.NDArray[np.integer],
    max_tokens: int,
    batch_size: int,
    min_efficiency: float = 0.0,
    min_tokens: int = 0,
    bucket_rows: bool = False,
) -> list[npt.NDArray[np.intp]]:
    """Split sequence indices into batches sorted by length.

    Sequences are taken longest first (an out-of-memory error then shows on the first batch, not
    after an hour), and a batch grows while ``rows x longest_length <= max_tokens``,
    ``rows <= batch_size`` and its padding efficiency (real tokens / ``rows x longest_length``)
    stays at least ``min_efficiency``. The last rule cuts the long tail of a corpus, where lengths
    change fast, into smaller batches instead of padding them; with it every batch, and so the
    whole run, wastes at most ``1 - min_efficiency`` of its compute on padding. The floor only cuts
    a batch that already computes ``min_tokens`` tokens: tiny batches of short texts cost more in
    per-call overhead than their few padding tokens. A sequence longer than ``max_tokens`` gets a
    batch of its own.

    ``bucket_rows``: a batch cut short by the efficiency floor takes :func:`row_bucket` rows, the rest
    start the next batch. Full batches already have one row count per length; cut batches otherwise
    have any count, and new batch shapes cost native memory on CPU (oneDNN keeps a kernel per matrix
    shape, ~1 MB per shape for ModernBERT-base, and the heap keeps buffers of every size met). Measured
    (benchmarks/README.md): 44% less memory growth over a million new texts, same speed. The last
    batch of the input is never cut further (small calls would pay an extra forward pass).

    Returns:
        Index arrays into ``lengths``; together they hold every index exactly once.
    """
    if max_tokens < 1 or batch_size < 1:
        raise ValueError(f"max_tokens and batch_size must be >= 1, got {max_tokens} and {batch_size}")
    if not 0.0 <= min_efficiency <= 1.0:
        raise ValueError(f"min_efficiency must be in [0, 1], got {min_efficiency}")
    lengths_array = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-lengths_array, kind="stable")
    sorted_lengths = lengths_array[order]
    batches: list[npt.NDArray[np.intp]] = []
    start = 0
    total = len(order)
    while start < total:
        longest = max(int(sorted_lengths[start]), 1)
        available = min(batch_size, max_tokens // longest, total - start)
        rows = max(1, available)
        if min_efficiency > 0.0 and rows > 1:
            # efficiency of the batch made of the first k candidates, for every k; keep the longest prefix that passes
            real = np.cumsum(sorted_lengths[start : start + rows])
            efficiency = real / (longest * np.arange(1, rows + 1))
            # candidate k may be refused only if the batch before it already computes min_tokens
            failing = np.flatnonzero((efficiency < min_efficiency) & (np.arange(rows) * longest >= min_tokens))
            if len(failing):
                rows = max(1, int(failing[0]))
        if bucket_rows and rows < available:
            rows = row_bucket(rows)
        batches.append(order[start : start + rows])
        start += rows
    return batches


def plan_packed_batches(
    lengths: Sequence[int] | npt.NDArray[np.integer], max_tokens: int, batch_size: int
) -> list[npt.NDArray[np.intp]]:
    """Like :func:`plan_batches`, for packed batches (no padding): the budget caps the *sum* of lengths.

    Sequences are still taken longest first, so the first batch is the most memory-hungry one.
    """
    if max_tokens < 1 or batch_size < 1:
        raise ValueError(f"max_tokens and batch_size must be >= 1, got {max_tokens} and {batch_size}")
    lengths_array = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-lengths_array, kind="stable")
    batches: list[npt.NDArray[np.intp]] = []
    start, total = 0, len(order)
    while start < total:
        end = start + 1
        used = int(lengths_array[order[start]])
        while end < total and end - start < batch_size and used + int(lengths_array[order[end]]) <= max_tokens:
            used += int(lengths_array[order[end]])
            end += 1
        batches.append(order[start:end])
        start = end
    return batches


def pad_batch(
    sequences: Sequence[Sequence[int] | npt.NDArray[np.integer]], pad_id: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Right-pad token id lists into ``(input_ids, attention_mask)`` arrays."""
    lengths = np.fromiter((len(seq) for seq in sequences), dtype=np.int64, count=len(sequences))
    width = int(lengths.max()) if len(lengths) else 0
    attention_mask = (np.arange(width)[None, :] < lengths[:, None]).astype(np.int64)
    input_ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    if width:
        # One vectorised scatter instead of a Python loop per row: rows of a big GPU batch are many.
        input_ids[attention_mask.astype(bool)] = _concatenate(sequences)
    return input_ids, attention_mask


def _concatenate(sequences: Sequence[Sequence[int] | npt.NDArray[np.integer]]) -> npt.NDArray[np.int64]:
    """All token ids of ``sequences`` (lists or arrays) in one int64 array."""
    if not sequences:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([np.asarray(seq, dtype=np.int64) for seq in sequences])


def pack_batch(
    sequences: Sequence[Sequence[int] | npt.NDArray[np.integer]],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int32]]:
    """Concatenate token id lists into one row, for variable-length attention without padding.

    Returns:
        ``input_ids`` (1, total), ``position_ids`` (1, total) restarting at 0 for each sequence,
        and ``cu_seqlens`` (n + 1,) int32, the offsets where each sequence starts (flash-attn's format).
    """
    lengths = np.fromiter((len(seq) for seq in sequences), dtype=np.int64, count=len(sequences))
    cu_seqlens = np.zeros(len(sequences) + 1, dtype=np.int32)
    np.cumsum(lengths, out=cu_seqlens[1:])
    total = int(cu_seqlens[-1])
    input_ids = _concatenate(sequences)
    position_ids = np.arange(total, dtype=np.int64) - np.repeat(cu_seqlens[:-1].astype(np.int64), lengths)
    return input_ids[None, :], position_ids[None, :], cu_seqlens


@dataclass
class Batch:
    """One model call's inputs and the sequences it holds (in row order).

    A padded batch has ``attention_mask``; a packed batch (one row, no padding) has ``position_ids``
    and ``cu_seqlens`` instead. ``sequences`` is kept so an out-of-memory batch can be rebuilt in halves.
    """

    indices: npt.NDArray[np.intp]
    sequences: list[Any]  # token id lists or int32 arrays
    input_ids: npt.NDArray[np.int64]
    attention_mask: npt.NDArray[np.int64] | None = None
    position_ids: npt.NDArray[np.int64] | None = None
    cu_seqlens: npt.NDArray[np.int32] | None = None
    max_length: int = 0

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def packed(self) -> bool:
        return self.cu_seqlens is not None

    @property
    def real_tokens(self) -> int:
        return sum(len(seq) for seq in self.sequences)

    @property
    def computed_tokens(self) -> int:
        return int(self.input_ids.size)


def build_batch(indices: npt.NDArray[np.intp], sequences: list[Any], pad_id: int, *, packed: bool = False) -> Batch:
    """Pad (or pack) ``sequences`` into one batch's arrays."""
    if packed:
        input_ids, position_ids, cu_seqlens = pack_batch(sequences)
        max_length = int(np.diff(cu_seqlens).max()) if len(sequences) else 0
        return Batch(indices, sequences, input_ids, position_ids=position_ids, cu_seqlens=cu_seqlens, max_length=max_length)
    input_ids, attention_mask = pad_batch(sequences, pad_id)
    return Batch(indices, sequences, input_ids, attention_mask=attention_mask)


def split_batch(batch: Batch, pad_id: int) -> tuple[Batch, Batch]:
    """Two halves of ``batch`` in row order, each padded only to its own longest sequence."""
    half = len(batch) // 2
    first, second = (
        build_batch(batch.indices[part], batch.sequences[part], pad_id, packed=batch.packed)
        for part in (slice(None, half), slice(half, None))
    )
    return first, second


_END = object()


def prefetch(items: Iterable[T], depth: int = 2, *, name: str = "goemotions-prefetch") -> Iterator[T]:
    """Iterate ``items`` on a background thread, at most ``depth`` items ahead; yields them in order.

    Used so tokenization and padding of the next batches overlap the device's compute. An exception
    raised while producing is re-raised here, in the consumer, with its traceback. If the consumer
    stops early (an error, ``break``, the generator closed), the producer is told to stop and never
    blocks on a full queue, so nothing deadlocks and the thread ends.
    """
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    channel: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[Any, BaseException | None]) -> bool:
        # A bounded put that gives up when the consumer has gone: the no-deadlock guarantee.
        while not stop.is_set():
            try:
                channel.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not put((item, None)):
                    return
            put((_END, None))
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, which re-raises it
            put((_END, error))
        finally:
            close: Callable[[], None] | None = getattr(iterator, "close", None)
            if close is not None:
                close()  # a wrapped generator (perhaps another prefetch) cleans up on this thread

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item, error = channel.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item
    finally:
        stop.set()
        thread.join()
