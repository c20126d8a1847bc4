"""What a file run reports: its counts, its summary, and the error that says it was stopped."""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..errors import GoEmotionsError
from .readers import Chunk


@dataclass
class BatchCounts:
    """What a run did, summed over every chunk (and over the runs of a resumed job).

    ``rows_in`` counts records read (``rows_out + skipped``); blank lines are not records.
    ``replaced`` counts undecodable byte sequences replaced by U+FFFD while reading; ``repaired``
    counts texts whose lone surrogates the core replaced.
    """

    rows_in: int = 0
    rows_out: int = 0
    missing: int = 0
    repaired: int = 0
    replaced: int = 0
    skipped: int = 0
    blank_lines: int = 0
    chunks: int = 0

    def add(self, chunk: Chunk, missing: int, repaired: int) -> None:
        self.chunks += 1
        self.rows_out += len(chunk.texts)
        self.rows_in += len(chunk.texts) + chunk.skipped
        self.skipped += chunk.skipped
        self.replaced += chunk.replaced
        self.blank_lines += chunk.blank_lines
        self.missing += missing
        self.repaired += repaired

    def merge(self, other: BatchCounts) -> None:
        """Add another run's counts (one output part's, in a run that writes a folder)."""
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))


@dataclass
class BatchSummary:
    """The result of :func:`~.run.classify_file`: counts for the whole job and timing for this process.

    ``parts`` is the number of input files of a folder or glob input (None for one file).

    Args:
        counts: rows in and out, missing, repaired, replaced, skipped, chunks: for the whole job, resumed runs
            included.
        seconds: wall-clock time of this process's run.
        rows_this_run: rows this process scored (fewer than ``counts.rows_out`` after a resume).
        resumed_from_row: the row a resumed run continued from (0 for a fresh run).
        output: where the output was written.
        parts: the number of input files of a folder or glob input (None for one file).

    Examples:
        >>> summary = classify_file(FileJob("in.csv", "out.csv", text_column="body"), classifier=clf)  # doctest: +SKIP
        >>> summary.counts.missing, round(summary.rows_per_second)                                     # doctest: +SKIP
        (3, 2410)
    """

    counts: BatchCounts
    seconds: float
    rows_this_run: int
    resumed_from_row: int | None = None
    output: str = ""
    parts: int | None = None

    @property
    def rows_per_second(self) -> float:
        return self.rows_this_run / self.seconds if self.seconds > 0 else 0.0


class Interrupted(GoEmotionsError):
    """Raised by :func:`~.run.classify_file` when ``should_stop()`` asked it to stop after a chunk."""

    def __init__(self, summary: BatchSummary, resumable: bool) -> None:
        super().__init__(f"stopped after {summary.counts.rows_out} rows ({summary.counts.chunks} chunks)")
        self.summary = summary
        self.resumable = resumable
