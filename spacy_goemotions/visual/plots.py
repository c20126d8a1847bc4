"""Charts of corpus summaries (the ``plot`` extra: matplotlib, object-oriented API only, no GUI backend).

They take the tidy frames of ``df.emotions.summary`` and ``df.emotions.cooccurrence`` and colour each
label as the visualizer does (:mod:`.palette`).
"""

from __future__ import annotations

import os
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigurationError
from ..extras import require_matplotlib
from .palette import label_rgb

_PURPOSE = "Plotting summaries"


def _save(figure: Any, path: str | os.PathLike[str], dpi: int) -> Path:
    output = Path(path)
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=dpi)
    return output


def plot_shares(
    summary: Any, path: str | os.PathLike[str], *, level: str = "label", title: str | None = None, dpi: int = 150
) -> Path:
    """Bars of the share of texts each label (or group of taxonomy ``level``) is on, highest first.

    Args:
        summary: ``df.emotions.summary()`` without ``by``.
        path: the image (``.png``, ``.svg``, ``.pdf``).
    """
    figure_module = require_matplotlib(_PURPOSE)
    rows = summary[summary["level"] == level].sort_values("share", ascending=False)
    if rows.empty:
        raise ConfigurationError(f"The summary has no rows of level {level!r}; its levels: {sorted(set(summary['level']))}")
    texts, missing = int(rows["texts"].iloc[0]), int(rows["missing"].iloc[0])
    fig = figure_module.Figure(figsize=(max(7.0, 0.36 * len(rows) + 2), 4.6), layout="constrained")
    axes = fig.add_subplot()
    positions = np.arange(len(rows))
    axes.bar(positions, rows["share"].to_numpy() * 100, color=[label_rgb(name) for name in rows["name"]])
    axes.set_xticks(positions, rows["name"].tolist(), rotation=60, ha="right", rotation_mode="anchor")
    axes.set_ylabel("texts with it on (%)")
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    axes.set_xlim(-0.6, len(rows) - 0.4)
    what = "emotion" if level == "label" else f"{level} group"
    note = f"{texts:,} texts" + (f", {missing:,} missing (not counted)" if missing else "")
    axes.set_title(title or f"How often each {what} is on ({note})")
    return _save(fig, path, dpi)


def plot_over_time(
    summary: Any,
    by: Hashable,
    path: str | os.PathLike[str],
    *,
    level: str = "label",
    top: int = 6,
    title: str | None = None,
    dpi: int = 150,
) -> Path:
    """Lines of the share on per period for the ``top`` labels (or groups) most often on overall.

    Args:
        summary: ``df.emotions.summary(by=..., freq=...)``; periods without a date are left out of the lines.
    """
    figure_module = require_matplotlib(_PURPOSE)
    rows = summary[(summary["level"] == level) & summary[by].notna()]
    if rows.empty:
        raise ConfigurationError(f"The summary has no dated rows of level {level!r} to draw over {by!r}")
    totals = rows.groupby("name")["on"].sum().sort_values(ascending=False)
    fig = figure_module.Figure(figsize=(9.0, 4.6), layout="constrained")
    axes = fig.add_subplot()
    for name in totals.index[:top]:
        line = rows[rows["name"] == name].sort_values(by)
        axes.plot(line[by], line["share"] * 100, marker="o", markersize=3, label=name, color=label_rgb(str(name)))
    axes.set_ylabel("texts with it on (%)")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left", ncols=min(top, 3), fontsize="small")
    fig.autofmt_xdate()
    axes.set_title(title or f"Share of texts per period, the {min(top, len(totals))} most frequent")
    return _save(fig, path, dpi)


def plot_cooccurrence(matrix: Any, path: str | os.PathLike[str], *, title: str | None = None, dpi: int = 150) -> Path:
    """A heatmap of ``df.emotions.cooccurrence()``: how often two labels are on together, as the share of
    the texts the row's label is on in (so each row reads "when X is on, how often is Y"); the diagonal is blank."""
    figure_module = require_matplotlib(_PURPOSE)
    counts = matrix.to_numpy(dtype=np.float64)
    keep = np.flatnonzero(np.diag(counts) > 0)  # labels never on would be empty rows
    if not len(keep):
        raise ConfigurationError("No label is on in any text: there is nothing to draw")
    counts = counts[np.ix_(keep, keep)]
    names = [str(matrix.index[i]) for i in keep]
    shares = counts / np.diag(counts)[:, None]
    np.fill_diagonal(shares, np.nan)  # always 100%: left blank so that the pairs carry the colour scale
    size = max(5.0, 0.32 * len(names) + 2.5)
    fig = figure_module.Figure(figsize=(size + 1.2, size), layout="constrained")
    axes = fig.add_subplot()
    from matplotlib import colormaps

    image = axes.imshow(shares * 100, cmap=colormaps["Oranges"].with_extremes(bad="#f6f8fa"), vmin=0, vmax=100)
    axes.set_xticks(range(len(names)), names, rotation=60, ha="right", rotation_mode="anchor")
    axes.set_yticks(range(len(names)), names)
    fig.colorbar(image, ax=axes, label="% of the row label's texts", shrink=0.8)
    axes.set_title(title or "When the row's emotion is on, how often each other one is too")
    return _save(fig, path, dpi)
