"""One scoring run: rows in windows, unique texts, token sequences, planned batches, a backend, scores in input order.

A run reads its rows a window at a time (bounded memory for millions of rows). In each window the
texts are repaired and deduplicated, tokenized, and their sequences planned into batches sorted by
length; the backend computes the batches, and the window's text scores go to their rows. Nothing
here knows which backend runs: it only follows the contract of :mod:`spacy_goemotions.core.backend`.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .batching import Batch, build_batch, plan_batches, plan_packed_batches, prefetch
from .engine import Engine
from .options import Aggregation
from .text import repair_text
from .tokenization import TextEncoder, TokenIds

if TYPE_CHECKING:
    from .backend import Backend, BatchRunner

ScoreMatrix = npt.NDArray[np.float32]

#: Token budget per batch when ``max_tokens`` is not given. On CPU a small budget wins (the long
#: tail of a sorted corpus otherwise forms a few huge padded batches); a GPU needs big batches.
DEFAULT_MAX_TOKENS = {"cpu": 4096, "cuda": 65536, "mps": 16384}
#: Inputs are processed this many rows at a time, so memory stays bounded for millions of rows.
DEFAULT_WINDOW_ROWS = 65536
#: The first window is this small: with prefetching (the default on CUDA) the device's first batch waits for a few
#: thousand texts to be tokenized, not 65,536, and later windows are tokenized on a thread while the device works.
#: Every run cuts its windows so (prefetching or not), so that prefetching never changes which texts share a batch.
FIRST_WINDOW_ROWS = 4096
#: On CPU each padded batch spends at least this share of its compute on real tokens (see
#: plan_batches): compute is linear in padded tokens there, and small batches of long texts still run
#: efficiently. Not applied on GPUs (unmeasured: small batches cost launches; packing avoids padding).
MIN_BATCH_EFFICIENCY = 0.97
#: Padded batches prepared ahead of the device when prefetching (each holds up to max_tokens tokens).
PREFETCH_BATCHES = 4


@dataclass
class RunStats:
    """What one scoring run did; the benchmark and the CLI summary read it.

    Attributes:
        rows: texts given, missing ones included.
        missing: texts that were None (NaN rows).
        repaired: texts whose lone surrogates were replaced with U+FFFD.
        unique_texts: distinct texts scored (identical texts are computed once).
        sequences: sequences the model ran (more than texts when long texts are chunked).
        batches: model batches.
        real_tokens: tokens of the texts.
        computed_tokens: tokens the model computed, padding included.
        seconds: wall-clock time of the run.
        compiled: whether ``torch.compile`` ran the batches.
        packed: whether batches were packed without padding.
        backend: what computed the run: ``"torch"`` or ``"openvino"`` (``""`` with nothing to score).
        precision: what it computed in: ``"float32"``, ``"bfloat16"``, ``"float16"`` or ``"int8"``.
        device: the device it ran on.

    Examples:
        >>> result = EmotionClassifier("goemotions-small").run(["Thank you!", "Thank you!", None])  # doctest: +SKIP
        >>> result.stats.rows, result.stats.missing, result.stats.unique_texts, str(result.stats.engine)  # doctest: +SKIP
        (3, 1, 1, 'openvino/bfloat16/cpu')
    """

    rows: int = 0
    missing: int = 0
    repaired: int = 0
    unique_texts: int = 0
    sequences: int = 0
    batches: int = 0
    real_tokens: int = 0
    computed_tokens: int = 0
    seconds: float = 0.0
    compiled: bool = False
    packed: bool = False
    #: What computed the run: "torch" or "openvino" ("" for a run with nothing to score).
    backend: str = ""
    #: The precision it computed in: "float32", "bfloat16", "float16" or "int8" ("" with nothing to score).
    precision: str = ""
    #: The device it ran on ("" with nothing to score).
    device: str = ""

    @property
    def engine(self) -> Engine | None:
        """The :class:`~spacy_goemotions.core.engine.Engine` that computed the run; None when nothing was scored."""
        return Engine(self.backend, self.precision, self.device) if self.backend else None

    @property
    def padding_efficiency(self) -> float:
        """Real tokens / computed tokens (1.0 means no compute spent on padding)."""
        return self.real_tokens / self.computed_tokens if self.computed_tokens else 1.0


@dataclass
class ScoringResult:
    """Scores in input order (NaN rows for missing texts), and the run's statistics.

    Attributes:
        scores: float32 (n, len(labels)) scores, row i for text i.
        labels: the column names of ``scores``.
        stats: what the run did.

    Examples:
        >>> result = EmotionClassifier("goemotions-small").run(["Thank you!"])  # doctest: +SKIP
        >>> result.scores.shape, result.labels[:2]                              # doctest: +SKIP
        ((1, 28), ('admiration', 'amusement'))
    """

    scores: ScoreMatrix
    labels: tuple[str, ...]
    stats: RunStats = field(default_factory=RunStats)


@dataclass
class Window:
    """One window of rows, tokenized and planned; ``scores`` is filled batch by batch."""

    offset: int
    rows: int
    texts: int
    row_owners: npt.NDArray[np.intp]
    sequences: list[TokenIds]
    sequence_owners: npt.NDArray[np.intp]
    lengths: npt.NDArray[np.int64]
    batches: list[npt.NDArray[np.intp]]
    scores: ScoreMatrix = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))


def store_rows(target: ScoreMatrix, rows: npt.NDArray[np.intp], scores: ScoreMatrix) -> None:
    """The sink of one batch: its scores go to its sequences' rows of the window's array."""
    target[rows] = scores


def unique_texts(window: Sequence[str | None], offset: int, stats: RunStats) -> tuple[list[str], npt.NDArray[np.intp]]:
    """Repair and deduplicate a window: the unique texts, and each row's index into them (-1: missing).

    Raises:
        TypeError: for a value that is neither a string nor None, naming its position in the input.
    """
    position: dict[str, int] = {}
    owners = np.full(len(window), -1, dtype=np.intp)
    for row, text in enumerate(window):
        if text is None:
            stats.missing += 1
            continue
        if not isinstance(text, str):
            raise TypeError(
                f"texts[{offset + row}] is a {type(text).__name__} ({text!r:.60}), not a string. "
                "Convert the values first, e.g. [str(t) for t in texts], or pass None for a missing text."
            )
        text, repaired = repair_text(text)
        stats.repaired += repaired
        owners[row] = position.setdefault(text, len(position))
    return list(position), owners


def aggregate(sequence_scores: ScoreMatrix, owners: npt.NDArray[np.intp], n_texts: int, how: Aggregation) -> ScoreMatrix:
    """Each text's scores from its sequences' scores (``max`` or ``mean`` over its chunks)."""
    if len(owners) == n_texts:  # one sequence per text (truncate, or no text needed chunks)
        return sequence_scores
    if how == "max":
        combined = np.full((n_texts, sequence_scores.shape[1]), -np.inf, dtype=np.float32)
        np.maximum.at(combined, owners, sequence_scores)
        return combined
    sums = np.zeros((n_texts, sequence_scores.shape[1]), dtype=np.float64)
    np.add.at(sums, owners, sequence_scores)
    counts = np.bincount(owners, minlength=n_texts)[:, None]
    return (sums / counts).astype(np.float32)


def window_bounds(total: int, first: int, size: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of each window of ``total`` rows: the first ``first`` rows, then ``size`` at a time.

    Examples:
        >>> list(window_bounds(10, 2, 4))
        [(0, 2), (2, 6), (6, 10)]
    """
    start, step = 0, first
    while start < total:
        yield start, min(start + step, total)
        start, step = start + step, size


class ScoringRun:
    """Scores ``items`` into ``output`` (NaN stays where a text is missing) through ``backend``.

    Args:
        encoder: turns texts into the sequences the model runs.
        backend: computes batches (see :mod:`spacy_goemotions.core.backend`).
        labels: how many score columns the model has.
        device_type: ``"cpu"``, ``"cuda"`` (or ``"cuda:1"``) or ``"mps"``: picks the CPU batch rules; recorded in ``RunStats``.
        max_tokens, batch_size, aggregate, prefetch: the options of the same names; ``max_tokens`` is
            already the budget in force (at least one whole sequence).
    """

    def __init__(
        self,
        encoder: TextEncoder,
        backend: Backend[Any],
        n_labels: int,
        device_type: str,
        *,
        max_tokens: int,
        batch_size: int,
        aggregate: Aggregation,
        prefetch: bool,
    ) -> None:
        self.encoder = encoder
        self.backend = backend
        self.n_labels = n_labels
        self.on_cpu = device_type == "cpu"
        self.device_name = device_type
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.aggregate = aggregate
        self.prefetch = prefetch
        self.packed = backend.layout == "packed"

    def run(self, items: Sequence[str | None], output: ScoreMatrix, stats: RunStats, bar: Any) -> None:
        runner: BatchRunner[Any] | None = None
        current: Window | None = None
        done_sequences = done_rows = 0
        with contextlib.ExitStack() as cleanup:
            for item in self._stream(items, stats):
                if isinstance(item, Window):
                    if current is not None and runner is not None:
                        runner.wait()  # batches may still be in flight: the window's scores are not all there yet
                        self._finish_window(current, output, stats)
                    current, done_sequences, done_rows = item, 0, 0
                    current.scores = np.empty((len(item.sequences), self.n_labels), dtype=np.float32)
                    if runner is None:  # one per run, told the run's size from the first window's tokens
                        estimate = float(item.lengths.sum()) * len(items) / max(item.rows, 1)
                        runner = cleanup.enter_context(self.backend.open(estimate))
                    if not item.sequences:
                        bar.update(item.rows)
                    continue
                assert current is not None and runner is not None
                batch, prepared = item
                runner.submit(prepared, functools.partial(store_rows, current.scores, batch.indices))
                stats.batches += 1
                stats.real_tokens += batch.real_tokens
                stats.computed_tokens += batch.computed_tokens
                done_sequences += len(batch)
                rows_now = current.rows * done_sequences // len(current.sequences)
                bar.update(rows_now - done_rows)
                done_rows = rows_now
            if current is not None and runner is not None:
                runner.wait()
                self._finish_window(current, output, stats)
        stats.compiled = runner is not None and runner.compiled
        if runner is not None:
            stats.backend, stats.precision, stats.device = runner.name, runner.precision, self.device_name
        stats.packed = self.packed

    def _prepare_window(self, window: Sequence[str | None], offset: int, stats: RunStats) -> Window:
        """Deduplicate, tokenize and plan the batches of one window (runs on the prefetch thread if any)."""
        texts, row_owners = unique_texts(window, offset, stats)
        stats.unique_texts += len(texts)
        sequences, sequence_owners = self.encoder.encode(texts) if texts else ([], np.zeros(0, dtype=np.intp))
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
        if not sequences:
            batches: list[npt.NDArray[np.intp]] = []
        elif self.packed:
            # Packed rows cost nothing beyond their tokens (no padding, no per-row tensor), so only the
            # token budget bounds a packed batch; batch_size caps padded batches.
            batches = plan_packed_batches(lengths, self.max_tokens, len(lengths))
        else:
            floor = MIN_BATCH_EFFICIENCY if self.on_cpu else 0.0
            batches = plan_batches(
                lengths, self.max_tokens, self.batch_size, floor, min_tokens=self.max_tokens // 8, bucket_rows=self.on_cpu
            )
        return Window(offset, len(window), len(texts), row_owners, sequences, sequence_owners, lengths, batches)

    def _stream(self, items: Sequence[str | None], stats: RunStats) -> Iterator[Window | tuple[Batch, Any]]:
        """Each window, followed by its batches (built and prepared for the backend), in order.

        With prefetching, tokenizing window k+1 and building (and pinning) the next batches both run
        on background threads, overlapping the device's work on the current batch.
        """
        pad_id = self.encoder.tokenizer.pad_token_id
        first = min(FIRST_WINDOW_ROWS, DEFAULT_WINDOW_ROWS)
        windows: Iterator[Window] = (
            self._prepare_window(items[start:stop], start, stats)
            for start, stop in window_bounds(len(items), first, DEFAULT_WINDOW_ROWS)
        )
        if self.prefetch:
            windows = prefetch(windows, 1, name="goemotions-tokenize")

        def batches() -> Iterator[Window | tuple[Batch, Any]]:
            for window in windows:
                yield window
                for indices in window.batches:
                    batch = build_batch(indices, [window.sequences[i] for i in indices], pad_id, packed=self.packed)
                    yield batch, self.backend.prepare(batch)

        return prefetch(batches(), PREFETCH_BATCHES, name="goemotions-batches") if self.prefetch else batches()

    def _finish_window(self, window: Window, output: ScoreMatrix, stats: RunStats) -> None:
        stats.sequences += len(window.sequences)
        if not window.sequences:
            return
        text_scores = aggregate(window.scores, window.sequence_owners, window.texts, self.aggregate)
        present = window.row_owners >= 0
        output[window.offset + np.flatnonzero(present)] = text_scores[window.row_owners[present]]
