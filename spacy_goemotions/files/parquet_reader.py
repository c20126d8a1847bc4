"""The Parquet reader: record batches of a Parquet file, re-cut into chunks of exactly ``chunk_rows`` rows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import InputError
from ..extras import require_pyarrow
from .readers import Chunk, Position, Reader, unique


class ParquetReader(Reader):
    """Record batches of a Parquet file, re-cut into chunks of exactly ``chunk_rows`` rows."""

    unit = "row"

    def __init__(self, path: str, text_column: str, keep: list[str] | None) -> None:
        require_pyarrow("Reading Parquet files")
        import pyarrow.parquet as pq

        self.path = path
        self._file = pq.ParquetFile(path)
        try:
            self._check(text_column, keep)
        except BaseException:
            self._file.close()
            raise
        self.text_column = text_column
        self._row = 0

    def _check(self, text_column: str, keep: list[str] | None) -> None:
        pa = require_pyarrow("Reading Parquet files")
        path = self.path
        schema = self._file.schema_arrow
        names = list(schema.names)
        self.kept = names if keep is None else keep
        unknown = [name for name in unique([text_column, *self.kept]) if name not in names]
        if unknown:
            raise InputError(
                f"{path}: column(s) {unknown} not found. Its columns: {names}",
                options=("text_column", "keep_columns", "id_column"),
            )
        text_type = schema.field(text_column).type
        if pa.types.is_dictionary(text_type):
            text_type = text_type.value_type
        if not (pa.types.is_string(text_type) or pa.types.is_large_string(text_type) or pa.types.is_string_view(text_type)):
            raise InputError(
                f"{path}: the text column {text_column!r} has type {schema.field(text_column).type}, not string. "
                "Choose a string column as text_column=.",
                options=("text_column",),
            )

    @property
    def total(self) -> int:
        return int(self._file.metadata.num_rows)

    def done(self) -> int:
        return self._row

    def start_position(self) -> Position:
        return {"row": 0}

    def resume(self, position: Position, kept: list[str], rows_done: int) -> None:
        self._row = position["row"]

    def arrow_types(self) -> dict[str, Any] | None:
        return {name: self._file.schema_arrow.field(name).type for name in self.kept}

    def declared_types(self) -> dict[str, Any] | None:
        schema = self._file.schema_arrow
        return {name: schema.field(name).type for name in unique([self.text_column, *self.kept])}

    def chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        pa = require_pyarrow("Reading Parquet files")
        metadata = self._file.metadata
        group, group_start = 0, 0
        while group < metadata.num_row_groups and group_start + metadata.row_group(group).num_rows <= self._row:
            group_start += metadata.row_group(group).num_rows
            group += 1
        columns = unique([self.text_column, *self.kept])
        skip = self._row - group_start
        pending: list[Any] = []
        pending_rows = 0
        batches = self._file.iter_batches(
            batch_size=min(chunk_rows, 65_536),
            row_groups=range(group, metadata.num_row_groups),
            columns=columns,
            use_threads=True,
        )
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
        texts, replaced = arrow_texts(table.column(self.text_column))
        self._row += table.num_rows
        return Chunk(texts, {name: table.column(name) for name in self.kept}, {"row": self._row}, replaced=replaced)

    def close(self) -> None:
        self._file.close()


def arrow_texts(column: Any) -> tuple[list[str | None], int]:
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
