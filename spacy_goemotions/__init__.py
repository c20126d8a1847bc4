"""spacy-goemotions: the ModernBERT GoEmotions classifier for spaCy and pandas.

Importing the package registers the pandas ``.emotions`` accessors and loads no model. The spaCy
factory ``"goemotions"`` is found by spaCy through an entry point, with no import needed.
"""

from __future__ import annotations

import sys as _sys

from . import pandas_accessor as _pandas_accessor  # noqa: F401  (registers df.emotions / series.emotions)
from ._loading import bundled_model_names, clear_model_cache
from ._version import __version__
from .core import EmotionClassifier, RunStats, ScoringResult, get_classifier
from .errors import ConfigurationError, GoEmotionsError, MissingExtraError, ModelLoadError
from .labels import DEFAULT_MODEL, GOEMOTIONS_LABELS
from .thresholds import ThresholdPolicy, available_presets, threshold_presets, tune_thresholds

# ddf.emotions is registered here only if the user already imported dask.dataframe: importing this
# package must never import dask. Otherwise `import spacy_goemotions.dask_accessor` registers it.
if "dask.dataframe" in _sys.modules:
    from . import dask_accessor as _dask_accessor  # noqa: F401

__all__ = [
    "DEFAULT_MODEL",
    "GOEMOTIONS_LABELS",
    "ConfigurationError",
    "EmotionClassifier",
    "GoEmotionsError",
    "MissingExtraError",
    "ModelLoadError",
    "RunStats",
    "ScoringResult",
    "ThresholdPolicy",
    "__version__",
    "available_presets",
    "bundled_model_names",
    "clear_model_cache",
    "get_classifier",
    "threshold_presets",
    "tune_thresholds",
]
