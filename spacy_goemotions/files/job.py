"""What one ``classify`` job reads and writes (:class:`FileJob`), and how a folder output names its files.

Validated on construction, before any model loads. Its own module, below :mod:`.run` (which runs a job)
and :mod:`.part_outputs` (which runs a folder of them), so that neither imports the other.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import get_args

from ..errors import ConfigurationError
from .formats import STDIO, FileFormat, detect_format
from .parts import Part, PartSet, find_parts, is_part_set
from .readers import BadLinePolicy, unique

_EXTENSIONS: dict[str, str] = {"csv": ".csv", "tsv": ".tsv", "jsonl": ".jsonl", "parquet": ".parquet"}
#: The compression Spark and others put before ``.parquet`` (``part-0.snappy.parquet``): Parquet's own, not the new format's.
_PARQUET_CODEC = re.compile(r"\.(snappy|gzip|gz|zstd|zst|lz4|brotli|uncompressed)$", re.IGNORECASE)


def is_folder_output(output: str) -> bool:
    """Whether OUTPUT names a folder: a trailing slash, or an existing folder."""
    return output != STDIO and (output.endswith(("/", os.sep)) or os.path.isdir(output))


def output_name(part: Part, output_format: str | None) -> tuple[str, FileFormat, bool]:
    """The relative name, format and gzip of a part's output: the part's own, or with ``output_format``
    that format's extension (gzip kept for text formats).

    Examples:
        >>> output_name(Part("d/x=1/part-0.snappy.parquet", "x=1/part-0.snappy.parquet", "parquet", False), "csv")
        ('x=1/part-0.csv', 'csv', False)
    """
    if output_format is None:
        return part.relative, part.format, part.gz
    fmt: FileFormat = output_format  # type: ignore[assignment]  # validated by FileJob
    gz = part.gz and fmt != "parquet"
    stem = os.path.splitext(part.relative[:-3] if part.relative.lower().endswith(".gz") else part.relative)[0]
    if part.format == "parquet" and fmt != "parquet":
        stem = _PARQUET_CODEC.sub("", stem)
    return stem + _EXTENSIONS[fmt] + (".gz" if gz else ""), fmt, gz


DEFAULT_CHUNK_ROWS = 10_000


@dataclass(frozen=True)
class FileJob:
    """What to read and write: validated on construction (formats, chunk size), before any model loads.

    Args:
        input: a CSV/TSV/JSONL (optionally ``.gz``) or Parquet file; ``-`` reads JSONL from stdin; a
            folder of such files (read recursively) or a glob (``"data/**/*.parquet"``): its files, in
            the order of their relative paths, read as one input (see :mod:`.parts`).
        output: the file to write (its format from its extension, or ``output_format``); ``-``
            writes JSONL to stdout (not atomic, not resumable); a folder (a trailing ``/``, or an
            existing folder): one output file per input part, with the part's relative name (with
            ``output_format``, that format's extension), see :mod:`.part_outputs`.
        text_column: the column holding the texts; an empty field or null is a missing text.
        id_column: a column to put first in the output.
        keep_columns: input columns to copy to the output (after ``id_column``); ``()`` keeps the
            text column; ``None`` keeps every column.
        input_format: ``"csv"``, ``"tsv"``, ``"jsonl"`` or ``"parquet"``, where the input's extension does not tell.
        output_format: the same, for the output.
        chunk_rows: rows per chunk (scoring, checkpoint and stop granularity).
        on_bad_lines: ``"error"`` stops at a malformed line naming it; ``"skip"`` skips and counts it.

    Examples:
        >>> job = FileJob("comments.csv.gz", "scored.parquet", text_column="body", id_column="id")
        >>> job.chunk_rows
        10000
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
    #: The input's files for a folder or glob input, or for a folder output (None: one file or stdin).
    parts: PartSet | None = field(init=False, repr=False, compare=False)
    #: Whether ``output`` is a folder (one output file per input part).
    output_dir: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        output_dir = is_folder_output(self.output)
        if output_dir and self.input == STDIO:
            raise ConfigurationError("A folder output needs named input files; stdin ('-') goes to one output file.")
        many = output_dir or (self.input != STDIO and is_part_set(self.input))
        parts = find_parts(self.input, self.input_format) if many else None
        if parts is None:
            inputs = detect_format(self.input, self.input_format, option="input_format")
        else:
            first = parts.parts[0]
            inputs = (first.format, first.gz)
        if parts is not None and output_dir:
            if self.output_format is not None:  # validated as the option it is
                detect_format(self.output, self.output_format, option="output_format")
            outputs = output_name(parts.parts[0], self.output_format)[1:]
        else:
            outputs = detect_format(self.output, self.output_format, option="output_format")
        object.__setattr__(self, "formats", (*inputs, *outputs))
        object.__setattr__(self, "parts", parts)
        object.__setattr__(self, "output_dir", output_dir)
        if self.on_bad_lines not in get_args(BadLinePolicy):
            raise ConfigurationError(
                f"on_bad_lines must be 'error' or 'skip', got {self.on_bad_lines!r}", options=("on_bad_lines",)
            )
        if isinstance(self.chunk_rows, bool) or not isinstance(self.chunk_rows, int) or self.chunk_rows < 1:
            raise ConfigurationError(
                f"chunk_rows must be an integer >= 1, got {self.chunk_rows!r}. Example: chunk_rows=10000",
                options=("chunk_rows",),
                value=self.chunk_rows,
                example={"chunk_rows": 10000},
            )

    @property
    def kept(self) -> list[str] | None:
        """The input columns the output starts with (None: every column)."""
        if self.keep_columns is None:
            return None
        ids = [self.id_column] if self.id_column else []
        return unique([*ids, *(self.keep_columns or [self.text_column])])
