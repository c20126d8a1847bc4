"""Inputs of many files read as one: a folder of parts (Spark, Dask, Ray; Hive-style ``key=value/`` folders) or a glob.

- :func:`find_parts` lists the data files of a folder (recursively) or of a glob (``**`` allowed), ordered by
  their path relative to the folder / the glob's root, folder by folder, with runs of digits compared as
  numbers (Dask's ``part.2.parquet`` before ``part.10.parquet``; Spark's zero-padded names sort as they read).
  Names starting with ``_`` or ``.`` are skipped, files and folders alike: ``_SUCCESS``, ``_metadata``,
  ``.part-00000.crc``, Spark's ``_temporary/``. Every other file must have a known extension, so no data is
  skipped silently.
- :func:`survey_parts` opens every part once before a row is scored: each must read the first part's columns
  (the same names; for Parquet parts the same Arrow types of the columns read), and its size gives the
  progress total.
- :class:`MultiPartReader` reads the parts one after the other as one :class:`~.readers.Reader`. Its position
  is ``{"part": i, "part_rows": rows of part i done, **the part reader's position}``, and a chunk never holds
  rows of two parts: chunk boundaries do not depend on where a run was stopped, so a resumed output is
  byte-identical to an uninterrupted one.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import PurePath
from typing import Any, Literal

from ..errors import ConfigurationError, InputError, InputNotFoundError
from .formats import FileFormat, detect_format
from .readers import Chunk, Position, Reader

PartsKind = Literal["folder", "glob", "file"]
_DIGITS = re.compile(r"([0-9]+)")


@dataclass(frozen=True)
class Part:
    """One input file: its path, its path relative to the input's root (``/``-separated) and its format."""

    path: str
    relative: str
    format: FileFormat
    gz: bool


@dataclass(frozen=True)
class PartSet:
    """The files of a folder or glob input, in reading order (``kind="file"``: one file, for a folder output)."""

    root: str
    kind: PartsKind
    pattern: str | None
    parts: tuple[Part, ...]

    def describe(self) -> dict[str, Any]:
        """What a checkpoint's fingerprint holds for this input: the root, and every part's size, mtime and
        format by relative path (keyed so that a refused resume names the part that was added or changed)."""
        files = {}
        for part in self.parts:
            stat = os.stat(part.path)
            files[part.relative] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "format": part.format, "gzip": part.gz}
        return {"root": os.path.realpath(self.root), "kind": self.kind, "pattern": self.pattern, "parts": files}

    def would_read(self, path: str | os.PathLike[str]) -> bool:
        """Whether a later run would read ``path`` as a part of this input (an output must not be one)."""
        real = os.path.realpath(path)
        if self.kind == "file":
            return real == os.path.realpath(self.parts[0].path)
        relative = os.path.relpath(real, os.path.realpath(self.root))
        if relative == os.pardir or relative.startswith(os.pardir + os.sep):
            return False
        names = PurePath(relative).parts
        if any(_ignored(name) for name in names):
            return False
        if self.kind == "folder" or self.pattern is None:
            return True
        pattern = PurePath(self.pattern).parts[len(PurePath(self.root).parts) if self.root != os.curdir else 0 :]
        # A glob that matches a folder reads everything in it: any leading part of the path may match.
        return any(_glob_match(pattern, names[:end]) for end in range(1, len(names) + 1))


def is_part_set(path: str) -> bool:
    """Whether ``path`` names several files: a folder, or a glob pattern that is not itself a file's name."""
    return not os.path.isfile(path) and (os.path.isdir(path) or glob.has_magic(path))


def find_parts(path: str, input_format: str | None = None) -> PartSet:
    """The data files of a folder or glob (or the one file ``path``), in reading order, with their formats.

    Raises:
        InputNotFoundError: for a folder or glob without a data file.
        ConfigurationError: for a file whose format cannot be told from its extension (pass
            ``input_format`` to read every part as that format).

    Examples:
        >>> [part.relative for part in find_parts("scored/").parts]  # doctest: +SKIP
        ['date=2024-01-01/part-00000-3f2a.snappy.parquet', 'date=2024-01-02/part-00000-3f2a.snappy.parquet']
    """
    kind: PartsKind
    if os.path.isdir(path):
        kind, root, pattern = "folder", path, None
        found = {relative: os.path.join(root, relative) for relative in _walk(root)}
        where = f"the files of the input folder {path!r}"
    elif is_part_set(path):
        kind, root, pattern = "glob", _glob_root(path), path
        found = _glob(path, root)
        where = f"the files {path!r} matches"
    else:
        kind, root, pattern = "file", os.path.dirname(path) or os.curdir, None
        found = {os.path.basename(path): path}
        where = ""
    if not found:
        detail = "is empty" if kind == "folder" else "matches no file"
        raise InputNotFoundError(
            f"The input {path!r} {detail} (names starting with '_' or '.' are skipped: _SUCCESS, _metadata, .crc). "
            "Check the path; quote a glob so that the shell does not expand it, e.g. 'data/**/*.parquet'."
        )
    parts = []
    for relative in sorted(found, key=_natural_key):
        part_path = found[relative]
        try:
            fmt, gz = detect_format(part_path, input_format, option="input_format")
        except ConfigurationError as error:
            if not where:
                raise
            raise ConfigurationError(
                f"{error} It is one of {where}, which are read as one input: move it out, or rename it to start "
                "with '_' to have it skipped.",
                options=error.options,
            ) from None
        parts.append(Part(part_path, relative, fmt, gz))
    return PartSet(root, kind, pattern, tuple(parts))


def _ignored(name: str) -> bool:
    return name.startswith(("_", "."))


def _raise(error: OSError) -> None:
    raise error  # an unreadable sub-folder is an error, not a folder of parts silently left out


def _walk(root: str) -> Iterator[str]:
    """The data files under ``root`` as ``/``-separated relative paths (skipping ``_`` and ``.`` names)."""
    for folder, folders, names in os.walk(root, onerror=_raise):
        folders[:] = [name for name in folders if not _ignored(name)]
        base = os.path.relpath(folder, root)
        for name in names:
            if not _ignored(name):
                yield PurePath(name if base == os.curdir else os.path.join(base, name)).as_posix()


def _glob_root(pattern: str) -> str:
    """The pattern's leading folders without wildcards: what the parts' relative paths start from."""
    fixed: list[str] = []
    for name in PurePath(pattern).parts:
        if glob.has_magic(name):
            break
        fixed.append(name)
    return os.path.join(*fixed) if fixed else os.curdir


def _glob(pattern: str, root: str) -> dict[str, str]:
    """The data files a glob matches (those under a matched folder included), by path relative to ``root``."""
    found: dict[str, str] = {}
    for match in glob.glob(pattern, recursive=True):
        relative = os.path.relpath(match, root)
        names = () if relative == os.curdir else PurePath(relative).parts
        if any(_ignored(name) for name in names):
            continue
        if os.path.isdir(match):
            for inner in _walk(match):
                key = PurePath(*names, inner).as_posix()
                found[key] = os.path.join(root, key)
        elif os.path.isfile(match):
            found[PurePath(relative).as_posix()] = match
    return found


def _glob_match(pattern: Sequence[str], names: Sequence[str]) -> bool:
    """Whether path components match glob components (``**``: any number of folders), as glob.glob does."""
    if not pattern:
        return not names
    if pattern[0] == "**":
        return any(_glob_match(pattern[1:], names[start:]) for start in range(len(names) + 1))
    return bool(names) and fnmatchcase(names[0], pattern[0]) and _glob_match(pattern[1:], names[1:])


def _natural_key(relative: str) -> tuple[tuple[tuple[str | int, ...], ...], str]:
    """Sort by folder, then name, with digit runs as numbers; ties (``01`` and ``1``) by the plain string."""
    names = relative.split("/")
    key = tuple(tuple(int(piece) if index % 2 else piece for index, piece in enumerate(_DIGITS.split(name))) for name in names)
    return key, relative


@dataclass
class PartSurvey:
    """What every part's first look found: the columns to read, each part's size, and the progress unit.

    ``totals`` are in each part reader's own unit (rows for Parquet, bytes on disk for text formats);
    ``unit`` is that unit where all parts share it, else ``"row"`` (then :attr:`total` is None).
    """

    kept: list[str]
    totals: list[int | None]
    units: list[str]
    first_types: dict[str, Any] | None

    @property
    def unit(self) -> str:
        return self.units[0] if len(set(self.units)) == 1 else "row"

    @property
    def total(self) -> int | None:
        if len(set(self.units)) != 1 or any(total is None for total in self.totals):
            return None
        return sum(total or 0 for total in self.totals)

    def done_before(self, index: int) -> int:
        """How much of the input the parts before ``index`` hold, in :attr:`unit` (a shared unit only)."""
        return sum(total or 0 for total in self.totals[:index])


def survey_parts(parts: Sequence[Part], open_part: Callable[[Part], Reader]) -> PartSurvey:
    """Open every part once: its columns must be the first part's; its size counts towards the total.

    The reference for the names is the first part whose columns are known (a JSONL part read with every
    column and without a record has none); for the types, the first Parquet part.

    Raises:
        InputError: naming the first part whose columns differ, and how (or the part's own reading error).
    """
    kept: tuple[Part, list[str]] | None = None
    typed: tuple[Part, dict[str, Any]] | None = None
    totals: list[int | None] = []
    units: list[str] = []
    first_types: dict[str, Any] | None = None
    for index, part in enumerate(parts):
        reader = open_part(part)
        try:
            columns = _known_columns(reader)
            types = reader.declared_types()
            totals.append(reader.total)
            units.append(reader.unit)
        finally:
            reader.close()
        if index == 0:
            first_types = types
        if columns is not None:
            if kept is None:
                kept = (part, columns)
            _check_same(part, kept[0], _name_differences(columns, kept[1]))
        if types is not None:
            if typed is None:
                typed = (part, types)
            _check_same(part, typed[0], _type_differences(types, typed[1]))
    return PartSurvey(kept[1] if kept is not None else [], totals, units, first_types)


def _known_columns(reader: Reader) -> list[str] | None:
    """The part's kept columns; JSONL read with every column knows them at its first record, so read that."""
    if not reader.kept:
        for _ in reader.chunks(1):
            if reader.kept:
                break
    return list(reader.kept) or None


def _name_differences(columns: list[str], first: list[str]) -> list[str]:
    found = []
    missing = [name for name in first if name not in columns]
    extra = [name for name in columns if name not in first]
    if missing:
        found.append(f"it lacks column(s) {missing}")
    if extra:
        found.append(f"it has column(s) {extra} that the first part lacks")
    return found


def _type_differences(types: dict[str, Any], first: dict[str, Any]) -> list[str]:
    return [
        f"column {name!r} is {types[name]} here, {first[name]} there"
        for name in first
        if name in types and types[name] != first[name]
    ]


def _check_same(part: Part, first: Part, differences: list[str]) -> None:
    if differences:
        raise InputError(
            f"{part.path}: its columns differ from the first part's ({first.path}): {'; '.join(differences)}. The parts of a "
            "folder or glob are read as one input, so they need the same columns: move this part out, select the parts "
            "with a glob, or name the columns to read with keep_columns=[...].",
            options=("keep_columns",),
        )


class MultiPartReader(Reader):
    """The parts of a :class:`PartSet` read one after the other, one part reader open at a time.

    Args:
        parts: the parts, in reading order.
        open_part: opens one part's reader (with the job's text column, kept columns and bad-line policy).
        survey: :func:`survey_parts` of the same parts.
    """

    def __init__(self, parts: Sequence[Part], open_part: Callable[[Part], Reader], survey: PartSurvey) -> None:
        self.parts, self._open_part, self.survey = list(parts), open_part, survey
        self.kept = list(survey.kept)
        self.unit = survey.unit
        self._index = 0
        self._part_rows = 0  # records of the current part done (what its reader's resume() needs)
        self._rows = 0  # records done over every part: the progress of parts of mixed units
        self._reader = open_part(self.parts[0])

    @property
    def total(self) -> int | None:
        return self.survey.total

    def done(self) -> int:
        if len(set(self.survey.units)) != 1:
            return self._rows
        return self.survey.done_before(self._index) + self._reader.done()

    def start_position(self) -> Position:
        return {"part": 0, "part_rows": 0, **self._reader.start_position()}

    def resume(self, position: Position, kept: list[str], rows_done: int) -> None:
        inner = dict(position)
        index, part_rows = inner.pop("part"), inner.pop("part_rows")
        self.kept = list(kept)
        self._switch(index)
        self._reader.resume(inner, kept, part_rows)
        self._part_rows, self._rows = part_rows, rows_done

    def arrow_types(self) -> dict[str, Any] | None:
        # The first part's where it declares them (Parquet), else what the part being read says (text: strings).
        first = self.survey.first_types
        return {name: first[name] for name in self.kept} if first is not None else self._reader.arrow_types()

    def chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        # A chunk without rows (a part's blank or skipped lines at its end) is held and counted with the next
        # chunk: a first chunk without rows would otherwise fix an output's columns without their types.
        held: Chunk | None = None
        while True:
            for chunk in self._reader.chunks(chunk_rows):
                self._part_rows += len(chunk.texts)
                self._rows += len(chunk.texts)
                # A JSONL part without a record has no columns of its own: its (empty) chunks get the input's.
                columns = {name: chunk.columns.get(name, []) for name in self.kept}
                end = {"part": self._index, "part_rows": self._part_rows, **chunk.end}
                counted = (chunk.skipped, chunk.replaced, chunk.blank_lines)
                if held is not None:
                    counted = (held.skipped + chunk.skipped, held.replaced + chunk.replaced, held.blank_lines + chunk.blank_lines)
                held = Chunk(chunk.texts, columns, end, *counted)
                if held.texts:
                    yield held
                    held = None
            if self._index + 1 >= len(self.parts):
                break
            self._switch(self._index + 1)
        if held is not None:
            yield held

    def _switch(self, index: int) -> None:
        if index != self._index:
            self._reader.close()
            self._index, self._part_rows = index, 0
            self._reader = self._open_part(self.parts[index])

    def close(self) -> None:
        self._reader.close()
