"""Distillation: a small, fast student trained on a big teacher's scores over your own unlabelled texts.

:func:`.distill.distill` scores the texts with the teacher (cached, resumable: :mod:`.teacher`), trains a student of a
preset or given shape (:mod:`.students`) on the scores, tunes its thresholds, measures how closely it follows the
teacher (:mod:`.agreement`) and writes a model directory with its model card (:mod:`.card`). Above ``core/``,
``files/`` (the resumable scoring), ``training/`` (the training step) and ``evaluation/`` (thresholds, metrics, labelled
data); torch and transformers are imported inside the functions that need them.
"""

from .agreement import Agreement, agreement
from .distill import DistillResult, distill
from .measures import agreement_on
from .settings import DistillSettings
from .students import STUDENT_PRESETS, StudentShape

__all__ = [
    "STUDENT_PRESETS",
    "Agreement",
    "DistillResult",
    "DistillSettings",
    "StudentShape",
    "agreement",
    "agreement_on",
    "distill",
]
