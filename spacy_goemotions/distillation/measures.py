"""What the model card reports beyond agreement: both models' speed on one engine, and their F1 on labelled data."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..core.classifier import EmotionClassifier
from ..core.thresholds import ThresholdPolicy
from .agreement import Agreement


def measure_speed(teacher: EmotionClassifier, student_dir: Path, texts: Sequence[str], count: int) -> dict[str, Any]:
    """Texts per second of the teacher and the student on the same engine (the teacher's options), after a warmup.

    Args:
        teacher: the teacher's classifier.
        student_dir: the saved student.
        texts: texts to time on; only distinct ones count (the core scores a repeated text once, which
            would flatter both).
        count: at most how many of them.

    Returns:
        ``{"texts": n, "engine": ..., "teacher_texts_per_s": ..., "student_texts_per_s": ..., "speedup": ...}``.
    """
    sample = list(dict.fromkeys(texts))[:count]
    count = len(sample)
    student = EmotionClassifier(student_dir, options=teacher.options)
    rates = {}
    for name, classifier in (("teacher", teacher), ("student", student)):
        classifier.scores(sample[: min(64, count)])  # loads, converts and warms up
        started = time.perf_counter()
        classifier.scores(sample)
        rates[name] = count / max(time.perf_counter() - started, 1e-9)
    return {
        "texts": count,
        "engine": str(student.engine),
        "teacher_texts_per_s": round(rates["teacher"], 1),
        "student_texts_per_s": round(rates["student"], 1),
        "speedup": round(rates["student"] / rates["teacher"], 2),
    }


def labelled_f1(
    held: EmotionClassifier,
    teacher: EmotionClassifier,
    gold: Any,
    labels: Sequence[str],
    student_cutoffs: npt.NDArray[np.float32],
    teacher_cutoffs: npt.NDArray[np.float32],
    path: str | Path | None,
) -> dict[str, Any]:
    """Both models' macro-F1 on the labelled data, each at its own thresholds."""
    from ..evaluation.metrics import evaluate_scores

    matrix = gold.select_labels(labels)
    student_policy = ThresholdPolicy.from_spec(dict(zip(labels, student_cutoffs.tolist(), strict=True)), labels=labels)
    teacher_policy = ThresholdPolicy.from_spec(dict(zip(labels, teacher_cutoffs.tolist(), strict=True)), labels=labels)
    student_table = evaluate_scores(held.scores(gold.texts), matrix, labels, student_policy)
    teacher_table = evaluate_scores(teacher.scores(gold.texts), matrix, labels, teacher_policy)
    return {
        "data": str(path),
        "texts": len(gold),
        "student_macro_f1": round(student_table.macro.f1, 4),
        "teacher_macro_f1": round(teacher_table.macro.f1, 4),
        "ratio": round(student_table.macro.f1 / teacher_table.macro.f1, 3) if teacher_table.macro.f1 else None,
        "note": "the student's thresholds were tuned on this data: evaluate both on other labelled texts for a figure "
        "without that advantage (spacy-goemotions evaluate)",
    }


def agreement_record(found: Agreement) -> dict[str, Any]:
    return {
        "texts": found.texts,
        "decisions": round(found.decisions, 4),
        "texts_equal": round(found.texts_equal, 4),
        "spearman": round(found.spearman, 4),
    }


def agreement_on(
    texts: Sequence[str],
    teacher: str | Path | EmotionClassifier,
    student: str | Path | EmotionClassifier,
) -> Agreement:
    """How closely a student follows its teacher on texts of your own (no labels needed).

    Both score the texts; each decides at its own shipped thresholds (``thresholds.json``; 0.5 for a model
    without), as ``threshold="tuned"`` does.

    Args:
        texts: the texts (a sample of those the student will classify, not those it was trained on).
        teacher: the teacher: a model name or directory, or its classifier (its options say how it runs).
        student: the student: its directory, or its classifier.

    Returns:
        the :class:`~spacy_goemotions.distillation.agreement.Agreement`.

    Raises:
        ConfigurationError: when the two models do not have the same labels in the same order.

    Examples:
        >>> agreement_on(["Thanks!", "This is awful."], "goemotions-small", "student").decisions  # doctest: +SKIP
        1.0
    """
    from ..errors import ConfigurationError
    from .agreement import agreement

    models = [m if isinstance(m, EmotionClassifier) else EmotionClassifier(m, progress=False) for m in (teacher, student)]
    if models[0].labels != models[1].labels:
        raise ConfigurationError(
            f"The student's labels are not the teacher's: {list(models[1].labels)[:5]}... against "
            f"{list(models[0].labels)[:5]}...; compare a student with the teacher it was distilled from."
        )
    cutoffs = [model_cutoffs(m) for m in models]
    scores = [m.scores(list(texts), progress=False) for m in models]
    return agreement(scores[0], scores[1], cutoffs[0], cutoffs[1], models[0].labels)


def model_cutoffs(classifier: EmotionClassifier) -> npt.NDArray[np.float32]:
    """The per-label thresholds a model decides at: its shipped ``thresholds.json``, else 0.5.

    Args:
        classifier: the model's classifier.

    Returns:
        one threshold per label, in column order.
    """
    shipped = classifier.loaded.shipped_thresholds
    return classifier.policy("tuned" if shipped else 0.5).cutoffs(classifier.labels, shipped)
