"""Charts of evaluation tables (optional: ``pip install 'spacy-goemotions[plot]'``).

matplotlib is imported only when a chart is drawn, and only its object-oriented API is used
(``matplotlib.figure.Figure``, no ``pyplot``): no GUI backend, no global state, safe in servers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigurationError
from ..extras import require_matplotlib
from .metrics import EvaluationTable

_PURPOSE = "Plotting evaluation results"


def plot_f1_comparison(
    tables: Sequence[EvaluationTable],
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    dpi: int = 150,
) -> Path:
    """Save a grouped bar chart of per-label F1, one bar colour per table (e.g. 0.5 vs tuned).

    Labels are sorted by the F1 of the first table, so the gain of the other policies is easy to
    read; the legend shows each table's macro F1.

    Args:
        tables: tables over the same labels, e.g. ``[table_at_0_5, table_tuned]``.
        path: the image to write; the format follows the extension (``.png``, ``.svg``, ``.pdf``).
        title: the chart title.
        dpi: resolution of raster formats.

    Returns:
        The path written.

    Examples:
        >>> plot_f1_comparison([standard, tuned], "f1.png")       # doctest: +SKIP
    """
    if not tables:
        raise ConfigurationError("plot_f1_comparison needs at least one evaluation table")
    labels = [row.label for row in tables[0].rows]
    for table in tables[1:]:
        if [row.label for row in table.rows] != labels:
            raise ConfigurationError(f"Table {table.name!r} has other labels than {tables[0].name!r}; cannot compare them")
    figure_module = require_matplotlib(_PURPOSE)
    import numpy as np

    order = sorted(range(len(labels)), key=lambda i: -tables[0].rows[i].f1)
    positions = np.arange(len(labels))
    width = 0.8 / len(tables)
    fig = figure_module.Figure(figsize=(max(8.0, 0.42 * len(labels) + 2), 5.2), layout="constrained")
    axes = fig.add_subplot()
    for index, table in enumerate(tables):
        values = [table.rows[i].f1 for i in order]
        axes.bar(
            positions + (index - (len(tables) - 1) / 2) * width,
            values,
            width,
            label=f"{table.name} (macro F1 {table.macro.f1:.3f})",
        )
    axes.set_xticks(positions, [labels[i] for i in order], rotation=60, ha="right", rotation_mode="anchor")
    axes.set_ylabel("F1")
    axes.set_ylim(0, 1)
    axes.set_xlim(-0.6, len(labels) - 0.4)
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    axes.legend(loc="upper right")
    axes.set_title(title or f"Per-label F1 on {tables[0].n_texts} texts")
    output = Path(path)
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=dpi)
    return output
