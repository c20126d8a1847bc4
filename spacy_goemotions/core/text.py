"""Text hygiene shared by every adapter: repair what a tokenizer cannot take."""

from __future__ import annotations

import math
from typing import Any

#: The missing-value singletons of pandas (``pd.NA``, ``pd.NaT``), known by type name so the core needs no pandas.
_MISSING_TYPES = frozenset({"NAType", "NaTType"})


def is_missing_text(value: Any) -> bool:
    """Whether a value stands for a missing text: None, a float NaN (numpy's too), ``pd.NA`` or ``pd.NaT``.

    The one rule every entry point applies (tables, the visualizer): a missing text gets NaN scores and no
    labels, its row kept; anything else that is not a string is an error naming it.

    Examples:
        >>> [is_missing_text(v) for v in (None, float("nan"), "", "nan", 0.0)]
        [True, True, False, False, False]
    """
    if value is None:
        return True
    if isinstance(value, float):  # numpy.float64 is a float too
        return math.isnan(value)
    return type(value).__name__ in _MISSING_TYPES


def repair_text(text: str) -> tuple[str, bool]:
    """Return ``text`` encodable as UTF-8, and whether it had to be repaired.

    Lone surrogates (``"\\ud800"``, from broken JSON or mis-decoded bytes) cannot be encoded and
    crash the tokenizer; each becomes U+FFFD. A valid surrogate *pair* becomes its character.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace"), True
    return text, False
