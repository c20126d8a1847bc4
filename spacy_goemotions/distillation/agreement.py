"""How closely a student follows its teacher on texts neither trained on: equal decisions and rank correlation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Agreement:
    """The student against the teacher on held-out texts.

    Attributes:
        texts: how many texts were compared.
        decisions: the share of (text, label) pairs on which both decide the same at their own thresholds.
        texts_equal: the share of texts whose whole label set is the same.
        spearman: the mean over labels of the Spearman rank correlation of the two models' scores (labels whose
            scores are constant for one model are left out of the mean).
        spearman_per_label: each label's Spearman correlation (None where it is undefined).

    Examples:
        >>> teacher = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.3]])
        >>> agreement(teacher, teacher * 0.9, [0.5, 0.5], [0.5, 0.5], ["joy", "anger"]).spearman
        1.0
    """

    texts: int
    decisions: float
    texts_equal: float
    spearman: float
    spearman_per_label: dict[str, float | None]


def ranks(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Ranks from 1, ties sharing the mean of their ranks (as Spearman's correlation defines them).

    Args:
        values: a 1-D array.

    Returns:
        the ranks, in the order of ``values``.

    Examples:
        >>> ranks([0.3, 0.1, 0.3]).tolist()
        [2.5, 1.0, 2.5]
    """
    array = np.asarray(values, dtype=np.float64)
    order = np.argsort(array, kind="stable")
    sorted_values = array[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(array)]
    mean_rank = (starts + ends + 1) / 2.0  # ranks start + 1 .. end, their mean
    result = np.empty(len(array), dtype=np.float64)
    result[order] = np.repeat(mean_rank, ends - starts)
    return result


def spearman(first: npt.ArrayLike, second: npt.ArrayLike) -> float | None:
    """Spearman's rank correlation of two 1-D arrays; None when either is constant.

    Args:
        first: scores of one model.
        second: scores of the other, for the same texts.

    Returns:
        the correlation, from -1 to 1.

    Examples:
        >>> spearman([1, 2, 3, 4], [10, 20, 30, 25])
        0.8
    """
    a, b = ranks(first), ranks(second)
    a, b = a - a.mean(), b - b.mean()
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return round(float((a * b).sum()) / norm, 12) if norm > 0 else None


def agreement(
    teacher_scores: npt.ArrayLike,
    student_scores: npt.ArrayLike,
    teacher_thresholds: npt.ArrayLike,
    student_thresholds: npt.ArrayLike,
    labels: Sequence[str],
) -> Agreement:
    """Compare a student's scores and decisions with its teacher's on the same texts.

    Args:
        teacher_scores: (n, L) the teacher's scores.
        student_scores: (n, L) the student's scores.
        teacher_thresholds: the teacher's threshold per label (a label is on at ``score >= threshold``).
        student_thresholds: the student's.
        labels: the L label names.

    Returns:
        the :class:`Agreement`.

    Raises:
        ValueError: for matrices of different shapes or without rows.

    Examples:
        >>> teacher = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.3]])
        >>> student = np.array([[0.8, 0.2], [0.3, 0.6], [0.4, 0.35]])
        >>> found = agreement(teacher, student, [0.5, 0.5], [0.5, 0.5], ["joy", "anger"])
        >>> found.decisions, round(found.texts_equal, 4)
        (0.8333333333333334, 0.6667)
    """
    teacher = np.asarray(teacher_scores, dtype=np.float64)
    student = np.asarray(student_scores, dtype=np.float64)
    if teacher.shape != student.shape or teacher.ndim != 2 or teacher.shape[1] != len(labels) or not len(teacher):
        raise ValueError(f"teacher {teacher.shape} and student {student.shape} scores must both be (n > 0, {len(labels)})")
    teacher_on = teacher >= np.asarray(teacher_thresholds, dtype=np.float64)[None, :]
    student_on = student >= np.asarray(student_thresholds, dtype=np.float64)[None, :]
    same = teacher_on == student_on
    per_label = {name: spearman(teacher[:, column], student[:, column]) for column, name in enumerate(labels)}
    defined = [value for value in per_label.values() if value is not None]
    return Agreement(
        texts=len(teacher),
        decisions=float(same.mean()),
        texts_equal=float(same.all(axis=1).mean()),
        spearman=float(np.mean(defined)) if defined else float("nan"),
        spearman_per_label=per_label,
    )
