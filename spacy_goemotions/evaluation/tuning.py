"""Per-label threshold tuning: the F1-maximizing threshold of each label on labelled data.

The result is plain data (a dict, or the JSON file ``spacy-goemotions tune-thresholds`` writes) that
``threshold=`` loads as a :class:`~spacy_goemotions.core.thresholds.ThresholdPolicy`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..core.thresholds import DEFAULT_THRESHOLD, THRESHOLDS_FILE_FORMAT, check_unit_interval
from ..labels import GOEMOTIONS_LABELS


def tune_thresholds(
    scores: npt.ArrayLike,
    gold: npt.ArrayLike,
    labels: Sequence[str] = GOEMOTIONS_LABELS,
    *,
    grid: npt.ArrayLike | None = None,
) -> dict[str, Any]:
    """Per-label thresholds that maximize F1 on labelled data.

    The search: for every label independently, every threshold of ``grid`` (default 0.01, 0.02,
    ..., 0.99, the two-decimal resolution of the model card) is tried with the rule
    ``score >= threshold``; the one with the highest F1 wins, ties going to the threshold closest
    to 0.5. A label with no positive example in ``gold`` keeps 0.5 (F1 is 0 at every threshold).

    Args:
        scores: (n, L) scores, e.g. from :meth:`EmotionClassifier.scores` on a dev split.
        gold: (n, L) 0/1 gold labels in the same column order.
        labels: the column names.
        grid: candidate thresholds.

    Returns:
        ``{"format": ..., "metric": "f1", "thresholds": {label: t}, "f1": {label: f1},
        "support": {label: n}}``: pass it (or the JSON file it is saved to) as ``threshold=``.

    Examples:
        >>> import numpy as np
        >>> result = tune_thresholds(np.array([[0.2], [0.7]]), np.array([[0], [1]]), ["joy"])
        >>> 0.2 < result["thresholds"]["joy"] <= 0.7
        True
    """
    score_matrix = np.asarray(scores, dtype=np.float64)
    gold_matrix = np.asarray(gold).astype(bool)
    if score_matrix.ndim != 2 or score_matrix.shape != gold_matrix.shape or score_matrix.shape[1] != len(labels):
        raise ValueError(f"scores {score_matrix.shape} and gold {gold_matrix.shape} must both have shape (n, {len(labels)})")
    if np.isnan(score_matrix).any():
        raise ValueError("scores contain NaN (rows with missing text); drop those rows before tuning")
    candidates = np.round(np.arange(1, 100) / 100, 2) if grid is None else np.asarray(grid, dtype=np.float64)
    candidates = np.array([check_unit_interval(t, "grid threshold") for t in candidates])
    # Prefer thresholds close to 0.5 on ties: visit candidates in that order, argmax keeps the first.
    candidates = candidates[np.argsort(np.abs(candidates - 0.5), kind="stable")]
    thresholds: dict[str, float] = {}
    best_f1: dict[str, float] = {}
    support: dict[str, int] = {}
    for column, name in enumerate(labels):
        positives = gold_matrix[:, column]
        support[name] = int(positives.sum())
        if support[name] == 0:
            thresholds[name], best_f1[name] = DEFAULT_THRESHOLD, 0.0
            continue
        predicted = score_matrix[:, column][:, None] >= candidates[None, :]
        true_pos = (predicted & positives[:, None]).sum(axis=0)
        f1 = 2 * true_pos / (predicted.sum(axis=0) + support[name])
        best = int(np.argmax(f1))
        thresholds[name], best_f1[name] = float(candidates[best]), float(f1[best])
    return {
        "format": THRESHOLDS_FILE_FORMAT,
        "metric": "f1",
        "rule": "score >= threshold",
        "thresholds": thresholds,
        "f1": best_f1,
        "support": support,
    }
