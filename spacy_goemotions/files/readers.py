"""The reader interface: an input file as chunks of rows, with positions to resume from.

Implementations: :mod:`.text_readers` (CSV, TSV, JSONL), :mod:`.parquet_reader`, and :mod:`.parts` (the
files of a folder or glob, one after the other). A reader yields :class:`Chunk` objects of at most
``chunk_rows`` rows, each with the input position where the next chunk starts. A run saves that
position in its checkpoint, and a resumed run hands it back through :meth:`Reader.resume`. Memory is
bounded by the chunk size.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

BadLinePolicy = Literal["error", "skip"]
#: A place in the input: byte offset and line for text formats, a row number for Parquet.
Position = dict[str, int]


@dataclass
class Chunk:
    """Rows read from the input: texts (None = missing), kept columns, and where the next chunk starts."""

    texts: list[str | None]
    columns: dict[str, Any]
    end: Position
    skipped: int = 0
    replaced: int = 0
    blank_lines: int = 0


class Reader(ABC):
    """A chunked input.

    Attributes:
        kept: the input columns copied to the output, in order (JSONL with every column: known once
            the first record is read).
        unit: what :meth:`done` and :attr:`total` count, for the progress bar: ``"B"`` or ``"row"``.
    """

    unit = "B"
    kept: list[str]

    @property
    @abstractmethod
    def total(self) -> int | None:
        """The size of the input in :attr:`unit` (None: unknown, e.g. stdin)."""

    @abstractmethod
    def done(self) -> int:
        """How much of the input has been read, in :attr:`unit`."""

    @abstractmethod
    def start_position(self) -> Position:
        """Where the first row starts (what a checkpoint holds before any chunk is done)."""

    @abstractmethod
    def resume(self, position: Position, kept: list[str], rows_done: int) -> None:
        """Continue at ``position``, with the ``kept`` columns an earlier run chose after ``rows_done`` rows."""

    @abstractmethod
    def chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        """The rest of the input, ``chunk_rows`` rows at a time."""

    def arrow_types(self) -> dict[str, Any] | None:
        """The Arrow types of the kept columns where the format fixes them (a Parquet sink keeps them);
        None where they come from the values (JSONL)."""
        return None

    def declared_types(self) -> dict[str, Any] | None:
        """The Arrow types the file itself declares for every column read (the text column and the kept
        ones): Parquet's schema; None for text formats. Parts of one input must agree on them."""
        return None

    @abstractmethod
    def close(self) -> None:
        """Release the file."""


def unique(names: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(names))
