"""Where scored chunks go: CSV/TSV/JSONL files (optionally gzipped), stdout, or Parquet; each resumable but stdout."""

from __future__ import annotations

import gzip
import os
import sys
from abc import ABC, abstractmethod
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from ..core.text import repair_text
from ..errors import InputError
from ..extras import require_pyarrow
from .atomic import fsync_dir
from .formats import FileFormat, OutputPaths
from .rendering import TextRenderer


def open_sink(
    paths: OutputPaths,
    fmt: FileFormat,
    gz: bool,
    *,
    to_stdout: bool,
    kept: list[str],
    float_columns: list[str],
    list_columns: list[str],
    kept_types: dict[str, Any] | None,
    state: dict[str, Any] | None,
) -> Sink:
    """The sink for an output format, started afresh (``state=None``) or from a checkpoint's state."""
    sink: Sink
    if fmt == "parquet":
        sink = ParquetSink(paths, kept, float_columns, list_columns, kept_types)
    else:
        renderer = TextRenderer(fmt, kept, float_columns, list_columns)
        sink = StdoutSink(renderer) if to_stdout else TextFileSink(paths, renderer, gz)
    sink.start(state)
    return sink


class Sink(ABC):
    """Where scored chunks go. ``state()`` is what the checkpoint stores to resume.

    The order of calls: ``start`` (with the saved state when resuming), ``write`` per chunk,
    ``state`` after each, then ``finish`` (publishes OUTPUT) and ``cleanup``; ``close`` always.
    """

    @abstractmethod
    def start(self, state: dict[str, Any] | None) -> None:
        """Begin a new output, or continue the one ``state`` describes (dropping what came after it)."""

    @abstractmethod
    def write(self, columns: dict[str, Any], scores: npt.NDArray[np.float32], lists: list[list[list[str]]], index: int) -> None:
        """Add chunk ``index`` (0-based): its kept columns, scores and selected labels, durably."""

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """What a checkpoint stores to resume after the chunks written so far."""

    @abstractmethod
    def finish(self, chunks: int) -> None:
        """Publish OUTPUT, complete (``chunks`` written in all)."""

    def cleanup(self) -> None:  # noqa: B027 (a default: most sinks leave nothing behind)
        """Remove what only served to resume, once OUTPUT is published and the checkpoint gone."""

    def close(self) -> None:  # noqa: B027 (a default: not every sink holds a handle)
        """Release handles without finishing (the partial output stays for a resume)."""


class TextFileSink(Sink):
    """CSV/TSV/JSONL appended to OUTPUT.partial; gzip output is one gzip member per chunk, so a
    truncated file can be continued (readers decompress concatenated members as one stream)."""

    def __init__(self, paths: OutputPaths, renderer: TextRenderer, gz: bool) -> None:
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

    def write(self, columns: dict[str, Any], scores: npt.NDArray[np.float32], lists: list[list[list[str]]], index: int) -> None:
        self._append(self.renderer.encode(columns, scores, lists, header=index == 0))

    def state(self) -> dict[str, Any]:
        return {"bytes": self.bytes}

    def finish(self, chunks: int) -> None:
        assert self._handle is not None
        if chunks == 0:  # no rows at all: still a valid file with its header
            self._append(self.renderer.header().encode("utf-8"))
        self._handle.close()
        self._handle = None
        os.replace(self.paths.partial, self.paths.output)
        fsync_dir(self.paths.output.parent)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class StdoutSink(Sink):
    """JSONL to stdout, flushed per chunk; not atomic and not resumable."""

    def __init__(self, renderer: TextRenderer) -> None:
        self.renderer = renderer

    def start(self, state: dict[str, Any] | None) -> None:
        pass

    def write(self, columns: dict[str, Any], scores: npt.NDArray[np.float32], lists: list[list[list[str]]], index: int) -> None:
        sys.stdout.buffer.write(self.renderer.encode(columns, scores, lists, header=False))
        sys.stdout.buffer.flush()

    def state(self) -> dict[str, Any]:
        return {}

    def finish(self, chunks: int) -> None:
        sys.stdout.buffer.flush()


class ParquetSink(Sink):
    """Parquet: each chunk is written to its own part file (atomically) in OUTPUT.parts/; at the end
    the parts are copied, one row group per chunk, into OUTPUT.partial, which replaces OUTPUT.

    A Parquet file's footer is written last, so a half-written Parquet file cannot be continued:
    the parts are what makes a Parquet run resumable, at the cost of writing the data twice.
    """

    def __init__(
        self,
        paths: OutputPaths,
        kept: list[str],
        float_columns: list[str],
        list_columns: list[str],
        kept_types: dict[str, Any] | None,
    ) -> None:
        self.pa = require_pyarrow("Writing Parquet files")
        self.paths, self.kept, self.float_columns, self.list_columns = paths, kept, float_columns, list_columns
        self.kept_types = kept_types  # the reader's (Parquet, CSV), or None: inferred from the first chunk (JSONL)
        self._schema: Any = None
        self._parts = 0

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

        done = self._parts = int(state["parts"])
        for old in self.paths.parts.glob("part-*.parquet*"):
            if old.suffix != ".parquet" or int(old.stem.split("-")[1]) >= done:
                old.unlink()  # parts of chunks after the checkpoint were never completed
        missing = [index for index in range(done) if not self._part(index).is_file()]
        if missing:
            raise InputError(
                f"Part file(s) {missing[:5]} of {str(self.paths.parts)!r} are missing; the run cannot be resumed. "
                f"Delete {str(self.paths.checkpoint)!r} to start over."
            )
        if done:
            self._schema = pq.read_schema(self._part(0))

    def _table(self, columns: dict[str, Any], scores: npt.NDArray[np.float32], lists: list[list[list[str]]]) -> Any:
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
        arrays += [pa.array(values, type=pa.list_(pa.string())) for values in lists]
        table = pa.Table.from_arrays(arrays, names=[*self.kept, *self.float_columns, *self.list_columns])
        if self._schema is None:
            self._schema = table.schema
        return table.cast(self._schema)

    def write(self, columns: dict[str, Any], scores: npt.NDArray[np.float32], lists: list[list[list[str]]], index: int) -> None:
        import pyarrow.parquet as pq

        try:
            table = self._table(columns, scores, lists)
        except (self.pa.ArrowInvalid, self.pa.ArrowTypeError) as error:
            raise InputError(
                f"A kept column changed type in chunk {index + 1} and cannot go into one Parquet column ({error}). "
                "Leave it out of keep_columns, or write CSV/JSONL.",
                options=("keep_columns",),
            ) from error
        part = self._part(index)
        tmp = part.with_name(part.name + ".tmp")
        pq.write_table(table, tmp, row_group_size=max(1, table.num_rows))
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, part)
        self._parts = index + 1

    def state(self) -> dict[str, Any]:
        return {"parts": self._parts}

    def finish(self, chunks: int) -> None:
        import pyarrow.parquet as pq

        pa = self.pa
        # The schema as read back from a part (Parquet names a list's field "element", Arrow "item"):
        # the same in an uninterrupted and in a resumed run, whose parts come from two processes.
        schema = pq.read_schema(self._part(0)) if chunks else None
        if schema is None:  # no rows: the schema from the input's columns
            fields = [pa.field(name, (self.kept_types or {}).get(name) or pa.string()) for name in self.kept]
            fields += [pa.field(name, pa.float32()) for name in self.float_columns]
            fields += [pa.field(name, pa.list_(pa.string())) for name in self.list_columns]
            schema = pa.schema(fields)
        with pq.ParquetWriter(self.paths.partial, schema) as writer:
            for index in range(chunks):
                table = pq.read_table(self._part(index))
                if table.num_rows:
                    writer.write_table(table, row_group_size=table.num_rows)
        with open(self.paths.partial, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(self.paths.partial, self.paths.output)
        fsync_dir(self.paths.output.parent)

    def cleanup(self) -> None:
        for part in self.paths.parts.glob("part-*.parquet*"):
            part.unlink()
        self.paths.parts.rmdir()
