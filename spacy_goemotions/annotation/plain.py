"""Plain JSONL and CSV tasks (``id``, ``text``, ``labels``), for any other tool or a spreadsheet, and their import.

Written: JSONL records ``{"id", "text", "labels": [...], "scores": {...}}``, or CSV with the columns ``id``,
``text`` and ``labels`` (names joined by commas). Read back: the same columns after people edited ``labels``;
every record counts as reviewed (a plain file has no notion of skipping), and a record with an empty ``labels``
says that no label applies. Repeated ids are several people's answers (see the conflict policies).
"""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Any

from .files import load_jsonl, read_text_file, write_jsonl, write_text
from .reviewed import Annotation, AnnotationError, ExportRead
from .tasks import ReviewBatch, content_id


def write_plain_tasks(path: str | os.PathLike[str], batch: ReviewBatch, *, as_csv: bool = False) -> None:
    """The tasks as CSV (id, text, labels) or JSONL (with the scores too)."""
    if as_csv:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["id", "text", "labels"])
        writer.writerows([task.id, task.text, ",".join(task.labels)] for task in batch.tasks)
        write_text(path, out.getvalue())
        return
    write_jsonl(path, ({"id": t.id, "text": t.text, "labels": t.labels, "scores": t.scores} for t in batch.tasks))


def read_plain_export(path: str, *, as_csv: bool | None = None) -> ExportRead:
    """Reviewed labels from plain JSONL or CSV (``id`` optional: the text's hash then); CSV when ``as_csv``
    (None: when the name ends in ``.csv``).

    Raises:
        AnnotationError: for a record without text or labels, or a file that is not JSONL/CSV of those columns.
    """
    as_csv = path.endswith(".csv") if as_csv is None else as_csv
    read = ExportRead(path, "plain CSV" if as_csv else "plain JSONL")
    records = _csv_records(path) if as_csv else load_jsonl(path, "JSONL")
    for number, record in records:
        read.tasks += 1
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            raise AnnotationError(f"{path}: record {number} has no text (a 'text' field or column).")
        if "labels" not in record:
            raise AnnotationError(f"{path}: record {number} has no 'labels' (a list, or names joined by commas; empty: none).")
        labels = _label_names(record["labels"], path, number)
        identifier = record.get("id")
        task_id = str(identifier) if identifier not in (None, "") else content_id(text)
        read.annotations.append(Annotation(task_id, text, labels, order=number))
    return read


def _label_names(value: Any, path: str, number: int) -> frozenset[str]:
    if isinstance(value, str):
        if value.strip().startswith("["):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise AnnotationError(f"{path}: record {number}: labels {value!r} is not a JSON list") from None
        else:
            return frozenset(name.strip() for name in value.split(",") if name.strip())
    if isinstance(value, list) and all(isinstance(name, str) for name in value):
        return frozenset(value)
    raise AnnotationError(f"{path}: record {number}: labels must be a list of names or names joined by commas, got {value!r}")


def _csv_records(path: str) -> list[tuple[int, dict[str, Any]]]:
    text = read_text_file(path, "CSV")
    if not text.strip():
        raise AnnotationError(f"{path}: the file is empty.")
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in ("text", "labels") if column not in (reader.fieldnames or [])]
    if missing:
        raise AnnotationError(f"{path}: no column(s) {missing}; the header has {reader.fieldnames}.")
    records = [(reader.line_num, dict(row)) for row in reader]
    if not records:
        raise AnnotationError(f"{path}: the file has a header and no records.")
    return records
