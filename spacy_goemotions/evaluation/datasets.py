"""Readers for labelled data: texts, ids and an (n, L) 0/1 gold matrix.

Five formats, chosen by the file extension (``.gz`` compressed text files too):

- ``.tsv``: the GoEmotions release format: no header; columns text, comma-separated label ids
  (``"2,7"``), id. Read with ``csv.reader(delimiter="\\t")``.
- ``.csv``: a header row; a text column and a labels column (names or ids, separated by commas,
  e.g. ``"joy,anger"`` or ``"17,2"``; a JSON list ``["joy", "anger"]`` works too); an optional id
  column (otherwise the ids are the row numbers, from 0).
- ``.jsonl``: one object per line with a text key and a labels key (a list of names or ids, or a
  comma-separated string); an optional id key.
- ``.parquet``: a text column and a labels column (a list of names, or a comma-separated string); an
  optional id column (the ``parquet`` extra: pyarrow).
- ``.spacy``: a DocBin whose ``doc.cats`` hold the gold labels (>= 0.5 is on), as ``convert`` and
  ``import-annotations`` write them; ids from ``doc.user_data["id"]``.

The labels are a fixed set (the GoEmotions labels by default, or your own: a name outside the set is an
error naming it), or, with ``labels=None``, the names the data uses (sorted; ids mean nothing then).

Every row keeps its position: nothing is dropped or reordered. Bad rows raise
:class:`DatasetError` naming the file, the line and the bad value.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from ..errors import InputError
from ..labels import GOEMOTIONS_LABELS

#: Extensions (after removing ``.gz``) and the format each one means.
FORMATS = {".tsv": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".spacy": "spacy"}


class DatasetError(InputError):
    """A labelled data file that cannot be read: wrong format, unknown label, missing column."""


@dataclass(frozen=True)
class LabelledData:
    """Texts with gold labels, in file order.

    Attributes:
        texts: the texts.
        ids: one id per text (the file's id column, or the row number from 0).
        gold: (n, len(labels)) uint8 0/1 matrix, column order ``labels``.
        labels: the column names of ``gold``.
    """

    texts: list[str]
    ids: list[str]
    gold: npt.NDArray[np.uint8]
    labels: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.texts)

    def select_labels(self, labels: Sequence[str]) -> npt.NDArray[np.uint8]:
        """The gold matrix with its columns in another order (e.g. a model's label order).

        Raises:
            DatasetError: if a label of ``labels`` is not a column of this data.
        """
        missing = [name for name in labels if name not in self.labels]
        if missing:
            raise DatasetError(f"The data has no column for label(s) {missing!r}; its labels: {', '.join(self.labels)}")
        return self.gold[:, [self.labels.index(name) for name in labels]]


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def detect_format(path: str | os.PathLike[str]) -> str:
    """``"tsv"``, ``"csv"``, ``"jsonl"``, ``"parquet"`` or ``"spacy"`` from the file extension."""
    file = Path(path)
    suffix = Path(file.stem).suffix if file.suffix == ".gz" else file.suffix
    fmt = FORMATS.get(suffix.lower())
    if fmt is None:
        raise DatasetError(
            f"Cannot tell the format of {str(file)!r} from its extension {suffix!r}. Use .tsv (GoEmotions: "
            "text, label ids, id; no header), .csv (header with text and labels columns), .jsonl "
            "(one object per line with text and labels), optionally .gz compressed, .parquet, or .spacy (a DocBin with "
            "gold doc.cats)."
        )
    return fmt


class _LabelParser:
    """Turns label names or ids into gold-matrix columns, with errors that point at the line.

    With ``labels=None`` the set is open: every new name becomes a column (ids mean nothing then).
    """

    def __init__(self, labels: Sequence[str] | None, file: str) -> None:
        self.fixed = labels is not None
        self.labels: list[str] = list(labels or ())
        self.index = {name: i for i, name in enumerate(self.labels)}
        self.file = file

    def column(self, value: Any, line: int) -> int:
        if isinstance(value, bool):
            value = repr(value)  # True is an int in Python; it is not a label id
        if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
            if not self.fixed:
                raise DatasetError(
                    f"{self.file}, line {line}: label id {value!r} means nothing without a label list: name the "
                    "labels in the data, or pass the label set (labels=[...]; --labels in the CLI) whose order the ids index."
                )
            number = int(value)
            if not 0 <= number < len(self.labels):
                raise DatasetError(
                    f"{self.file}, line {line}: label id {value!r} is out of range; ids are 0..{len(self.labels) - 1} "
                    f"in the order {', '.join(f'{i}={n}' for i, n in enumerate(self.labels))}."
                )
            return number
        if isinstance(value, str):
            name = value.strip()
            if name in self.index:
                return self.index[name]
            if name.lower() in self.index:
                return self.index[name.lower()]
            if not self.fixed and name:
                self.index[name] = len(self.labels)
                self.labels.append(name)
                return self.index[name]
            raise DatasetError(
                f"{self.file}, line {line}: unknown label {value!r}. Valid labels: {', '.join(self.labels)} "
                f'(or their ids 0..{len(self.labels) - 1}). Example labels cell: "{self.labels[0]},{self.labels[-1]}". '
                "For a label set of your own, pass it (labels=[...]; --labels in the CLI) or take it from the data "
                "(labels=None; --labels-from-data)."
            )
        raise DatasetError(f"{self.file}, line {line}: a label must be a name or an integer id, got {value!r}")

    def columns(self, value: Any, line: int) -> list[int]:
        if value is None:
            return []
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as error:
                    raise DatasetError(
                        f"{self.file}, line {line}: labels cell {value!r} is not a valid JSON list: {error}"
                    ) from None
            else:
                value = [part for part in text.split(",") if part.strip()]
        if hasattr(value, "tolist"):  # a numpy array (a Parquet list cell read through pandas)
            value = value.tolist()
        if not isinstance(value, (list, tuple)):
            value = [value]
        return [self.column(item, line) for item in value]


def _tsv_rows(handle: IO[str], parser: _LabelParser) -> Iterator[tuple[str, str | None, list[int]]]:
    reader = csv.reader(handle, delimiter="\t")
    for fields in reader:
        line = reader.line_num
        if not fields:
            continue
        if len(fields) < 2:
            raise DatasetError(
                f"{parser.file}, line {line}: expected tab-separated text, label ids and id (GoEmotions format), "
                f"got {len(fields)} field(s): {fields!r:.120}. For a file with a header use the .csv or .jsonl format."
            )
        text, label_field = fields[0], fields[1]
        yield text, fields[2] if len(fields) > 2 else None, parser.columns(label_field, line)


def _csv_rows(
    handle: IO[str], parser: _LabelParser, text_column: str, labels_column: str, id_column: str
) -> Iterator[tuple[str, str | None, list[int]]]:
    reader = csv.DictReader(handle)
    header = reader.fieldnames or []
    for column in (text_column, labels_column):
        if column not in header:
            raise DatasetError(
                f"{parser.file}: no column {column!r} in the header {header!r}. Name the columns with "
                "text_column= / labels_column=.",
                options=("text_column", "labels_column"),
            )
    for record in reader:
        line = reader.line_num
        text = record.get(text_column)
        if text is None:
            raise DatasetError(f"{parser.file}, line {line}: the row has no {text_column!r} value")
        yield text, record.get(id_column) or None, parser.columns(record.get(labels_column), line)


def _jsonl_rows(
    handle: IO[str], parser: _LabelParser, text_column: str, labels_column: str, id_column: str
) -> Iterator[tuple[str, str | None, list[int]]]:
    for line, raw in enumerate(handle, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            raise DatasetError(f"{parser.file}, line {line}: not valid JSON ({error}): {raw.strip()!r:.120}") from None
        if not isinstance(record, dict):
            raise DatasetError(f"{parser.file}, line {line}: expected a JSON object, got {record!r:.120}")
        for key in (text_column, labels_column):
            if key not in record:
                raise DatasetError(
                    f"{parser.file}, line {line}: no key {key!r} in {sorted(record)!r}. Example line: "
                    f'{{"{text_column}": "Thanks a lot!", "{labels_column}": ["gratitude"], "{id_column}": "a1"}}'
                )
        text = record[text_column]
        if not isinstance(text, str):
            raise DatasetError(f"{parser.file}, line {line}: {text_column!r} must be a string, got {text!r:.80}")
        identifier = record.get(id_column)
        yield text, None if identifier is None else str(identifier), parser.columns(record[labels_column], line)


def _parquet_rows(
    path: Path, parser: _LabelParser, text_column: str, labels_column: str, id_column: str
) -> Iterator[tuple[str, str | None, list[int]]]:
    from ..extras import require_pyarrow

    parquet = require_pyarrow("reading labelled data from Parquet").parquet
    names = parquet.ParquetFile(path).schema_arrow.names
    for column in (text_column, labels_column):
        if column not in names:
            raise DatasetError(
                f"{parser.file}: no column {column!r} among {names!r}. Name the columns with text_column= / labels_column=.",
                options=("text_column", "labels_column"),
            )
    columns = [text_column, labels_column] + ([id_column] if id_column in names else [])
    table = parquet.read_table(path, columns=columns).to_pydict()
    identifiers = table.get(id_column, [None] * len(table[text_column]))
    for row, (text, labels, identifier) in enumerate(zip(table[text_column], table[labels_column], identifiers, strict=True)):
        line = row + 1  # rows counted from 1, as lines are
        if not isinstance(text, str):
            raise DatasetError(f"{parser.file}, row {line}: {text_column!r} must be a string, got {text!r:.80}")
        yield text, None if identifier is None else str(identifier), parser.columns(labels, line)


def _docbin_rows(file: Path, parser: _LabelParser) -> Iterator[tuple[str, str | None, list[int]]]:
    from .conversion import docbin_records  # spaCy loads only for .spacy files

    for number, (text, identifier, names) in enumerate(docbin_records(file), start=1):
        yield text, identifier, [parser.column(name, number) for name in names]


def read_dataset(
    path: str | os.PathLike[str],
    *,
    labels: Sequence[str] | None = GOEMOTIONS_LABELS,
    text_column: str = "text",
    labels_column: str = "labels",
    id_column: str = "id",
    format: str | None = None,
) -> LabelledData:
    """Read labelled texts from a GoEmotions TSV, a CSV, a JSONL, a Parquet or a ``.spacy`` file.

    Args:
        path: the file (``.tsv``, ``.csv``, ``.jsonl``, each optionally ``.gz``, or ``.parquet``).
        labels: the label set; numeric ids index this sequence (GoEmotions ids by default). None: the
            names the data uses, sorted (a new label set).
        text_column: the column (CSV) or key (JSONL) of the texts.
        labels_column: the column or key of the labels (names or ids; a list, or comma-separated).
        id_column: the column or key of the ids (row numbers where absent).
        format: ``"tsv"``, ``"csv"``, ``"jsonl"``, ``"parquet"`` or ``"spacy"`` to override the extension.

    Returns:
        :class:`LabelledData` in file order.

    Raises:
        DatasetError: missing file or column, unknown label name or id (with the line number).

    Examples:
        >>> data = read_dataset("dev.tsv")                        # doctest: +SKIP
        >>> len(data), data.gold.shape                            # doctest: +SKIP
        (5426, (5426, 28))
    """
    file = Path(path)
    if not file.is_file():
        raise DatasetError(f"Data file {str(file)!r} does not exist.")
    fmt = detect_format(file) if format is None else format
    if fmt not in FORMATS.values():
        raise DatasetError(f"format must be one of {sorted(set(FORMATS.values()))}, got {fmt!r}")
    parser = _LabelParser(labels, str(file))
    texts: list[str] = []
    ids: list[str] = []
    rows: list[list[int]] = []
    try:
        with contextlib.ExitStack() as stack:
            if fmt == "parquet":
                records = _parquet_rows(file, parser, text_column, labels_column, id_column)
            elif fmt == "spacy":
                records = _docbin_rows(file, parser)
            else:
                handle = stack.enter_context(_open_text(file))
                if fmt == "tsv":
                    records = _tsv_rows(handle, parser)
                elif fmt == "csv":
                    records = _csv_rows(handle, parser, text_column, labels_column, id_column)
                else:
                    records = _jsonl_rows(handle, parser, text_column, labels_column, id_column)
            for text, identifier, columns in records:
                ids.append(str(len(texts)) if identifier is None else identifier)
                texts.append(text)
                rows.append(columns)
    except UnicodeDecodeError as error:
        raise DatasetError(f"{str(file)!r} is not UTF-8 text: {error}") from None
    if not parser.labels:
        raise DatasetError(f"{str(file)!r} names no label at all: a label set cannot come from it. Pass labels=[...].")
    # An open set is sorted, so that the same labels give the same columns whatever the row order.
    order = (
        sorted(range(len(parser.labels)), key=lambda i: parser.labels[i]) if not parser.fixed else list(range(len(parser.labels)))
    )
    labels_out = tuple(parser.labels[i] for i in order)
    position = {old: new for new, old in enumerate(order)}
    gold = np.zeros((len(texts), len(labels_out)), dtype=np.uint8)
    for row, columns in enumerate(rows):
        gold[row, [position[column] for column in columns]] = 1
    return LabelledData(texts, ids, gold, labels_out)
