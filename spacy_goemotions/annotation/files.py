"""Reading exports and writing task files: errors that name the file and what to do; nothing half-written."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import InputNotFoundError
from ..files.atomic import write_atomic
from .reviewed import AnnotationError


def read_text_file(path: str, tool: str) -> str:
    if not os.path.isfile(path):
        raise InputNotFoundError(f"{path}: no such file (the {tool} export to import).")
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise AnnotationError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start}); is it a {tool} export?") from None


def load_json(path: str, tool: str) -> Any:
    """One JSON document (Label Studio's export).

    Raises:
        InputNotFoundError: for a path that is no file.
        AnnotationError: for an empty file, or text that is not (complete) JSON, with where it breaks.
    """
    text = read_text_file(path, tool)
    if not text.strip():
        raise AnnotationError(f"{path}: the file is empty. Export the {tool} project again.")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        truncated = error.pos >= len(text.rstrip()) - 1
        why = "it ends before the JSON does (a truncated download or copy?)" if truncated else error.msg
        raise AnnotationError(
            f"{path}: not valid JSON at line {error.lineno}, column {error.colno}: {why}. Export the {tool} project again."
        ) from None


def load_jsonl(path: str, tool: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, record)`` for each non-blank line of a JSONL file (Prodigy's ``db-out``, plain JSONL).

    Raises:
        InputNotFoundError: for a path that is no file.
        AnnotationError: for a line that is not a JSON object, naming it; for a file without records.
    """
    text = read_text_file(path, tool)
    lines = text.splitlines()
    found = False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            last = number == len(lines) and not text.endswith("\n")
            why = "the line is cut short (a truncated file?)" if last else error.msg
            raise AnnotationError(f"{path}: line {number} is not a JSON object: {why}. Is it a {tool} JSONL file?") from None
        if not isinstance(record, dict):
            raise AnnotationError(
                f"{path}: line {number} is {type(record).__name__}, not a JSON object. Is it a {tool} JSONL file?"
            )
        found = True
        yield number, record
    if not found:
        raise AnnotationError(f"{path}: the file has no records. Export the {tool} dataset again.")


def write_json(path: str | os.PathLike[str], value: Any) -> None:
    """One JSON document, written whole (a temporary file renamed over the target)."""
    write_atomic(Path(path), (json.dumps(value, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))


def write_jsonl(path: str | os.PathLike[str], records: Iterable[dict[str, Any]]) -> None:
    """One JSON object per line, written whole."""
    text = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    write_atomic(Path(path), text.encode("utf-8"))


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """A text file, written whole."""
    write_atomic(Path(path), text.encode("utf-8"))
