"""Ray Data predictor: ``ds.map_batches(EmotionPredictor, ...)`` adds the pandas accessor's columns.

A thin adapter: each batch goes through the pandas integration (what ``df.emotions.classify`` runs), so the score
columns, the labels column, missing-text handling and thresholds are exactly the pandas ones. Ray
builds one ``EmotionPredictor`` per actor, and the model loads once, in ``__init__``::

    import ray
    from spacy_goemotions.integrations.ray import EmotionPredictor

    ds = ray.data.read_parquet("comments/")
    out = ds.map_batches(
        EmotionPredictor,
        fn_constructor_kwargs={"column": "body", "model": "goemotions-small", "threshold": "tuned"},
        batch_format="pandas",
        batch_size=1024,
        compute=ray.data.ActorPoolStrategy(size=4),   # actors, each holding one model
        num_gpus=1,        # per actor; leave out on CPU
    )
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

import pandas as pd

from ..core.classifier import get_classifier
from ..core.table import classifier_layout, split_classify_kwargs
from ..errors import MissingExtraError
from .pandas import classify_frame

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..core.table import ClassifyKwargs

try:
    import ray  # noqa: F401  (only to fail early with the extra's name; batches need no ray API)
except ImportError as error:
    raise MissingExtraError("ray", "ray", "EmotionPredictor (the Ray Data predictor)") from error

__all__ = ["EmotionPredictor"]


class EmotionPredictor:
    """A callable class for ``ray.data.Dataset.map_batches`` with ``batch_format="pandas"``.

    Each batch comes back with one float32 column per label (``prefix + label``) and
    ``labels_column`` (lists of labels, highest score first; ``[]`` for missing text), as
    ``df.emotions.classify`` returns them. Ray Data does not keep a pandas index, and keeps the
    order of rows across blocks only with ``DataContext.get_current().execution_options.preserve_order
    = True``: carry an id column to join results back.

    Args:
        column: the text column.
        **kwargs: as in ``df.emotions.classify`` (the classifier options or ``options=``, ``threshold``,
            ``top_k``, ``prefix``, ``labels_column`` and ``progress``). ``batch_size`` is the model's batch
            (sequences per forward pass), not Ray's batch size.

    Raises:
        ModelLoadError, ConfigurationError: in the actor's constructor, before any batch, for a
            model that cannot load or a bad option.

    Examples:
        >>> ds.map_batches(EmotionPredictor, fn_constructor_kwargs={"column": "text"},  # doctest: +SKIP
        ...                batch_format="pandas", compute=ray.data.ActorPoolStrategy(size=2)).take(1)
    """

    def __init__(self, column: Hashable = "text", **kwargs: Unpack[ClassifyKwargs]) -> None:
        self.column = column
        self.options, self.table, self.progress = split_classify_kwargs(kwargs)
        # Load now (once per actor) and check the policy, so a bad model or threshold fails at
        # actor start. Each batch then finds this same classifier in the core's cache.
        classifier = get_classifier(options=self.options)
        self.layout = classifier_layout(self.table, classifier)  # bound once per actor, not per batch
        self.labels = classifier.labels

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        """Score one pandas batch; returns a new frame with the emotion columns added."""
        if not isinstance(batch, pd.DataFrame):
            raise TypeError(
                f'EmotionPredictor needs pandas batches, got {type(batch).__name__}. Pass batch_format="pandas" to map_batches.'
            )
        return classify_frame(batch, self.column, self.options, self.layout, self.progress)
