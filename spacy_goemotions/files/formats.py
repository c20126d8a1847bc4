"""File formats by extension, the files a run writes beside its output, and the optional pyarrow."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from ..errors import ConfigurationError

FileFormat = Literal["csv", "tsv", "jsonl", "parquet"]
FORMATS: tuple[str, ...] = get_args(FileFormat)
#: The path that means stdin (input) or stdout (output); always JSONL.
STDIO = "-"
DELIMITERS = {"csv": ",", "tsv": "\t"}

_EXTENSIONS: dict[str, FileFormat] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def detect_format(path: str, override: str | None = None, *, option: str = "output_format") -> tuple[FileFormat, bool]:
    """The format of ``path`` and whether it is gzipped, from its extension (``override`` wins).

    ``-`` (stdin/stdout) is JSONL. Gzip is told by a final ``.gz``. ``option`` names the option
    ``override`` came from (``"input_format"`` or ``"output_format"``), for the error messages.

    Examples:
        >>> detect_format("comments.csv.gz")
        ('csv', True)
    """
    if override is not None and override not in FORMATS:
        raise ConfigurationError(
            f"{option} must be one of {FORMATS}, got {override!r}. Example: {option}='csv'",
            options=(option,),
            value=override,
            example={option: "csv"},
        )
    if path == STDIO:
        if override not in (None, "jsonl"):
            raise ConfigurationError(
                f"'-' (stdin/stdout) is always JSONL, got {option}={override!r}. Use a file name for other formats.",
                options=(option,),
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
            f"(text formats may end in .gz), or pass the format, e.g. {option}='csv'.",
            options=(option,),
            example={option: "csv"},
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
    sibling = path.with_name
    return OutputPaths(
        path, sibling(path.name + ".partial"), sibling(path.name + ".checkpoint.json"), sibling(path.name + ".parts")
    )


def has_pyarrow() -> bool:
    try:
        import pyarrow.compute  # noqa: F401
    except ImportError:
        return False
    return True
