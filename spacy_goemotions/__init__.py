"""spacy-goemotions: the ModernBERT GoEmotions classifier for spaCy and pandas.

Importing the package loads no model and imports neither torch, transformers nor pandas (torch and
transformers are imported when a torch model first runs; the OpenVINO path never needs them when its
converted model is cached). The ``.emotions`` accessors of pandas (``df.emotions``, ``series.emotions``),
Dask (``ddf.emotions``) and Polars (``pl.DataFrame.emotions``) are registered when those libraries are
imported, before or after this package, without this package importing them. The spaCy factory ``"goemotions"`` is found by spaCy
through an entry point, with no import needed.
"""

from __future__ import annotations

from ._version import __version__
from .core import ClassifierOptions, EmotionClassifier, RunStats, ScoringResult, ThresholdPolicy, get_classifier
from .core.explanations import Explanation
from .core.loading import bundled_model_names, clear_model_cache
from .core.taxonomies import Taxonomy, available_taxonomies, taxonomies
from .core.thresholds import available_presets, threshold_presets
from .errors import ConfigurationError, GoEmotionsError, MissingExtraError, ModelLoadError
from .evaluation.tuning import tune_thresholds
from .integrations.registration import register_when_imported as _register_when_imported
from .labels import DEFAULT_MODEL, GOEMOTIONS_LABELS
from .visual import explain, render

# df.emotions, ddf.emotions and pl.DataFrame.emotions: now if pandas / dask.dataframe / polars are imported,
# else when they are (a post-import hook): importing this package must never import them.
_register_when_imported()

__all__ = [
    "DEFAULT_MODEL",
    "GOEMOTIONS_LABELS",
    "ClassifierOptions",
    "ConfigurationError",
    "EmotionClassifier",
    "Explanation",
    "GoEmotionsError",
    "MissingExtraError",
    "ModelLoadError",
    "RunStats",
    "ScoringResult",
    "Taxonomy",
    "ThresholdPolicy",
    "__version__",
    "available_presets",
    "available_taxonomies",
    "bundled_model_names",
    "clear_model_cache",
    "explain",
    "get_classifier",
    "render",
    "taxonomies",
    "threshold_presets",
    "tune_thresholds",
]
