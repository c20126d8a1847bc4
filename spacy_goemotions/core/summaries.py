"""Corpus summaries: how often each label (or group) is on, over scored texts, with missing texts apart.

Pure counting over a score matrix and the names each row's policy selected, so that any table
integration can summarize (pandas does it per group or period, see ``df.emotions.summary``).
A missing text (a NaN score row) counts among ``missing``, never as a text with no emotion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

#: The columns of a summary row, in order.
SUMMARY_FIELDS = ("texts", "missing", "on", "share", "mean_score")


@dataclass(frozen=True)
class NameSummary:
    """One label's (or group's) figures over a set of rows.

    Attributes:
        name: the label or group.
        texts: rows with a text (scored).
        missing: rows without one (NaN scores): not counted in ``share`` or ``mean_score``.
        on: scored rows whose selection holds ``name``.
        share: ``on / texts`` (NaN when there is no scored text).
        mean_score: the mean score over the scored rows (NaN when there is none).
    """

    name: str
    texts: int
    missing: int
    on: int
    share: float
    mean_score: float


def summarize(scores: npt.NDArray[np.floating], selected: Sequence[Sequence[str]], names: Sequence[str]) -> list[NameSummary]:
    """Per name: texts, missing, on, share on and mean score, over the rows of ``scores`` (``(n, names)``).

    Examples:
        >>> summarize(np.array([[0.9], [np.nan], [0.2]]), [["joy"], [], []], ["joy"])[0].share
        0.5
    """
    matrix = np.asarray(scores, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape != (len(selected), len(names)):
        raise ValueError(f"scores must have shape ({len(selected)}, {len(names)}), got {matrix.shape}")
    present = ~np.isnan(matrix).all(axis=1)
    texts = int(present.sum())
    on = on_matrix(selected, names)[present].sum(axis=0)
    with np.errstate(invalid="ignore"):
        means = matrix[present].mean(axis=0) if texts else np.full(len(names), np.nan)
    return [
        NameSummary(name, texts, len(matrix) - texts, int(count), count / texts if texts else float("nan"), float(mean))
        for name, count, mean in zip(names, on.tolist(), means.tolist(), strict=True)
    ]


def on_matrix(selected: Sequence[Sequence[str]], names: Sequence[str]) -> npt.NDArray[np.bool_]:
    """``(rows, names)``: whether each row's selection holds each name (names it does not know are ignored)."""
    position = {name: column for column, name in enumerate(names)}
    matrix = np.zeros((len(selected), len(names)), dtype=bool)
    for row, chosen in enumerate(selected):
        for name in chosen:
            column = position.get(name)
            if column is not None:
                matrix[row, column] = True
    return matrix


def cooccurrence(selected: Sequence[Sequence[str]], names: Sequence[str]) -> npt.NDArray[np.int64]:
    """``(names, names)``: in how many rows two names are on together (the diagonal: how often each is on)."""
    matrix = on_matrix(selected, names).astype(np.int64)
    return matrix.T @ matrix
