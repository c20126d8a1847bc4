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
- A folder or glob input (:mod:`.parts`) is read part after part as one input, into one OUTPUT, or
  with a folder OUTPUT into one output file per part, each its own run (:mod:`.part_outputs`).

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
from contextlib import nullcontext
from functools import partial
from typing import Any

import numpy as np

from ..core.classifier import EmotionClassifier
from ..core.progress import progress_bar
from ..core.table import TableLayout, TableOptions, classifier_layout, derived_columns
from ..errors import ConfigurationError, InputNotFoundError
from .checkpoint import fingerprint, load_checkpoint, save_checkpoint
from .formats import STDIO, FileFormat, output_paths
from .job import FileJob
from .parquet_reader import ParquetReader
from .part_outputs import FolderRun, SharedProgress
from .parts import MultiPartReader, Part, survey_parts
from .readers import BadLinePolicy, Chunk, Reader
from .rendering import float_strings_backend
from .sinks import Sink, open_sink
from .summary import BatchCounts, BatchSummary, Interrupted
from .text_readers import DelimitedReader, JsonlReader


#: Rows per chunk: the unit of scoring, of checkpointing and of stopping on Ctrl-C. 10,000 rows keep
#: a chunk's memory small and a checkpoint every few seconds on a GPU (a few minutes on a CPU).
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
        A :class:`BatchSummary` (for a folder output, of every part).

    Raises:
        ConfigurationError: bad options (column clash, resume without a checkpoint of the same
            input and options, ...); a folder or glob without data files, or with a file of unknown format.
        InputError: the input cannot be read as its format; ``BadLineError`` for a malformed
            line with ``on_bad_lines="error"`` (the checkpoint is kept: fix the file and start over,
            or resume with ``on_bad_lines="skip"``).
        Interrupted: ``should_stop()`` returned True; the checkpoint is kept.

    Examples:
        >>> from spacy_goemotions import EmotionClassifier
        >>> from spacy_goemotions.files import FileJob, classify_file
        >>> job = FileJob("comments.csv", "scored.parquet", text_column="body")               # doctest: +SKIP
        >>> summary = classify_file(job, classifier=EmotionClassifier("goemotions-small"))  # doctest: +SKIP
        >>> summary.counts.rows_out                                                          # doctest: +SKIP
        10000
    """
    table = table or TableOptions()
    if job.output_dir:
        return _classify_to_folder(job, classifier, table, resume, progress, should_stop)
    _check_paths(job, resume)
    reader = _open_input(job)
    try:
        return _FileRun(job, classifier, table, reader).run(resume, progress, should_stop)
    finally:
        reader.close()


def _classify_to_folder(
    job: FileJob,
    classifier: EmotionClassifier,
    table: TableOptions,
    resume: bool,
    progress: bool | None,
    should_stop: Callable[[], bool],
) -> BatchSummary:
    """One output file per input part, each a run of its own, on one progress bar (see :mod:`.part_outputs`)."""
    assert job.parts is not None
    folder = FolderRun(job, job.parts, resume)  # the checks that need no model first
    survey = survey_parts(job.parts.parts, partial(_open_part, job))
    # The checks that need the model, for every output format, before the run file is written.
    first_of_format = {part_job.formats[2]: part_job for part_job in reversed(folder.jobs)}
    for part_job in first_of_format.values():
        _prepare(part_job, classifier, table)
    options = _options(folder.jobs[0], classifier, table, *_prepare(folder.jobs[0], classifier, table))

    def run_part(part_job: FileJob, shared: SharedProgress) -> BatchSummary:
        reader = _open_input(part_job)
        try:
            return _FileRun(part_job, classifier, table, reader).run(resume, progress, should_stop, shared)
        finally:
            reader.close()

    return folder.run(survey, options, run_part, progress)


def _open_input(job: FileJob) -> Reader:
    """The job's reader: one file's, or a folder's or glob's parts one after the other."""
    if job.parts is None:
        return open_reader(
            job.input,
            *job.formats[:2],
            text_column=job.text_column,
            keep=job.kept,
            required=[job.id_column] if job.id_column else [],
            on_bad_lines=job.on_bad_lines,
        )
    open_part = partial(_open_part, job)
    return MultiPartReader(job.parts.parts, open_part, survey_parts(job.parts.parts, open_part))


def _open_part(job: FileJob, part: Part) -> Reader:
    return open_reader(
        part.path,
        part.format,
        part.gz,
        text_column=job.text_column,
        keep=job.kept,
        required=[job.id_column] if job.id_column else [],
        on_bad_lines=job.on_bad_lines,
    )


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
        InputNotFoundError: for a path that is no file.
        InputError: for a file that is not of its format, or lacks a column.
    """
    if path != STDIO and not os.path.isfile(path):
        raise InputNotFoundError(f"Input file {path!r} does not exist (or is not a file).")
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
    written = (paths.output, paths.partial, paths.checkpoint, paths.parts / "part-000000.parquet")
    if job.parts is not None and any(job.parts.would_read(path) for path in written):
        raise ConfigurationError(
            f"The output {job.output!r} lies where a later run would read it as a part of the input {job.input!r}; "
            "write it outside the input folder, or where the glob does not match."
        )


def _prepare(job: FileJob, classifier: EmotionClassifier, table: TableOptions) -> tuple[list[str], TableLayout]:
    """The checks that need the model (its labels, its shipped thresholds); the labels and the column layout."""
    labels = list(classifier.labels)  # loads the model: after the cheap checks of the input
    layout = classifier_layout(table, classifier)  # bound ("tuned" resolved); checked against the kept columns later
    names = [*labels, *(group for output in layout.groups for group in output.taxonomy.groups)]
    if job.formats[2] in ("csv", "tsv") and any("," in name for name in names):
        raise ConfigurationError(
            "A label or group contains ',', so a CSV list column would be ambiguous; write JSONL or Parquet."
        )
    return labels, layout


def _options(
    job: FileJob, classifier: EmotionClassifier, table: TableOptions, labels: list[str], layout: TableLayout
) -> dict[str, Any]:
    """Everything that shapes the output bytes, for the fingerprint a resumed run must match."""
    in_format, in_gz, out_format, out_gz = job.formats
    return {
        "text_column": job.text_column,
        "keep": job.kept,
        "input_format": in_format,
        "input_gzip": in_gz,
        "output_format": out_format,
        "output_gzip": out_gz,
        "chunk_rows": job.chunk_rows,
        "prefix": table.prefix,
        "labels_column": table.labels_column,
        "policy": layout.policy.to_dict(),
        "labels": labels,
        "taxonomies": layout.describe()["taxonomies"],
        # The engine that scores, not the options that chose it: backend="auto" and backend="openvino" on
        # this CPU are the same run, while the same options on a machine without OpenVINO are not.
        **{key: value for key, value in classifier.options.to_dict().items() if key not in ("backend", "dtype", "device")},
        "engine": str(classifier.engine),
        "floats": float_strings_backend(),
    }


class _FileRun:
    """One run of a job: the checks that need the model, the chunk loop and the checkpoints."""

    def __init__(self, job: FileJob, classifier: EmotionClassifier, table: TableOptions, reader: Reader) -> None:
        self.job, self.classifier, self.table, self.reader = job, classifier, table, reader
        self.paths = output_paths(job.output)
        self.to_stdout = job.output == STDIO
        self.labels, self.layout = _prepare(job, classifier, table)
        options = _options(job, classifier, table, self.labels, self.layout)
        described = job.parts.describe() if job.parts is not None else None
        self.fingerprint = fingerprint(job.input, options, described=described) if job.input != STDIO else {}

    def run(
        self, resume: bool, progress: bool | None, should_stop: Callable[[], bool], shared: SharedProgress | None = None
    ) -> BatchSummary:
        """The chunk loop; ``shared``: the bar of a folder output's parts, where this part's progress goes."""
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
            return BatchSummary(counts, time.perf_counter() - started, 0, resumed_from, self.job.output, self.parts)
        if state is not None:
            self.reader.resume(state["position"], state["kept"], counts.rows_out)
        position = state["position"] if state is not None else self.reader.start_position()
        sink: Sink | None = None
        rows_before = counts.rows_out

        def summary() -> BatchSummary:
            return BatchSummary(
                counts, time.perf_counter() - started, counts.rows_out - rows_before, resumed_from, self.job.output, self.parts
            )

        try:
            with self._bar(progress, shared) as bar:

                def advance() -> None:
                    done = self.reader.done() if shared is None else shared.position(self.reader.done(), counts.rows_in)
                    bar.update(done - bar.n)

                for chunk in self.reader.chunks(self.job.chunk_rows):
                    if sink is None:  # opened at the first chunk: JSONL columns are known only then
                        sink = self._open_sink(state)
                    self._write_chunk(sink, chunk, counts)
                    position = chunk.end
                    self._checkpoint(sink, position, counts)
                    advance()
                    rate = (counts.rows_out - rows_before) / max(time.perf_counter() - started, 1e-9)
                    rows = counts.rows_out + (shared.rows_before if shared is not None else 0)
                    bar.set_postfix_str(f"{rows:,} rows, {rate:,.0f} rows/s", refresh=False)
                    if should_stop():
                        raise Interrupted(summary(), resumable=not self.to_stdout and self.job.input != STDIO)
                advance()  # the end of the input may come after the last chunk was read
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

    @property
    def parts(self) -> int | None:
        return len(self.job.parts.parts) if self.job.parts is not None else None

    def _bar(self, progress: bool | None, shared: SharedProgress | None) -> Any:
        """This run's own progress bar, or (a folder output's part) the parts' shared one, left open."""
        if shared is not None:
            return nullcontext(shared.bar)
        unit: dict[str, Any] = {"unit": "row", "unit_scale": True}
        if self.reader.unit == "B":
            unit = {"unit": "B", "unit_scale": True, "unit_divisor": 1024}
        return progress_bar(self.reader.total, progress, desc="classify", initial=self.reader.done(), **unit)

    def _open_sink(self, state: dict[str, Any] | None) -> Sink:
        kept = list(self.reader.kept)
        self.layout = classifier_layout(self.table, self.classifier, kept)
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
        layout = self.layout
        block = np.empty((len(layout.float_columns), len(chunk.texts)), dtype=np.float32)
        if chunk.texts:
            result = self.classifier.run(chunk.texts, progress=False, out=block[: len(self.labels)].T)
            missing, repaired = result.stats.missing, result.stats.repaired
        scored = derived_columns(block, layout)  # the one derivation of groups and lists every table uses
        lists = [list(scored.lists[name]) for name in layout.list_columns]
        sink.write(chunk.columns, np.ascontiguousarray(scored.floats.T), lists, counts.chunks)
        counts.add(chunk, missing, repaired)

    def _checkpoint(self, sink: Sink, position: dict[str, int], counts: BatchCounts, complete: bool = False) -> None:
        if self.to_stdout:
            return
        state = {"fingerprint": self.fingerprint, "position": position, "sink": sink.state(), "kept": list(self.reader.kept)}
        save_checkpoint(self.paths, state, counts, complete=complete)
