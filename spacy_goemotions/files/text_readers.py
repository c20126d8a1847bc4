"""Readers of text formats: CSV and TSV with a header line, and JSONL; each optionally gzipped.

Files are read as bytes, line by line, so byte offsets and line numbers stay exact (a resumed run
seeks to them) and undecodable bytes are replaced (U+FFFD) and counted.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import os
import sys
from abc import abstractmethod
from collections.abc import Iterator
from typing import IO, Any

from ..errors import BadLineError, InputError
from .formats import DELIMITERS, STDIO, FileFormat
from .readers import BadLinePolicy, Chunk, Position, Reader, unique

# Fields longer than csv's default limit (128 KiB) are legitimate long texts, not errors.
_CSV_FIELD_LIMIT = 2**31 - 1
#: What a record source yields for a line that holds no record, and for a record it skipped.
_BLANK, _SKIPPED = object(), object()


class LineSource:
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


class TextReader(Reader):
    """What CSV/TSV and JSONL share: a line source, positions, bad-line handling and the chunk loop."""

    def __init__(self, path: str, gz: bool, on_bad_lines: BadLinePolicy) -> None:
        self.source = LineSource(path, gz)
        self.path = path
        self.on_bad_lines = on_bad_lines

    @property
    def total(self) -> int | None:
        return self.source.total

    def done(self) -> int:
        return self.source.done()

    def start_position(self) -> Position:
        return {"offset": 0, "line": 0}

    def resume(self, position: Position, kept: list[str], rows_done: int) -> None:
        self.source.seek(position["offset"], position["line"])

    def _bad(self, message: str, first_line: int) -> None:
        """Stop at a malformed record (``on_bad_lines="error"``), or let the caller skip it."""
        last = self.source.line
        where = f"line {first_line}" if last <= first_line else f"lines {first_line}-{last}"
        if self.on_bad_lines == "error":
            raise BadLineError(f"{self.path}: {where}: {message}", first_line)

    @abstractmethod
    def _records(self) -> Iterator[Any]:
        """Per record: ``(text, row)``, or ``_BLANK`` / ``_SKIPPED``."""

    @abstractmethod
    def _columns(self, rows: list[Any]) -> dict[str, list[Any]]:
        """The kept columns of a chunk's rows."""

    def chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        source, records = self.source, self._records()
        exhausted = False
        while not exhausted:
            texts: list[str | None] = []
            rows: list[Any] = []
            skipped = blank = 0
            replaced_before = source.replaced
            while len(texts) < chunk_rows:
                record = next(records, None)
                if record is None:
                    exhausted = True
                    break
                if record is _BLANK:
                    blank += 1
                elif record is _SKIPPED:
                    skipped += 1
                else:
                    texts.append(record[0])
                    rows.append(record[1])
            end = {"offset": source.offset, "line": source.line}
            if texts or skipped or blank or source.replaced != replaced_before:
                yield Chunk(texts, self._columns(rows), end, skipped, source.replaced - replaced_before, blank)

    def close(self) -> None:
        self.source.close()


class DelimitedReader(TextReader):
    """CSV/TSV with a header line; RFC 4180 quoting (also for TSV); an empty field is missing."""

    def __init__(
        self, path: str, fmt: FileFormat, gz: bool, text_column: str, keep: list[str] | None, on_bad_lines: BadLinePolicy
    ) -> None:
        self._field_limit = csv.field_size_limit(_CSV_FIELD_LIMIT)  # process-wide: restored by close()
        super().__init__(path, gz, on_bad_lines)
        try:
            # strict: a quote in the wrong place is an error instead of being silently dropped from the text.
            self._reader = csv.reader(self.source.lines(), delimiter=DELIMITERS[fmt], strict=True)
            self.header = self._read_header(fmt)
            self.kept = list(self.header) if keep is None else keep
            wanted = unique([text_column, *self.kept])
            unknown = [name for name in wanted if name not in self.header]
            if unknown:
                raise InputError(
                    f"{path}: column(s) {unknown} not found in the header. Its columns: {self.header}",
                    options=("text_column", "keep_columns", "id_column"),
                )
            duplicated = [name for name in wanted if self.header.count(name) > 1]
            if duplicated:
                raise InputError(f"{path}: the header names column(s) {duplicated} more than once; rename them.")
            self._text_index = self.header.index(text_column)
            self._kept_indices = [self.header.index(name) for name in self.kept]
        except BaseException:
            self.close()
            raise
        self._data_start = {"offset": self.source.offset, "line": self.source.line}

    def _read_header(self, fmt: str) -> list[str]:
        try:
            return next(self._reader)
        except StopIteration:
            raise InputError(
                f"{self.path}: the file is empty; a {fmt.upper()} input needs a header line naming its columns."
            ) from None
        except csv.Error as error:
            raise BadLineError(f"{self.path}: line 1 (the header) is malformed: {error}", 1) from None

    def start_position(self) -> Position:
        return dict(self._data_start)

    def arrow_types(self) -> dict[str, Any] | None:
        import pyarrow as pa

        return {name: pa.string() for name in self.kept}  # CSV has no types: every kept column is text

    def _records(self) -> Iterator[Any]:
        width, reader = len(self.header), self._reader
        kind = "CSV" if reader.dialect.delimiter == "," else "TSV"
        while True:
            first_line = self.source.line + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                self._bad(f"malformed {kind} ({error})", first_line)
                yield _SKIPPED
                continue
            if not row:
                yield _BLANK
            elif len(row) != width:
                self._bad(f"expected {width} fields (the header's), saw {len(row)}", first_line)
                yield _SKIPPED
            else:
                # An empty field is a missing value; any other string ("NA", "null", "None") is text.
                yield row[self._text_index] or None, [row[index] or None for index in self._kept_indices]

    def _columns(self, rows: list[Any]) -> dict[str, list[Any]]:
        return {name: [row[position] for row in rows] for position, name in enumerate(self.kept)}

    def close(self) -> None:
        super().close()
        csv.field_size_limit(self._field_limit)


class JsonlReader(TextReader):
    """One JSON object per line. Columns with ``keep=None``: the keys of the first record."""

    def __init__(
        self, path: str, gz: bool, text_column: str, keep: list[str] | None, required: list[str], on_bad_lines: BadLinePolicy
    ) -> None:
        super().__init__(path, gz, on_bad_lines)
        self.text_column = text_column
        self.kept = [] if keep is None else keep
        self._all_columns = keep is None
        self._required = unique([text_column, *required])
        self._first_seen = False

    def resume(self, position: Position, kept: list[str], rows_done: int) -> None:
        """Also the columns the earlier run took from the first record, if it got that far."""
        super().resume(position, kept, rows_done)
        self.kept = kept
        self._first_seen = rows_done > 0

    def _first_record(self, record: dict[str, Any], line: int) -> None:
        missing = [name for name in self._required if name not in record]
        if missing:
            raise InputError(
                f"{self.path}: the first record (line {line}) has no key(s) {missing}; its keys: {list(record)}. "
                "Check text_column= / id_column=.",
                options=("text_column", "id_column"),
            )
        if self._all_columns:
            self.kept = list(record)
        self._first_seen = True

    def _records(self) -> Iterator[Any]:
        for line_text in self.source.lines():
            line = self.source.line
            if not line_text.strip():
                yield _BLANK
                continue
            try:
                record = json.loads(line_text)
            except json.JSONDecodeError as error:
                self._bad(f"invalid JSON ({error})", line)
                yield _SKIPPED
                continue
            if not isinstance(record, dict):
                self._bad(f"expected a JSON object, got a {type(record).__name__} ({line_text.strip()!r:.60})", line)
                yield _SKIPPED
                continue
            if not self._first_seen:
                self._first_record(record, line)
            text = record.get(self.text_column)
            if text is not None and not isinstance(text, str):
                self._bad(f"{self.text_column!r} is a {type(text).__name__} ({text!r:.60}), not a string or null", line)
                yield _SKIPPED
                continue
            if self._all_columns and any(name not in self.kept for name in record):
                extra = [name for name in record if name not in self.kept]
                raise InputError(
                    f"{self.path}: line {line} has key(s) {extra} that the first record lacks; keep_columns=None (every "
                    "column) takes the keys of the first record. Name the columns to keep with keep_columns=[...].",
                    options=("keep_columns",),
                )
            yield text, record

    def _columns(self, rows: list[Any]) -> dict[str, list[Any]]:
        return {name: [record.get(name) for record in rows] for name in self.kept}
