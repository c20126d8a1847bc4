"""The student's training: the teacher's softened scores as targets, batches of similar length, the loop."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..core.progress import progress_bar
from .settings import DistillSettings
from .teacher import TeacherScores, _never

#: Clip for the teacher's probabilities before taking their logits (float32 sigmoids reach exactly 0 and 1).
PROBABILITY_CLIP = 1e-6


def soft_targets(scores: npt.ArrayLike, temperature: float) -> npt.NDArray[np.float32]:
    """The teacher's probabilities softened by ``temperature``: ``sigmoid(logit(p) / T)``.

    Args:
        scores: the teacher's sigmoid scores.
        temperature: T (1 returns the scores, clipped away from exactly 0 and 1).

    Returns:
        float32 targets of the same shape.

    Examples:
        >>> soft_targets([[0.5, 0.9]], 2.0).round(3).tolist()
        [[0.5, 0.75]]
    """
    probabilities = np.clip(np.asarray(scores, dtype=np.float64), PROBABILITY_CLIP, 1 - PROBABILITY_CLIP)
    logits = np.log(probabilities) - np.log1p(-probabilities)
    return (1 / (1 + np.exp(-logits / temperature))).astype(np.float32)


def length_batches(lengths: npt.ArrayLike, batch_size: int, rng: np.random.Generator) -> list[npt.NDArray[np.int64]]:
    """Shuffled batches of texts of similar length (little padding, still a random order).

    Rows are shuffled, cut into pools of 50 batches, each pool sorted by length and cut into batches, and the
    batches shuffled again.

    Args:
        lengths: each text's length (characters).
        batch_size: texts per batch.
        rng: the generator (seeded: the same seed, the same batches).

    Returns:
        the batches, as arrays of row numbers into ``lengths``.

    Examples:
        >>> batches = length_batches([5, 1, 4, 2], 2, np.random.default_rng(0))
        >>> sorted(len(batch) for batch in batches)
        [2, 2]
    """
    array = np.asarray(lengths)
    order = rng.permutation(len(array))
    pool = batch_size * 50
    batches: list[npt.NDArray[np.int64]] = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(array[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def train_student(
    student: Any,
    tokenizer: Any,
    labels: Sequence[str],
    scored: TeacherScores,
    rows: npt.NDArray[np.int64],
    settings: DistillSettings,
    *,
    progress: bool | None = None,
    should_stop: Callable[[], bool] = _never,
) -> list[float]:
    """Train ``student`` in place on the teacher's scores of ``rows``; the mean loss of each epoch.

    Args:
        student: the student model (float32).
        tokenizer: the teacher's tokenizer.
        labels: the teacher's labels.
        scored: the teacher's scores.
        rows: the rows of ``scored`` to train on.
        settings: how to train.
        progress: a progress bar (None: when stderr is a terminal).
        should_stop: polled after every step; True stops with ``KeyboardInterrupt``.

    Returns:
        the mean training loss of each epoch.
    """
    from ..training import Trainer, TrainingSettings

    targets = soft_targets(scored.scores[rows], settings.temperature)
    texts = [scored.texts[row] for row in rows]
    lengths = np.array([len(text) for text in texts])
    steps_per_epoch = math.ceil(len(texts) / settings.batch_size)
    total = steps_per_epoch * settings.epochs
    if settings.max_steps is not None:
        total = min(total, settings.max_steps)
    trainer = Trainer(
        student,
        tokenizer,
        labels,
        TrainingSettings(
            learning_rate=settings.learning_rate,
            warmup_steps=int(total * settings.warmup_share),
            total_steps=total,
            seed=settings.seed,
            max_length=settings.max_length,
            temperature=settings.temperature,
        ),
    )
    rng = np.random.default_rng(settings.seed)
    losses: list[float] = []
    with progress_bar(total, progress, desc="distilling", unit="step") as bar:
        for epoch in range(settings.epochs):
            summed, seen = 0.0, 0
            for batch in length_batches(lengths, settings.batch_size, rng):
                if trainer.steps >= total:
                    break
                summed += trainer.step([texts[row] for row in batch], targets[batch]) * len(batch)
                seen += len(batch)
                bar.update(1)
                if should_stop():
                    raise KeyboardInterrupt("distillation stopped while training; the teacher's scores are kept")
            if seen:
                losses.append(round(summed / seen, 6))
                bar.set_postfix_str(f"epoch {epoch + 1}: loss {losses[-1]:.4f}", refresh=False)
    student.eval()
    return losses
