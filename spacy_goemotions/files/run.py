"""Streaming file classification (what ``spacy-goemotions classify`` runs): chunks in, atomic output, resumable.

How a run works:

- A reader (:mod:`.readers`) yields chunks of at most ``chunk_rows`` rows with the input position
  where the next chunk starts.
- Each chunk is scored by one :class:`~spacy_goemotions.core.EmotionClassifier` and labelled by the
  table options' threshold policy; this module only converts types.
- A sink (:mod:`.sinks`) writes to ``OUTPUT.partial`` beside OUTPUT (Parquet: one part file per chunk in
  ``OUTPUT.parts/``). After every chunk the data is fsynced, then ``OUTPUT.checkpoint.json`` records
  the chunks done, the input position and the sink's state (:mod:`.checkpoint`). At the end the
  partial file is renamed over OUTPUT with ``os.replace``: OUTPUT is complete or absent.
- A resumed run checks that the input file and the options are the same, truncates the partial
  output to its checkpointed length, seeks the input to the checkpointed position and goes on. Chunk
  boundaries are the same as in an uninterrupted run, so the output is byte-identical to it (on the
  same machine and device: floating point results can differ between devices).

Example:
    >>> from spacy_goemotions import EmotionClassifier                                   # doctest: +SKIP
    >>> job = FileJob("in.csv", "out.parquet", text_column="body")                        # doctest: +SKIP
    >>> classify_file(job, classifier=EmotionClassifier("goemotions-small")).counts.rows_out  # doctest: +SKIP
    1000
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, get_args

import numpy as np

from ..core.classifier import EmotionClassifier
from ..core.progress import progress_bar
from ..core.table import TableOptions
from ..core.thresholds import ThresholdPolicy
from ..errors import ConfigurationError, GoEmotionsError
from .checkpoint import fingerprint, load_checkpoint, save_checkpoint
from .formats import STDIO, FileFormat, detect_format, output_paths
from .parquet_reader import ParquetReader
from .readers import BadLinePolicy, Chunk, Reader, unique
from .rendering import float_strings_backend
from .sinks import Sink, open_sink
from .text_readers import DelimitedReader, JsonlReader

#: Rows per chunk: the unit of scoring, of checkpointing and of stopping on Ctrl-C. 10,000 rows keep
#: a chunk's memory small and a checkpoint every few seconds on a GPU (a few minutes on a CPU).
DEFAULT_CHUNK_ROWS = 10_000


@dataclass(frozen=True)
class FileJob:
    """What to read and write: validated on construction (formats, chunk size), before any model loads.

    Args:
        input: a CSV/TSV/JSONL (optionally ``.gz``) or Parquet file; ``-`` reads JSONL from stdin.
        output: the file to write (its format from its extension, or ``output_format``); ``-``
            writes JSONL to stdout (not atomic, not resumable).
        text_column: the column holding the texts; an empty field or null is a missing text.
        id_column: a column to put first in the output.
        keep_columns: input columns to copy to the output (after ``id_column``); ``()`` keeps the
            text column; ``None`` keeps every column.
        input_format, output_format: ``"csv"``, ``"tsv"``, ``"jsonl"`` or ``"parquet"``, where the
            extension does not tell.
        chunk_rows: rows per chunk (scoring, checkpoint and stop granularity).
        on_bad_lines: ``"error"`` stops at a malformed line naming it; ``"skip"`` skips and counts it.
    """

    input: str
    output: str
    text_column: str
    id_column: str | None = None
    keep_columns: Sequence[str] | None = ()
    input_format: str | None = None
    output_format: str | None = None
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    on_bad_lines: BadLinePolicy = "error"
    formats: tuple[FileFormat, bool, FileFormat, bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        formats = (
            *detect_format(self.input, self.input_format, option="input_format"),
            *detect_format(self.output, self.output_format, option="output_format"),
        )
        object.__setattr__(self, "formats", formats)
        if self.on_bad_lines not in get_args(BadLinePolicy):
            raise ConfigurationError(
                f"on_bad_lines must be 'error' or 'skip', got {self.on_bad_lines!r}", options=("on_bad_lines",)
            )
        if isinstance(self.chunk_rows, bool) or not isinstance(self.chunk_rows, int) or self.chunk_rows < 1:
            raise ConfigurationError(
                f"chunk_rows must be an integer >= 1, got {self.chunk_rows!r}. Example: chunk_rows=10000", options=("chunk_rows",)
            )

    @property
    def kept(self) -> list[str] | None:
        """The input columns the output starts with (None: every column)."""
        if self.keep_columns is None:
            return None
        ids = [self.id_column] if self.id_column else []
        return unique([*ids, *(self.keep_columns or [self.text_column])])


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


@dataclass
class BatchSummary:
    """The result of :func:`classify_file`: counts for the whole job and timing for this process."""

    counts: BatchCounts
    seconds: float
    rows_this_run: int
    resumed_from_row: int | None = None
    output: str = ""

    @property
    def rows_per_second(self) -> float:
        return self.rows_this_run / self.seconds if self.seconds > 0 else 0.0


class Interrupted(GoEmotionsError):
    """Raised by :func:`classify_file` when ``should_stop()`` asked it to stop after a chunk."""

    def __init__(self, summary: BatchSummary, resumable: bool) -> None:
        super().__init__(f"stopped after {summary.counts.rows_out} rows ({summary.counts.chunks} chunks)")
        self.summary = summary
        self.resumable = resumable


def _never() -> bool:
    return False


def classify_file(
    job: FileJob,
    *,
    classifier: EmotionClassifier,
    table: TableOptions | None = None,
    resume: bool = False,
    progress: bool | None = None,
    should_stop: Callable[[], bool] = _never,
) -> BatchSummary:
    """Score the text column of a file of any size, chunk by chunk, into the job's output.

    Args:
        job: what to read and write.
        classifier: scores every chunk (one instance for the whole run).
        table: the threshold policy and output column names (default: threshold 0.5, ``emotions``).
        resume: continue from ``OUTPUT.checkpoint.json`` if there is one (else start afresh).
        progress: True/False, or None for a bar when stderr is a terminal.
        should_stop: polled after every chunk; True stops the run with :class:`Interrupted`.

    Returns:
        A :class:`BatchSummary`.

    Raises:
        ConfigurationError: bad options (column clash, resume without a checkpoint of the same
            input and options, ...).
        InputError: the input cannot be read as its format; ``BadLineError`` for a malformed
            line with ``on_bad_lines="error"`` (the checkpoint is kept: fix the file and start over,
            or resume with ``on_bad_lines="skip"``).
        Interrupted: ``should_stop()`` returned True; the checkpoint is kept.
    """
    _check_paths(job, resume)
    in_format, in_gz = job.formats[:2]
    reader = open_reader(
        job.input,
        in_format,
        in_gz,
        text_column=job.text_column,
        keep=job.kept,
        required=[job.id_column] if job.id_column else [],
        on_bad_lines=job.on_bad_lines,
    )
    try:
        return _FileRun(job, classifier, table or TableOptions(), reader).run(resume, progress, should_stop)
    finally:
        reader.close()


def open_reader(
    path: str,
    fmt: FileFormat,
    gz: bool,
    *,
    text_column: str,
    keep: list[str] | None,
    required: Sequence[str] = (),
    on_bad_lines: BadLinePolicy = "error",
) -> Reader:
    """A chunked reader for ``path``; ``keep=None`` keeps every column.

    Raises:
        ConfigurationError: for a path that is no file.
        InputError: for a file that is not of its format, or lacks a column.
    """
    if path != STDIO and not os.path.isfile(path):
        raise ConfigurationError(f"Input file {path!r} does not exist (or is not a file).")
    if fmt == "parquet":
        return ParquetReader(path, text_column, keep)
    if fmt == "jsonl":
        return JsonlReader(path, gz, text_column, keep, list(required), on_bad_lines)
    return DelimitedReader(path, fmt, gz, text_column, keep, on_bad_lines)


def _check_paths(job: FileJob, resume: bool) -> None:
    if resume and STDIO in (job.input, job.output):
        raise ConfigurationError(
            "resume=True needs named input and output files; stdin/stdout ('-') cannot be resumed.", options=("resume",)
        )
    if job.output == STDIO:
        return
    paths = output_paths(job.output)
    if not paths.output.parent.is_dir():
        raise ConfigurationError(f"The output directory {str(paths.output.parent)!r} does not exist.")
    if job.input != STDIO and os.path.exists(job.input) and os.path.realpath(job.input) == os.path.realpath(job.output):
        raise ConfigurationError(f"The output {job.output!r} is the input file; choose another output name.")


class _FileRun:
    """One run of a job: the checks that need the model, the chunk loop and the checkpoints."""

    def __init__(self, job: FileJob, classifier: EmotionClassifier, table: TableOptions, reader: Reader) -> None:
        self.job, self.classifier, self.table, self.reader = job, classifier, table, reader
        self.paths = output_paths(job.output)
        self.to_stdout = job.output == STDIO
        self.labels = list(classifier.labels)  # loads the model: after the cheap checks of the input
        self.layout = table.layout(self.labels)  # checked against the kept columns again when they are known
        self.policy: ThresholdPolicy = self.layout.policy
        self.policy.cutoffs(self.labels, classifier.loaded.shipped_thresholds)  # "tuned" without thresholds.json: now
        names = [*self.labels, *(group for output in self.layout.groups for group in output.taxonomy.groups)]
        if job.formats[2] in ("csv", "tsv") and any("," in name for name in names):
            raise ConfigurationError(
                "A label or group contains ',', so a CSV list column would be ambiguous; write JSONL or Parquet."
            )
        self.fingerprint = fingerprint(job.input, self._options()) if job.input != STDIO else {}

    def _options(self) -> dict[str, Any]:
        """Everything that shapes the output bytes, for the fingerprint a resumed run must match."""
        job, loaded = self.job, self.classifier.loaded
        in_format, in_gz, out_format, out_gz = job.formats
        return {
            "text_column": job.text_column,
            "keep": job.kept,
            "input_format": in_format,
            "input_gzip": in_gz,
            "output_format": out_format,
            "output_gzip": out_gz,
            "chunk_rows": job.chunk_rows,
            "prefix": self.table.prefix,
            "labels_column": self.table.labels_column,
            "policy": self.policy.to_dict(),
            "labels": self.labels,
            "taxonomies": self.layout.describe()["taxonomies"],
            **self.classifier.options.to_dict(),
            "device": str(loaded.device),
            "dtype": str(loaded.dtype),
            "floats": float_strings_backend(),
        }

    def run(self, resume: bool, progress: bool | None, should_stop: Callable[[], bool]) -> BatchSummary:
        state = None if self.to_stdout else load_checkpoint(self.paths, self.fingerprint, resume)
        counts = BatchCounts(**state["counts"]) if state is not None else BatchCounts()
        started = time.perf_counter()
        resumed_from = counts.rows_out if state is not None else None
        paths = self.paths
        if (
            state is not None
            and state.get("complete")
            and paths.output.exists()
            and not paths.partial.exists()
            and not paths.parts.exists()
        ):
            # Killed after publishing OUTPUT, before deleting the checkpoint: only that is left to do.
            paths.checkpoint.unlink()
            return BatchSummary(counts, time.perf_counter() - started, 0, resumed_from, self.job.output)
        if state is not None:
            self.reader.resume(state["position"], state["kept"], counts.rows_out)
        position = state["position"] if state is not None else self.reader.start_position()
        sink: Sink | None = None
        rows_before = counts.rows_out

        def summary() -> BatchSummary:
            return BatchSummary(
                counts, time.perf_counter() - started, counts.rows_out - rows_before, resumed_from, self.job.output
            )

        try:
            unit: dict[str, Any] = {"unit": "row", "unit_scale": True}
            if self.reader.unit == "B":
                unit = {"unit": "B", "unit_scale": True, "unit_divisor": 1024}
            with progress_bar(self.reader.total, progress, desc="classify", initial=self.reader.done(), **unit) as bar:
                for chunk in self.reader.chunks(self.job.chunk_rows):
                    if sink is None:  # opened at the first chunk: JSONL columns are known only then
                        sink = self._open_sink(state)
                    self._write_chunk(sink, chunk, counts)
                    position = chunk.end
                    self._checkpoint(sink, position, counts)
                    bar.update(self.reader.done() - bar.n)
                    rate = (counts.rows_out - rows_before) / max(time.perf_counter() - started, 1e-9)
                    bar.set_postfix_str(f"{counts.rows_out:,} rows, {rate:,.0f} rows/s", refresh=False)
                    if should_stop():
                        raise Interrupted(summary(), resumable=not self.to_stdout and self.job.input != STDIO)
            if sink is None:  # an input without a single row
                sink = self._open_sink(state)
            self._checkpoint(sink, position, counts, complete=True)
            sink.finish(counts.chunks)
            if not self.to_stdout:
                paths.checkpoint.unlink(missing_ok=True)
                sink.cleanup()
            return summary()
        finally:
            if sink is not None:
                sink.close()

    def _open_sink(self, state: dict[str, Any] | None) -> Sink:
        kept = list(self.reader.kept)
        self.layout = self.table.layout(self.labels, kept)
        out_format, out_gz = self.job.formats[2:]
        kept_types = self.reader.arrow_types() if out_format == "parquet" else None
        return open_sink(
            self.paths,
            out_format,
            out_gz,
            to_stdout=self.to_stdout,
            kept=kept,
            float_columns=self.layout.float_columns,
            list_columns=self.layout.list_columns,
            kept_types=kept_types,
            state=state["sink"] if state is not None else None,
        )

    def _write_chunk(self, sink: Sink, chunk: Chunk, counts: BatchCounts) -> None:
        missing = repaired = 0
        scores = np.empty((0, len(self.labels)), dtype=np.float32)
        if chunk.texts:
            result = self.classifier.run(chunk.texts, progress=False)
            scores, missing, repaired = result.scores, result.stats.missing, result.stats.repaired
        lists = [self.classifier.select(scores, self.policy)]
        blocks = [scores]
        for output, group_scores in zip(self.layout.groups, self.layout.group_scores(scores), strict=True):
            blocks.append(group_scores)
            lists.append(output.select(group_scores))
        sink.write(chunk.columns, np.concatenate(blocks, axis=1) if len(blocks) > 1 else scores, lists, counts.chunks)
        counts.add(chunk, missing, repaired)

    def _checkpoint(self, sink: Sink, position: dict[str, int], counts: BatchCounts, complete: bool = False) -> None:
        if self.to_stdout:
            return
        state = {"fingerprint": self.fingerprint, "position": position, "sink": sink.state(), "kept": list(self.reader.kept)}
        save_checkpoint(self.paths, state, counts, complete=complete)
