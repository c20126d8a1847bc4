"""The inference core: options, the classifier, batching, loading, devices, text repair and threshold policies.

Imports neither spaCy, pandas, Dask nor Ray (a test checks), and nothing of torch or transformers
until a model is first loaded.
"""

from __future__ import annotations

from .classifier import EmotionClassifier, get_classifier
from .options import ClassifierKwargs, ClassifierOptions, InferenceKwargs
from .scoring import RunStats, ScoringResult
from .thresholds import ThresholdPolicy, ThresholdSpec

__all__ = [
    "ClassifierKwargs",
    "ClassifierOptions",
    "EmotionClassifier",
    "InferenceKwargs",
    "RunStats",
    "ScoringResult",
    "ThresholdPolicy",
    "ThresholdSpec",
    "get_classifier",
]
