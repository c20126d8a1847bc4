"""Optional dependencies that more than one layer draws on, imported on first use with the extra to install."""

from __future__ import annotations

from typing import Any

from .errors import MissingExtraError


def require_matplotlib(purpose: str = "Plotting") -> Any:
    """The ``matplotlib.figure`` module, or :class:`MissingExtraError` naming the ``plot`` extra."""
    try:
        from matplotlib import figure
    except ImportError as error:
        raise MissingExtraError("matplotlib", "plot", purpose) from error
    return figure


def require_pyarrow(purpose: str) -> Any:
    """The pyarrow module (with its Parquet part), or :class:`MissingExtraError` naming the ``parquet`` extra."""
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise MissingExtraError("pyarrow", "parquet", purpose) from None
    return pyarrow
