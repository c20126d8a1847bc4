"""Arrow in, Arrow out: what the Arrow-based integrations (Polars, DuckDB) share.

Text columns arrive as Arrow arrays (``string``, ``large_string``, ``string_view`` or a dictionary of
them: Polars' ``String`` and ``Categorical``, DuckDB's ``VARCHAR``) and become the ``str | None`` list
the core takes, in one C-level conversion; scores go back as float32 Arrow arrays over the core's own
buffers (no copy), and label lists as ``list<string>`` arrays. Missing text gives null scores and an
empty list, as NaN scores and ``[]`` do in pandas.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ..core.table import ScoredColumns
from ..errors import MissingExtraError

try:
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError as error:  # pragma: no cover - pyarrow comes with polars' and duckdb's Arrow paths
    raise MissingExtraError("pyarrow", "polars", "Arrow columns (Polars, DuckDB)") from error

__all__ = ["arrow_columns", "float_columns", "is_text_type", "texts_from_arrow"]


def is_text_type(kind: pa.DataType) -> bool:
    """Whether an Arrow type holds text: a string type, or a dictionary (categorical) of one."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind))


def texts_from_arrow(values: pa.Array | pa.ChunkedArray, column: str) -> list[str | None]:
    """The texts of an Arrow text column, nulls as None, in order.

    Raises:
        TypeError: for a column that does not hold text, naming it and its type, with the fix.
    """
    if not is_text_type(values.type):
        raise TypeError(
            f"Column {column!r} has type {values.type}; emotion classification needs text (a string or "
            f"categorical column). Cast it first, e.g. pl.col({column!r}).cast(pl.String) or CAST({column} AS VARCHAR)."
        )
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type) if isinstance(values, pa.Array) else pc.cast(values, values.type.value_type)
    texts: list[str | None] = values.to_pylist()
    return texts


def arrow_columns(scored: ScoredColumns) -> dict[str, pa.Array]:
    """Every column of ``scored`` (what :func:`~spacy_goemotions.core.table.table_columns` returned) as an
    Arrow array: float32 scores (null for missing texts), ``list<string>`` labels."""
    columns = float_columns(scored.layout.float_columns, scored.floats)
    for name, values in scored.lists.items():
        columns[name] = pa.array(values.tolist(), type=pa.list_(pa.string()))
    return columns


def float_columns(names: Sequence[str], floats: npt.NDArray[np.float32]) -> dict[str, pa.Array]:
    """Rows of a ``(columns, n)`` float32 block as Arrow arrays over its buffers. The core gives a missing
    text NaN in every score, so the rows whose first score is NaN are null."""
    missing = np.isnan(floats[0]) if len(floats) else np.zeros(0, dtype=bool)
    mask = missing if missing.any() else None  # pyarrow takes only a numpy mask for numpy values
    return {name: pa.array(values, type=pa.float32(), mask=mask) for name, values in zip(names, floats, strict=True)}
