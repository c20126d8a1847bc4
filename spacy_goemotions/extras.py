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
