"""Streaming file classification for ``spacy-goemotions classify``: chunked readers and writers,
atomic output, and resumable runs.

How a run works:

- A reader yields chunks of at most ``chunk_rows`` rows together with the input position where the
  next chunk starts. Text formats (CSV, TSV, JSONL, each optionally gzipped) are read as bytes, line
  by line, so byte offsets and line numbers stay exact and undecodable bytes are replaced (U+FFFD)
  and counted. Parquet is read in record batches. Memory is bounded by the chunk size.
- Each chunk is scored by one :class:`~spacy_goemotions.core.EmotionClassifier` and labelled by a
  :class:`~spacy_goemotions.thresholds.ThresholdPolicy`; this module only converts types.
- Output goes to ``OUTPUT.partial`` beside OUTPUT (Parquet: one part file per chunk in
  ``OUTPUT.parts/``). After every chunk the data is fsynced, then ``OUTPUT.checkpoint.json`` records
  the chunks done, the input position and the output length. At the end the partial file is renamed
  over OUTPUT with ``os.replace``: OUTPUT is complete or absent.
- A resumed run checks that the input file and the options are the same, truncates the partial
  output to its checkpointed length, seeks the input to the checkpointed position and goes on. Chunk
  boundaries are the same as in an uninterrupted run, so the output is byte-identical to it (on the
  same machine and device: floating point results can differ between devices).

Example:
    >>> from spacy_goemotions.core import EmotionClassifier                    # doctest: +SKIP
    >>> clf = EmotionClassifier("goemotions-small")                            # doctest: +SKIP
    >>> summary = classify_file("in.csv", "out.parquet", classifier=clf,       # doctest: +SKIP
    ...                         policy=clf.policy(0.5), text_column="body")
    >>> summary.counts.rows_out                                                # doctest: +SKIP
    1000
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from ._text import repair_text
from ._version import __version__
from .core import EmotionClassifier
from .errors import ConfigurationError, GoEmotionsError, MissingExtraError
from .thresholds import ThresholdPolicy

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "FORMATS",
    "BadLineError",
    "BatchCounts",
    "BatchSummary",
    "InputError",
    "Interrupted",
    "classify_file",
    "detect_format",
    "output_paths",
]

FileFormat = Literal["csv", "tsv", "jsonl", "parquet"]
FORMATS: tuple[str, ...] = get_args(FileFormat)
BadLinePolicy = Literal["error", "skip"]
#: Rows per chunk: the unit of scoring, of checkpointing and of stopping on Ctrl-C. 10,000 rows keep
#: a chunk's memory small and a checkpoint every few seconds on a GPU (a few minutes on a CPU).
DEFAULT_CHUNK_ROWS = 10_000
CHECKPOINT_FORMAT = "spacy-goemotions/classify-checkpoint.v1"
STDIO = "-"

_EXTENSIONS: dict[str, FileFormat] = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".parquet": "parquet", ".pq": "parquet",
}  # fmt: skip
_DELIMITERS = {"csv": ",", "tsv": "\t"}
# Fields longer than csv's default limit (128 KiB) are legitimate long texts, not errors.
_CSV_FIELD_LIMIT = 2**31 - 1


class InputError(GoEmotionsError, ValueError):
    """The input file cannot be read as the format it claims (no header, a missing column...)."""


class BadLineError(InputError):
    """A malformed line (bad CSV quoting, wrong number of fields, invalid JSON); ``line`` is 1-based."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


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


# --- formats and paths -----------------------------------------------------------------------


def detect_format(path: str, override: str | None = None) -> tuple[FileFormat, bool]:
    """The format of ``path`` and whether it is gzipped, from its extension (``override`` wins).

    ``-`` (stdin/stdout) is JSONL. Gzip is told by a final ``.gz``.

    Example:
        >>> detect_format("comments.csv.gz")
        ('csv', True)
    """
    if override is not None and override not in FORMATS:
        raise ConfigurationError(f"format must be one of {FORMATS}, got {override!r}. Example: --format csv")
    if path == STDIO:
        if override not in (None, "jsonl"):
            raise ConfigurationError(
                f"'-' (stdin/stdout) is always JSONL, got --format {override}. Use a file name for other formats."
            )
        return "jsonl", False
    gz = path.lower().endswith(".gz")
    stem = path[:-3] if gz else path
    fmt: FileFormat | None = override  # type: ignore[assignment]
    if fmt is None:
        fmt = _EXTENSIONS.get(os.path.splitext(stem)[1].lower())
    if fmt is None:
        raise ConfigurationError(
            f"Cannot tell the format of {path!r} from its extension. Name it .csv, .tsv, .jsonl or .parquet "
            "(text formats may end in .gz), or pass the format, e.g. --format csv."
        )
    if fmt == "parquet" and gz:
        raise ConfigurationError(f"{path!r}: Parquet compresses internally and cannot be gzipped; drop the .gz.")
    return fmt, gz


@dataclass(frozen=True)
class OutputPaths:
    """The files a run writes beside OUTPUT while it works."""

    output: Path
    partial: Path
    checkpoint: Path
    parts: Path


def output_paths(output: str | os.PathLike[str]) -> OutputPaths:
    """``OUTPUT.partial``, ``OUTPUT.checkpoint.json`` and ``OUTPUT.parts/`` beside OUTPUT."""
    path = Path(output)
    return OutputPaths(path, path.with_name(path.name + ".partial"), path.with_name(path.name + ".checkpoint.json"),
                       path.with_name(path.name + ".parts"))  # fmt: skip


def _pyarrow(purpose: str) -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise MissingExtraError("pyarrow", "parquet", purpose) from None
    return pyarrow


def _has_pyarrow() -> bool:
    try:
        import pyarrow.compute  # noqa: F401
    except ImportError:
        return False
    return True


# --- reading ----------------------------------------------------------------------------------


@dataclass
class Chunk:
    """Rows read from the input: texts (None = missing), kept columns, and where the next chunk starts."""

    texts: list[str | None]
    columns: dict[str, Any]
    end: dict[str, int]
    skipped: int = 0
    replaced: int = 0
    blank_lines: int = 0


class _LineSource:
    """Lines of a (gzipped) UTF-8 text file read as bytes: exact offsets, line numbers and replacements."""

    def __init__(self, path: str, gz: bool) -> None:
        self.path = path
        self._raw: IO[bytes] = sys.stdin.buffer if path == STDIO else open(path, "rb")  # noqa: SIM115
        self._stream: IO[bytes] = self._raw
        if gz:
            self._stream = gzip.GzipFile(fileobj=self._raw, mode="rb")  # type: ignore[assignment]
        self._gz = gz
        self.total: int | None = None if path == STDIO else os.fstat(self._raw.fileno()).st_size
        self.offset = 0  # bytes of the decompressed stream consumed
        self.line = 0  # physical lines consumed
        self.replaced = 0

    def seek(self, offset: int, line: int) -> None:
        # GzipFile.seek decompresses forward to the offset: slower than a plain seek, but exact.
        self._stream.seek(offset)
        self.offset, self.line = offset, line

    def done(self) -> int:
        """Progress in bytes of the file on disk (compressed bytes for .gz)."""
        return self._raw.tell() if self._gz else self.offset

    def lines(self) -> Iterator[str]:
        for raw in self._stream:
            raw_text = raw[len(codecs.BOM_UTF8) :] if self.offset == 0 and raw.startswith(codecs.BOM_UTF8) else raw
            self.offset += len(raw)
            self.line += 1
            try:
                text = raw_text.decode("utf-8")
            except UnicodeDecodeError:
                # A newline byte never occurs inside a UTF-8 sequence, so decoding line by line
                # replaces exactly what decoding the whole file would.
                text = raw_text.decode("utf-8", "replace")
                self.replaced += text.count("\ufffd") - raw_text.count("\ufffd".encode())
            yield text

    def close(self) -> None:
        if self.path != STDIO:
            self._stream.close()
            self._raw.close()


def _unique(names: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(names))


class _Reader:
    """Common interface of the chunked readers."""

    unit = "B"
    kept: list[str]

    def done(self) -> int:
        raise NotImplementedError

    @property
    def total(self) -> int | None:
        raise NotImplementedError

    def seek(self, position: dict[str, int]) -> None:
        raise NotImplementedError

    def chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _DelimitedReader(_Reader):
    """CSV/TSV with a header line; RFC 4180 quoting (also for TSV); an empty field is missing."""

    def __init__(
        self, path: str, fmt: FileFormat, gz: bool, text_column: str, keep: list[str] | None, on_bad_lines: BadLinePolicy
    ) -> None:
        self._field_limit = csv.field_size_limit(_CSV_FIELD_LIMIT)  # process-wide: restored by close()
        self.source = _LineSource(path, gz)
        try:
            self.path = path
            self.on_bad_lines = on_bad_lines
            # strict: a quote in the wrong place is an error instead of being silently dropped from the text.
            self._reader = csv.reader(self.source.lines(), delimiter=_DELIMITERS[fmt], strict=True)
            try:
                header = next(self._reader)
            except StopIteration:
                raise InputError(
                    f"{path}: the file is empty; a {fmt.upper()} input needs a header line naming its columns."
                ) from None
            except csv.Error as error:
                raise BadLineError(f"{path}: line 1 (the header) is malformed: {error}", 1) from None
            self.header = header
            self.kept = list(header) if keep is None else keep
            wanted = _unique([text_column, *self.kept])
            unknown = [name for name in wanted if name not in header]
            if unknown:
                raise InputError(f"{path}: column(s) {unknown} not found in the header. Its columns: {header}")
            duplicated = [name for name in wanted if header.count(name) > 1]
            if duplicated:
                raise InputError(f"{path}: the header names column(s) {duplicated} more than once; rename them.")
            self._text_index = header.index(text_column)
            self._kept_indices = [header.index(name) for name in self.kept]
        except BaseException:
            self.close()
            raise
        self._data_start = {"offset": self.source.offset, "line": self.source.line}

    @property
    def total(self) -> int | None:
        return self.source.total

    def done(self) -> int:
        return self.source.done()

    def seek(self, position: dict[str, int]) -> None:
        self.source.seek(position["offset"], position["line"])

    def _bad(self, first_line: int, message: str) -> None:
        last = self.source.line
        where = f"line {first_line}" if last <= first_line else f"lines {first_line}-{last}"
        if self.on_bad_lines == "error":
            raise BadLineError(f"{self.path}: {where}: {message}", first_line)

    def chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        width = len(self.header)
        text_index, kept_indices = self._text_index, self._kept_indices
        source, reader = self.source, self._reader
        while True:
            texts: list[str | None] = []
            values: list[list[str | None]] = [[] for _ in kept_indices]
            skipped = blank = 0
            replaced_before = source.replaced
            exhausted = False
            while len(texts) < chunk_rows:
                first_line = source.line + 1
                try:
                    row = next(reader)
                except StopIteration:
                    exhausted = True
                    break
                except csv.Error as error:
                    self._bad(first_line, f"malformed {('CSV' if reader.dialect.delimiter == ',' else 'TSV')} ({error})")
                    skipped += 1
                    continue
                if not row:
                    blank += 1
                    continue
                if len(row) != width:
                    self._bad(first_line, f"expected {width} fields (the header's), saw {len(row)}")
                    skipped += 1
                    continue
                # An empty field is a missing value; any other string ("NA", "null", "None") is text.
                texts.append(row[text_index] or None)
                for column, index in zip(values, kept_indices, strict=True):
                    column.append(row[index] or None)
            end = {"offset": source.offset, "line": source.line}
            if texts or skipped or blank or source.replaced != replaced_before:
                yield Chunk(
                    texts, dict(zip(self.kept, values, strict=True)), end, skipped, source.replaced - replaced_before, blank
                )
            if exhausted:
                return

    def close(self) -> None:
        self.source.close()
        csv.field_size_limit(self._field_limit)


class _JsonlReader(_Reader):
    """One JSON object per line. Columns with ``keep=None``: the keys of the first record."""

    def __init__(self, path: str, gz: bool, text_column: str, keep: list[str] | None, required: list[str],
                 on_bad_lines: BadLinePolicy) -> None:  # fmt: skip
        self.source = _LineSource(path, gz)
        self.path = path
        self.text_column = text_column
        self.kept = [] if keep is None else keep
        self._all_columns = keep is None
        self._required = _unique([text_column, *required])
        self._first_seen = False
        self.on_bad_lines = on_bad_lines

    @property
    def total(self) -> int | None:
        return self.source.total

    def done(self) -> int:
        return self.source.done()

    def seek(self, position: dict[str, int]) -> None:
        self.source.seek(position["offset"], position["line"])

    def set_columns(self, kept: list[str], rows_done: int) -> None:
        """Resuming: the columns the earlier run took from the first record, if it got that far."""
        self.kept = kept
        self._first_seen = rows_done > 0

    def _bad(self, line: int, message: str) -> None:
        if self.on_bad_lines == "error":
            raise BadLineError(f"{self.path}: line {line}: {message}", line)

    def _first_record(self, record: dict[str, Any], line: int) -> None:
        missing = [name for name in self._required if name not in record]
        if missing:
            raise InputError(
                f"{self.path}: the first record (line {line}) has no key(s) {missing}; its keys: {list(record)}. "
                "Check --text-column / --id-column."
            )
        if self._all_columns:
            self.kept = list(record)
        self._first_seen = True

    def chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        source, text_column = self.source, self.text_column
        lines = source.lines()
        while True:
            texts: list[str | None] = []
            records: list[dict[str, Any]] = []
            skipped = blank = 0
            replaced_before = source.replaced
            exhausted = False
            while len(texts) < chunk_rows:
                line_text = next(lines, None)
                if line_text is None:
                    exhausted = True
                    break
                line = source.line
                if not line_text.strip():
                    blank += 1
                    continue
                try:
                    record = json.loads(line_text)
                except json.JSONDecodeError as error:
                    self._bad(line, f"invalid JSON ({error})")
                    skipped += 1
                    continue
                if not isinstance(record, dict):
                    self._bad(line, f"expected a JSON object, got a {type(record).__name__} ({line_text.strip()!r:.60})")
                    skipped += 1
                    continue
                if not self._first_seen:
                    self._first_record(record, line)
                text = record.get(text_column)
                if text is not None and not isinstance(text, str):
                    self._bad(line, f"{text_column!r} is a {type(text).__name__} ({text!r:.60}), not a string or null")
                    skipped += 1
                    continue
                if self._all_columns:
                    extra = [name for name in record if name not in self.kept]
                    if extra:
                        raise InputError(
                            f"{self.path}: line {line} has key(s) {extra} that the first record lacks; --all-columns "
                            "takes the keys of the first record. Name the columns to keep with --keep-columns."
                        )
                texts.append(text)
                records.append(record)
            end = {"offset": source.offset, "line": source.line}
            if texts or skipped or blank or source.replaced != replaced_before:
                columns = {name: [record.get(name) for record in records] for name in self.kept}
                yield Chunk(texts, columns, end, skipped, source.replaced - replaced_before, blank)
            if exhausted:
                return

    def close(self) -> None:
        self.source.close()


class _ParquetReader(_Reader):
    """Record batches of a Parquet file, re-cut into chunks of exactly ``chunk_rows`` rows."""

    unit = "row"

    def __init__(self, path: str, text_column: str, keep: list[str] | None) -> None:
        _pyarrow("Reading Parquet files")
        import pyarrow.parquet as pq

        self.path = path
        self._file = pq.ParquetFile(path)
        try:
            self._check(text_column, keep)
        except BaseException:
            self._file.close()
            raise
        self.text_column = text_column
        self.arrow_types = {name: self._file.schema_arrow.field(name).type for name in self.kept}
        self._row = 0

    def _check(self, text_column: str, keep: list[str] | None) -> None:
        pa = _pyarrow("Reading Parquet files")
        path = self.path
        schema = self._file.schema_arrow
        names = list(schema.names)
        self.kept = names if keep is None else keep
        unknown = [name for name in _unique([text_column, *self.kept]) if name not in names]
        if unknown:
            raise InputError(f"{path}: column(s) {unknown} not found. Its columns: {names}")
        text_type = schema.field(text_column).type
        if pa.types.is_dictionary(text_type):
            text_type = text_type.value_type
        if not (pa.types.is_string(text_type) or pa.types.is_large_string(text_type) or pa.types.is_string_view(text_type)):
            raise InputError(
                f"{path}: the text column {text_column!r} has type {schema.field(text_column).type}, not string. "
                "Choose a string column with --text-column."
            )

    @property
    def total(self) -> int:
        return int(self._file.metadata.num_rows)

    def done(self) -> int:
        return self._row

    def seek(self, position: dict[str, int]) -> None:
        self._row = position["row"]

    def chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        pa = _pyarrow("Reading Parquet files")
        metadata = self._file.metadata
        group, group_start = 0, 0
        while group < metadata.num_row_groups and group_start + metadata.row_group(group).num_rows <= self._row:
            group_start += metadata.row_group(group).num_rows
            group += 1
        columns = _unique([self.text_column, *self.kept])
        skip = self._row - group_start
        pending: list[Any] = []
        pending_rows = 0
        batches = self._file.iter_batches(batch_size=min(chunk_rows, 65_536), row_groups=range(group, metadata.num_row_groups),
                                          columns=columns, use_threads=True)  # fmt: skip
        for batch in batches:
            if skip:
                dropped = min(skip, batch.num_rows)
                batch, skip = batch.slice(dropped), skip - dropped
            pending.append(batch)
            pending_rows += batch.num_rows
            while pending_rows >= chunk_rows:
                table = pa.Table.from_batches(pending)
                yield self._chunk(table.slice(0, chunk_rows))
                rest = table.slice(chunk_rows)
                pending, pending_rows = rest.to_batches(), rest.num_rows
        if pending_rows:
            yield self._chunk(pa.Table.from_batches(pending))

    def _chunk(self, table: Any) -> Chunk:
        texts, replaced = _arrow_texts(table.column(self.text_column))
        self._row += table.num_rows
        return Chunk(texts, {name: table.column(name) for name in self.kept}, {"row": self._row}, replaced=replaced)

    def close(self) -> None:
        self._file.close()


def _arrow_texts(column: Any) -> tuple[list[str | None], int]:
    """A string column as ``str | None``; invalid UTF-8 (possible in Parquet) is replaced and counted."""
    try:
        return column.to_pylist(), 0
    except UnicodeDecodeError:
        import pyarrow as pa

        texts: list[str | None] = []
        replaced = 0
        for raw in column.cast(pa.large_binary()).to_pylist():
            if raw is None:
                texts.append(None)
                continue
            text = raw.decode("utf-8", "replace")
            replaced += text.count("\ufffd") - raw.count("\ufffd".encode())
            texts.append(text)
        return texts, replaced


def open_reader(path: str, fmt: FileFormat, gz: bool, *, text_column: str, keep: list[str] | None,
                required: Sequence[str] = (), on_bad_lines: BadLinePolicy = "error") -> _Reader:  # fmt: skip
    """A chunked reader for ``path``; ``keep=None`` keeps every column."""
    if path != STDIO and not os.path.isfile(path):
        raise ConfigurationError(f"Input file {path!r} does not exist (or is not a file).")
    if fmt == "parquet":
        return _ParquetReader(path, text_column, keep)
    if fmt == "jsonl":
        return _JsonlReader(path, gz, text_column, keep, list(required), on_bad_lines)
    return _DelimitedReader(path, fmt, gz, text_column, keep, on_bad_lines)


# --- rendering --------------------------------------------------------------------------------


def float_strings_backend() -> str:
    """Which float formatter the text writers use ("arrow" when pyarrow is installed, else "numpy")."""
    return "arrow" if _has_pyarrow() else "numpy"


def _joined_scores(scores: npt.NDArray[np.float32], pieces: Sequence[str], missing: str) -> list[str]:
    """Per row: ``pieces[0] + s0 + pieces[1] + s1 + ...`` with each score in its shortest float32 form.

    NaN becomes ``missing``. pyarrow formats floats in C++ (~10x faster than numpy's ``astype(str)``);
    the two differ in notation ("1" vs "1.0"), which is why the backend is part of a run's fingerprint.
    """
    rows, width = scores.shape
    if rows == 0:
        return []
    if _has_pyarrow():
        import pyarrow as pa
        import pyarrow.compute as pc

        values = pa.array(np.ascontiguousarray(scores.T).ravel())
        strings = pc.if_else(pc.is_nan(values), pa.scalar(missing), pc.cast(values, pa.string()))
        arguments: list[Any] = []
        for column in range(width):
            arguments += [pa.scalar(pieces[column]), strings.slice(column * rows, rows)]
        return list(pc.binary_join_element_wise(*arguments, "").to_pylist())
    strings_np = scores.astype(str)
    strings_np[np.isnan(scores)] = missing
    return ["".join(piece + value for piece, value in zip(pieces, row, strict=True)) for row in strings_np.tolist()]


def _cell_text(value: Any) -> str:
    """A kept value as CSV text: missing -> empty; numbers, booleans and nested values as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, (bool, int, float, list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN/Infinity
    return value


class _TextRenderer:
    """Renders chunks as CSV/TSV/JSONL text. CSV/TSV: minimal RFC 4180 quoting, ``\\n`` line ends,
    labels joined by ``,``; JSONL: one object per line with a real list of labels."""

    def __init__(self, fmt: FileFormat, kept: list[str], score_columns: list[str], labels_column: str) -> None:
        self.fmt = fmt
        self.kept = kept
        self.score_columns = score_columns
        self.labels_column = labels_column
        if fmt == "jsonl":
            names = [json.dumps(name, ensure_ascii=False) for name in score_columns]
            self._pieces = [f"{', ' if i else ''}{name}: " for i, name in enumerate(names)]
            self._labels_key = json.dumps(labels_column, ensure_ascii=False)
        else:
            self.delimiter = _DELIMITERS[fmt]
            self._needs_quotes = re.compile(f'[{re.escape(self.delimiter)}"\r\n]')
            self._pieces = ["", *[self.delimiter] * (len(score_columns) - 1)]

    def _quote(self, value: str) -> str:
        if self._needs_quotes.search(value):
            return '"' + value.replace('"', '""') + '"'
        return value

    def header(self) -> str:
        if self.fmt == "jsonl":
            return ""
        return self.delimiter.join(self._quote(name) for name in [*self.kept, *self.score_columns, self.labels_column]) + "\n"

    def render(
        self, columns: dict[str, Any], scores: npt.NDArray[np.float32], labels: list[list[str]], ascii_only: bool = False
    ) -> str:
        kept_values = [_as_list(columns[name]) for name in self.kept]
        if self.fmt == "jsonl":
            joined = _joined_scores(scores, self._pieces, "null")
            keys = [json.dumps(name, ensure_ascii=ascii_only) + ": " for name in self.kept]
            lines = []
            for row, score_text in enumerate(joined):
                kept = "".join(key + json.dumps(_json_value(values[row]), ensure_ascii=ascii_only, default=str) + ", "
                               for key, values in zip(keys, kept_values, strict=True))  # fmt: skip
                names = json.dumps(labels[row], ensure_ascii=ascii_only)
                lines.append(f"{{{kept}{score_text}, {self._labels_key}: {names}}}\n")
            return "".join(lines)
        joined = _joined_scores(scores, self._pieces, "")
        quote, delimiter = self._quote, self.delimiter
        lines = []
        for row, score_text in enumerate(joined):
            kept = "".join(quote(_cell_text(values[row])) + delimiter for values in kept_values)
            lines.append(f"{kept}{score_text}{delimiter}{quote(','.join(labels[row]))}\n")
        return "".join(lines)

    def encode(self, columns: dict[str, Any], scores: npt.NDArray[np.float32], labels: list[list[str]], header: bool) -> bytes:
        text = (self.header() if header else "") + self.render(columns, scores, labels)
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            # Lone surrogates in kept values (from JSON input): JSON escapes them losslessly; CSV can
            # only replace them (U+FFFD).
            if self.fmt == "jsonl":
                text = (self.header() if header else "") + self.render(columns, scores, labels, ascii_only=True)
                return text.encode("utf-8")
            return repair_text(text)[0].encode("utf-8")


def _as_list(values: Any) -> list[Any]:
    return values if isinstance(values, list) else list(values.to_pylist())


# --- writing ----------------------------------------------------------------------------------


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)  # the rename itself must survive a power cut


class _Sink:
    """Where rendered chunks go. ``state()`` is what the checkpoint stores to resume."""

    resumable = True

    def start(self, state: dict[str, Any] | None) -> None:
        raise NotImplementedError

    def write(self, columns: dict[str, Any], scores: npt.NDArray[np.float32], labels: list[list[str]], index: int) -> None:
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        raise NotImplementedError

    def finish(self, chunks: int) -> None:
        raise NotImplementedError

    def cleanup(self) -> None:
        """Remove what only served to resume, once OUTPUT is published and the checkpoint gone."""

    def close(self) -> None:
        """Release handles without finishing (the partial output stays for a resume)."""


class _TextFileSink(_Sink):
    """CSV/TSV/JSONL appended to OUTPUT.partial; gzip output is one gzip member per chunk, so a
    truncated file can be continued (readers decompress concatenated members as one stream)."""

    def __init__(self, paths: OutputPaths, renderer: _TextRenderer, gz: bool) -> None:
        self.paths, self.renderer, self.gz = paths, renderer, gz
        self._handle: IO[bytes] | None = None
        self.bytes = 0

    def start(self, state: dict[str, Any] | None) -> None:
        if state is None:
            self._handle = open(self.paths.partial, "wb")  # noqa: SIM115
            self.bytes = 0
            return
        self.bytes = int(state["bytes"])
        if not self.paths.partial.is_file() or self.paths.partial.stat().st_size < self.bytes:
            raise InputError(
                f"The partial output {str(self.paths.partial)!r} is missing or shorter than its checkpoint says "
                f"({self.bytes} bytes); it cannot be resumed. Delete {str(self.paths.checkpoint)!r} to start over."
            )
        self._handle = open(self.paths.partial, "r+b")  # noqa: SIM115
        # Bytes after the checkpoint belong to a chunk that was not completed: drop them.
        self._handle.truncate(self.bytes)
        self._handle.seek(self.bytes)

    def _append(self, data: bytes) -> None:
        assert self._handle is not None
        if not data:
            return
        if self.gz:
            # Level 1: scores are near-random digits, where level 6 compresses ~7% smaller but 5x slower
            # (measured), enough to make compression the bottleneck. mtime=0 keeps the bytes reproducible.
            data = gzip.compress(data, compresslevel=1, mtime=0)
        self._handle.write(data)
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.bytes += len(data)

    def write(self, columns: dict[str, Any], scores: npt.NDArray[np.float32], labels: list[list[str]], index: int) -> None:
        self._append(self.renderer.encode(columns, scores, labels, header=index == 0))

    def state(self) -> dict[str, Any]:
        return {"bytes": self.bytes}

    def finish(self, chunks: int) -> None:
        assert self._handle is not None
        if chunks == 0:  # no rows at all: still a valid file with its header
            self._append(self.renderer.header().encode("utf-8"))
        self._handle.close()
        self._handle = None
        os.replace(self.paths.partial, self.paths.output)
        _fsync_dir(self.paths.output.parent)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class _StdoutSink(_Sink):
    """JSONL to stdout, flushed per chunk; not atomic and not resumable."""

    resumable = False

    def __init__(self, renderer: _TextRenderer) -> None:
        self.renderer = renderer

    def start(self, state: dict[str, Any] | None) -> None:
        pass

    def write(self, columns: dict[str, Any], scores: npt.NDArray[np.float32], labels: list[list[str]], index: int) -> None:
        sys.stdout.buffer.write(self.renderer.encode(columns, scores, labels, header=False))
        sys.stdout.buffer.flush()

    def state(self) -> dict[str, Any]:
        return {}

    def finish(self, chunks: int) -> None:
        sys.stdout.buffer.flush()


class _ParquetSink(_Sink):
    """Parquet: each chunk is written to its own part file (atomically) in OUTPUT.parts/; at the end
    the parts are copied, one row group per chunk, into OUTPUT.partial, which replaces OUTPUT.

    A Parquet file's footer is written last, so a half-written Parquet file cannot be continued:
    the parts are what makes a Parquet run resumable, at the cost of writing the data twice.
    """

    def __init__(self, paths: OutputPaths, kept: list[str], score_columns: list[str], labels_column: str,
                 kept_types: dict[str, Any] | None) -> None:  # fmt: skip
        self.pa = _pyarrow("Writing Parquet files")
        self.paths, self.kept, self.score_columns, self.labels_column = paths, kept, score_columns, labels_column
        self.kept_types = kept_types  # None: strings (CSV), or inferred from the first chunk (JSONL)
        self._schema: Any = None

    def _part(self, index: int) -> Path:
        return self.paths.parts / f"part-{index:06d}.parquet"

    def start(self, state: dict[str, Any] | None) -> None:
        if state is None:
            if self.paths.parts.exists():
                for old in self.paths.parts.glob("part-*.parquet*"):
                    old.unlink()
            self.paths.parts.mkdir(exist_ok=True)
            return
        import pyarrow.parquet as pq

        done = int(state["parts"])
        for old in self.paths.parts.glob("part-*.parquet*"):
            if old.suffix != ".parquet" or int(old.stem.split("-")[1]) >= done:
                old.unlink()  # parts of chunks after the checkpoint were never completed
        missing = [index for index in range(done) if not self._part(index).is_file()]
        if missing:
            raise InputError(f"Part file(s) {missing[:5]} of {str(self.paths.parts)!r} are missing; the run cannot be resumed. "
                             f"Delete {str(self.paths.checkpoint)!r} to start over.")  # fmt: skip
        if done:
            self._schema = pq.read_schema(self._part(0))

    def _table(self, columns: dict[str, Any], scores: npt.NDArray[np.float32], labels: list[list[str]]) -> Any:
        pa = self.pa
        arrays = []
        for name in self.kept:
            values = columns[name]
            # The type: the first part's (resume), else the input's (Parquet, CSV), else inferred (JSONL).
            wanted = self._schema.field(name).type if self._schema is not None else (self.kept_types or {}).get(name)
            if isinstance(values, list):
                # Arrow strings cannot hold lone surrogates (possible in JSON input).
                values = [repair_text(value)[0] if isinstance(value, str) else value for value in values]
                array = pa.array(values, type=wanted)
                if pa.types.is_null(array.type):
                    array = array.cast(pa.string())
            else:
                array = values if wanted is None or values.type == wanted else values.cast(wanted)
            arrays.append(array)
        arrays += [pa.array(scores[:, column]) for column in range(scores.shape[1])]
        arrays.append(pa.array(labels, type=pa.list_(pa.string())))
        table = pa.Table.from_arrays(arrays, names=[*self.kept, *self.score_columns, self.labels_column])
        if self._schema is None:
            self._schema = table.schema
        return table.cast(self._schema)

    def write(self, columns: dict[str, Any], scores: npt.NDArray[np.float32], labels: list[list[str]], index: int) -> None:
        import pyarrow.parquet as pq

        try:
            table = self._table(columns, scores, labels)
        except (self.pa.ArrowInvalid, self.pa.ArrowTypeError) as error:
            raise InputError(
                f"A kept column changed type in chunk {index + 1} and cannot go into one Parquet column ({error}). "
                "Drop it with --keep-columns, or write CSV/JSONL."
            ) from error
        part = self._part(index)
        tmp = part.with_name(part.name + ".tmp")
        pq.write_table(table, tmp, row_group_size=max(1, table.num_rows))
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, part)

    def state(self) -> dict[str, Any]:
        return {}

    def finish(self, chunks: int) -> None:
        import pyarrow.parquet as pq

        pa = self.pa
        # The schema as read back from a part (Parquet names a list's field "element", Arrow "item"):
        # the same in an uninterrupted and in a resumed run, whose parts come from two processes.
        schema = pq.read_schema(self._part(0)) if chunks else None
        if schema is None:  # no rows: the schema from the input's columns
            fields = [pa.field(name, (self.kept_types or {}).get(name) or pa.string()) for name in self.kept]
            fields += [pa.field(name, pa.float32()) for name in self.score_columns]
            fields.append(pa.field(self.labels_column, pa.list_(pa.string())))
            schema = pa.schema(fields)
        with pq.ParquetWriter(self.paths.partial, schema) as writer:
            for index in range(chunks):
                table = pq.read_table(self._part(index))
                if table.num_rows:
                    writer.write_table(table, row_group_size=table.num_rows)
        with open(self.paths.partial, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(self.paths.partial, self.paths.output)
        _fsync_dir(self.paths.output.parent)

    def cleanup(self) -> None:
        for part in self.paths.parts.glob("part-*.parquet*"):
            part.unlink()
        self.paths.parts.rmdir()


# --- the run ----------------------------------------------------------------------------------


def _fingerprint(input_path: str, options: dict[str, Any]) -> dict[str, Any]:
    stat = os.stat(input_path)
    return {"input": {"path": os.path.realpath(input_path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns},
            "options": options, "version": __version__}  # fmt: skip


def _differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    found = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            found.append(f"{prefix}{key}: was {a!r}, now {b!r}")
    return found


def _progress_bar(reader: _Reader, enabled: bool | None, initial: int) -> Any:
    from tqdm.auto import tqdm

    wanted = sys.stderr.isatty() if enabled is None else enabled
    if reader.unit == "row":
        return tqdm(total=reader.total, initial=initial, unit="row", unit_scale=True, desc="classify",
                    disable=not wanted, dynamic_ncols=True)  # fmt: skip
    return tqdm(total=reader.total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024, desc="classify",
                disable=not wanted, dynamic_ncols=True)  # fmt: skip


def classify_file(
    input: str,
    output: str,
    *,
    classifier: EmotionClassifier,
    policy: ThresholdPolicy,
    text_column: str,
    id_column: str | None = None,
    keep_columns: Sequence[str] | None = (),
    input_format: str | None = None,
    output_format: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    resume: bool = False,
    on_bad_lines: BadLinePolicy = "error",
    prefix: str = "",
    labels_column: str = "emotions",
    progress: bool | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> BatchSummary:
    """Score the ``text_column`` of a file of any size, chunk by chunk, into ``output``.

    Args:
        input: a CSV/TSV/JSONL (optionally ``.gz``) or Parquet file; ``-`` reads JSONL from stdin.
        output: the file to write (its format from its extension, or ``output_format``); ``-``
            writes JSONL to stdout (not atomic, not resumable).
        classifier: scores every chunk (one instance for the whole run).
        policy: selects the labels of the labels column.
        text_column: the column holding the texts; an empty field or null is a missing text.
        id_column: a column to put first in the output.
        keep_columns: input columns to copy to the output (after ``id_column``); ``()`` keeps the
            text column; ``None`` keeps every column.
        chunk_rows: rows per chunk (scoring, checkpoint and stop granularity).
        resume: continue from ``OUTPUT.checkpoint.json`` if there is one (else start afresh).
        on_bad_lines: ``"error"`` stops at a malformed line naming it; ``"skip"`` skips and counts.
        prefix: put before each label to name its score column; ``labels_column`` names the labels.
        progress: True/False, or None for a bar when stderr is a terminal.
        should_stop: polled after every chunk; True stops the run with :class:`Interrupted`.

    Returns:
        A :class:`BatchSummary`.

    Raises:
        ConfigurationError: bad options (unknown format, column clash, resume without a checkpoint
            of the same input and options, ...).
        InputError: the input cannot be read as its format; :class:`BadLineError` for a malformed
            line with ``on_bad_lines="error"`` (the checkpoint is kept: fix the file and start over,
            or resume with ``on_bad_lines="skip"``).
        Interrupted: ``should_stop()`` returned True; the checkpoint is kept.
    """
    in_format, in_gz = detect_format(input, input_format)
    out_format, out_gz = detect_format(output, output_format)
    if on_bad_lines not in get_args(BadLinePolicy):
        raise ConfigurationError(f"on_bad_lines must be 'error' or 'skip', got {on_bad_lines!r}")
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ConfigurationError(f"chunk_rows must be an integer >= 1, got {chunk_rows!r}. Example: --chunk-rows 10000")
    to_stdout = output == STDIO
    if resume and (input == STDIO or to_stdout):
        raise ConfigurationError("--resume needs named input and output files; stdin/stdout ('-') cannot be resumed.")
    paths = output_paths(output)
    if not to_stdout:
        if not paths.output.parent.is_dir():
            raise ConfigurationError(f"The output directory {str(paths.output.parent)!r} does not exist.")
        if input != STDIO and os.path.exists(input) and os.path.realpath(input) == os.path.realpath(output):
            raise ConfigurationError(f"The output {output!r} is the input file; choose another output name.")
    id_columns = [id_column] if id_column else []
    keep = None if keep_columns is None else _unique([*id_columns, *(keep_columns or [text_column])])

    reader = open_reader(input, in_format, in_gz, text_column=text_column, keep=keep,
                         required=[id_column] if id_column else [], on_bad_lines=on_bad_lines)  # fmt: skip
    sink: _Sink | None = None
    try:
        labels = list(classifier.labels)  # loads the model: after the cheap checks of the input
        if out_format in ("csv", "tsv") and any("," in name for name in labels):
            raise ConfigurationError("A label contains ',', so the CSV labels column would be ambiguous; write JSONL or Parquet.")
        score_columns = [f"{prefix}{name}" for name in labels]
        loaded = classifier.loaded
        policy.cutoffs(labels, loaded.shipped_thresholds)  # "tuned" without a thresholds.json fails now, not at chunk 1
        options = {
            "text_column": text_column, "keep": keep, "input_format": in_format, "input_gzip": in_gz,
            "output_format": out_format, "output_gzip": out_gz, "chunk_rows": chunk_rows, "prefix": prefix,
            "labels_column": labels_column, "policy": policy.to_dict(), "labels": labels,
            "model": classifier.model_name, "revision": classifier.revision, "device": str(loaded.device),
            "dtype": str(loaded.dtype), "batch_size": classifier.batch_size, "max_tokens": classifier.max_tokens,
            "max_length": classifier.max_length, "long_text": classifier.long_text, "aggregate": classifier.aggregate,
            "chunk_overlap": classifier.chunk_overlap, "floats": float_strings_backend(),
        }  # fmt: skip
        fingerprint = _fingerprint(input, options) if input != STDIO else {}
        state = None if to_stdout else _load_checkpoint(paths, fingerprint, resume)
        counts = BatchCounts(**state["counts"]) if state is not None else BatchCounts()
        started = time.perf_counter()
        resumed_from = counts.rows_out if state is not None else None
        if (
            state is not None
            and state.get("complete")
            and paths.output.exists()
            and not paths.partial.exists()
            and not paths.parts.exists()
        ):
            # Killed after publishing OUTPUT, before deleting the checkpoint: only that is left to do.
            paths.checkpoint.unlink()
            return BatchSummary(counts, time.perf_counter() - started, 0, resumed_from, output)
        if state is not None:
            reader.seek(state["position"])
            if isinstance(reader, _JsonlReader):
                reader.set_columns(state["kept"], counts.rows_out)

        def open_sink() -> _Sink:
            kept = list(reader.kept)
            clashes = [name for name in [*score_columns, labels_column] if name in kept]
            if clashes or labels_column in score_columns:
                raise ConfigurationError(
                    f"The output column(s) {clashes or [labels_column]} would appear twice (kept input columns and "
                    "scores). Pass --prefix (e.g. --prefix emo_) and/or --labels-column, or keep fewer columns."
                )
            new_sink: _Sink
            if out_format == "parquet":
                kept_types = getattr(reader, "arrow_types", None)
                if in_format in ("csv", "tsv"):
                    kept_types = {name: _pyarrow("Writing Parquet files").string() for name in kept}
                new_sink = _ParquetSink(paths, kept, score_columns, labels_column, kept_types)
            else:
                renderer = _TextRenderer(out_format, kept, score_columns, labels_column)
                new_sink = _StdoutSink(renderer) if to_stdout else _TextFileSink(paths, renderer, out_gz)
            new_sink.start(state["sink"] if state is not None else None)
            return new_sink

        rows_before = counts.rows_out
        position = state["position"] if state is not None else _start_position(reader)
        with _progress_bar(reader, progress, reader.done()) as bar:
            for chunk in reader.chunks(chunk_rows):
                if sink is None:  # opened at the first chunk: JSONL columns are known only then
                    sink = open_sink()
                if chunk.texts:
                    result = classifier.run(chunk.texts, progress=False)
                    scores = result.scores
                    selected = classifier.select(scores, policy)
                    counts.missing += result.stats.missing
                    counts.repaired += result.stats.repaired
                else:
                    scores = np.empty((0, len(labels)), dtype=np.float32)
                    selected = []
                sink.write(chunk.columns, scores, selected, counts.chunks)
                counts.chunks += 1
                counts.rows_out += len(chunk.texts)
                counts.rows_in += len(chunk.texts) + chunk.skipped
                counts.skipped += chunk.skipped
                counts.replaced += chunk.replaced
                counts.blank_lines += chunk.blank_lines
                position = chunk.end
                if not to_stdout:
                    _save_checkpoint(paths, fingerprint, counts, sink, position, reader.kept)
                bar.update(reader.done() - bar.n)
                rate = (counts.rows_out - rows_before) / max(time.perf_counter() - started, 1e-9)
                bar.set_postfix_str(f"{counts.rows_out:,} rows, {rate:,.0f} rows/s", refresh=False)
                if should_stop():
                    summary = BatchSummary(
                        counts, time.perf_counter() - started, counts.rows_out - rows_before, resumed_from, output
                    )
                    raise Interrupted(summary, resumable=not to_stdout and input != STDIO)
        if sink is None:  # an input without a single row
            sink = open_sink()
        if not to_stdout:
            _save_checkpoint(paths, fingerprint, counts, sink, position, reader.kept, complete=True)
        sink.finish(counts.chunks)
        if not to_stdout:
            paths.checkpoint.unlink(missing_ok=True)
            sink.cleanup()
        return BatchSummary(counts, time.perf_counter() - started, counts.rows_out - rows_before, resumed_from, output)
    finally:
        if sink is not None:
            sink.close()
        reader.close()


def _start_position(reader: _Reader) -> dict[str, int]:
    if isinstance(reader, _DelimitedReader):
        return dict(reader._data_start)
    if isinstance(reader, _ParquetReader):
        return {"row": 0}
    return {"offset": 0, "line": 0}


def _save_checkpoint(paths: OutputPaths, fingerprint: dict[str, Any], counts: BatchCounts, sink: _Sink,
                     position: dict[str, int], kept: list[str], complete: bool = False) -> None:  # fmt: skip
    sink_state = sink.state()
    if isinstance(sink, _ParquetSink):
        sink_state = {"parts": counts.chunks}
    data = {
        "format": CHECKPOINT_FORMAT, "fingerprint": fingerprint, "chunks": counts.chunks, "position": position,
        "sink": sink_state, "kept": kept, "counts": asdict(counts), "complete": complete,
    }  # fmt: skip
    _write_atomic(paths.checkpoint, json.dumps(data, indent=1).encode("utf-8"))


def _load_checkpoint(paths: OutputPaths, fingerprint: dict[str, Any], resume: bool) -> dict[str, Any] | None:
    """The checkpoint to resume from, None to start afresh; refuses to clobber one without ``resume``."""
    if not paths.checkpoint.exists():
        return None
    try:
        state: dict[str, Any] = json.loads(paths.checkpoint.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ConfigurationError(
            f"The checkpoint {str(paths.checkpoint)!r} cannot be read ({error}); delete it to start over."
        ) from error
    if state.get("format") != CHECKPOINT_FORMAT:
        raise ConfigurationError(f"{str(paths.checkpoint)!r} is not a checkpoint of this version; delete it to start over.")
    rows = state.get("counts", {}).get("rows_out", 0)
    if not resume:
        raise ConfigurationError(
            f"An interrupted run left {str(paths.checkpoint)!r} ({rows:,} rows done). Pass --resume to continue it, "
            f"or delete it and {str(paths.partial)!r} / {str(paths.parts)!r} to start over."
        )
    differences = _differences(state.get("fingerprint", {}), fingerprint)
    if differences:
        raise ConfigurationError(
            "Cannot resume: the input file or the options differ from the interrupted run's, so the output would mix two "
            f"runs. Differences: {'; '.join(differences)}. Run with the same input and options, or delete "
            f"{str(paths.checkpoint)!r} to start over."
        )
    if state.get("complete") and paths.output.exists() and not paths.partial.exists() and not paths.parts.exists():
        # Killed between publishing the output and deleting the checkpoint: nothing left to do but
        # that deletion. Resuming would find the input exhausted and re-publish the same bytes.
        pass
    return state
