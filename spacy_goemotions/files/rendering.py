"""Scored chunks as CSV, TSV or JSONL text: exact float32 scores, minimal quoting, one line per row."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..core.text import repair_text
from .formats import DELIMITERS, FileFormat, has_pyarrow


def float_strings_backend() -> str:
    """Which float formatter the text writers use ("arrow" when pyarrow is installed, else "numpy")."""
    return "arrow" if has_pyarrow() else "numpy"


def joined_scores(scores: npt.NDArray[np.float32], pieces: Sequence[str], missing: str) -> list[str]:
    """Per row: ``pieces[0] + s0 + pieces[1] + s1 + ...`` with each score in its shortest float32 form.

    NaN becomes ``missing``. pyarrow formats floats in C++ (~10x faster than numpy's ``astype(str)``);
    the two differ in notation ("1" vs "1.0"), which is why the backend is part of a run's fingerprint.
    """
    rows, width = scores.shape
    if rows == 0:
        return []
    if has_pyarrow():
        import pyarrow as pa
        import pyarrow.compute as pc

        values = pa.array(np.ascontiguousarray(scores.T).ravel())
        strings = pc.if_else(pc.is_nan(values), pa.scalar(missing), pc.cast(values, pa.string()))
        arguments: list[Any] = []
        for column in range(width):
            arguments += [pa.scalar(pieces[column]), strings.slice(column * rows, rows)]
        return list(pc.binary_join_element_wise(*arguments, "").to_pylist())
    strings_np = scores.astype(str)
    strings_np[np.isnan(scores)] = missing
    return ["".join(piece + value for piece, value in zip(pieces, row, strict=True)) for row in strings_np.tolist()]


def _cell_text(value: Any) -> str:
    """A kept value as CSV text: missing -> empty; numbers, booleans and nested values as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, (bool, int, float, list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN/Infinity
    return value


class TextRenderer:
    """Renders chunks as CSV/TSV/JSONL text: the kept columns, the float columns, then the list columns.

    CSV/TSV: minimal RFC 4180 quoting, ``\\n`` line ends, a list joined by ``,``; JSONL: one object
    per line with real lists."""

    def __init__(self, fmt: FileFormat, kept: list[str], float_columns: list[str], list_columns: list[str]) -> None:
        self.fmt = fmt
        self.kept = kept
        self.float_columns = float_columns
        self.list_columns = list_columns
        if fmt == "jsonl":
            names = [json.dumps(name, ensure_ascii=False) for name in float_columns]
            self._pieces = [f"{', ' if i else ''}{name}: " for i, name in enumerate(names)]
            self._list_keys = [json.dumps(name, ensure_ascii=False) for name in list_columns]
        else:
            self.delimiter = DELIMITERS[fmt]
            self._needs_quotes = re.compile(f'[{re.escape(self.delimiter)}"\r\n]')
            self._pieces = ["", *[self.delimiter] * (len(float_columns) - 1)]

    def _quote(self, value: str) -> str:
        if self._needs_quotes.search(value):
            return '"' + value.replace('"', '""') + '"'
        return value

    def header(self) -> str:
        if self.fmt == "jsonl":
            return ""
        return self.delimiter.join(self._quote(name) for name in [*self.kept, *self.float_columns, *self.list_columns]) + "\n"

    def render(
        self, columns: dict[str, Any], scores: npt.NDArray[np.float32], lists: list[list[list[str]]], ascii_only: bool = False
    ) -> str:
        """``scores``: ``(rows, float columns)``; ``lists``: per list column, one list of names per row."""
        kept_values = [_as_list(columns[name]) for name in self.kept]
        if self.fmt == "jsonl":
            joined = joined_scores(scores, self._pieces, "null")
            keys = [json.dumps(name, ensure_ascii=ascii_only) + ": " for name in self.kept]
            lines = []
            for row, score_text in enumerate(joined):
                kept = "".join(
                    key + json.dumps(_json_value(values[row]), ensure_ascii=ascii_only, default=str) + ", "
                    for key, values in zip(keys, kept_values, strict=True)
                )
                named = "".join(
                    f", {key}: {json.dumps(values[row], ensure_ascii=ascii_only)}"
                    for key, values in zip(self._list_keys, lists, strict=True)
                )
                lines.append(f"{{{kept}{score_text}{named}}}\n")
            return "".join(lines)
        joined = joined_scores(scores, self._pieces, "")
        quote, delimiter = self._quote, self.delimiter
        lines = []
        for row, score_text in enumerate(joined):
            kept = "".join(quote(_cell_text(values[row])) + delimiter for values in kept_values)
            named = "".join(delimiter + quote(",".join(values[row])) for values in lists)
            lines.append(f"{kept}{score_text}{named}\n")
        return "".join(lines)

    def encode(
        self, columns: dict[str, Any], scores: npt.NDArray[np.float32], lists: list[list[list[str]]], header: bool
    ) -> bytes:
        text = (self.header() if header else "") + self.render(columns, scores, lists)
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            # Lone surrogates in kept values (from JSON input): JSON escapes them losslessly; CSV can
            # only replace them (U+FFFD).
            if self.fmt == "jsonl":
                text = (self.header() if header else "") + self.render(columns, scores, lists, ascii_only=True)
                return text.encode("utf-8")
            return repair_text(text)[0].encode("utf-8")


def _as_list(values: Any) -> list[Any]:
    return values if isinstance(values, list) else list(values.to_pylist())
