"""Ray Data predictor: ``ds.map_batches(EmotionPredictor, ...)`` adds the pandas accessor's columns.

A thin adapter: each batch goes through the pandas accessor (``df.emotions.classify``), so the score
columns, the labels column, missing-text handling and thresholds are exactly the pandas ones. Ray
builds one ``EmotionPredictor`` per actor, and the model loads once, in ``__init__``::

    import ray
    from spacy_goemotions.ray_predictor import EmotionPredictor

    ds = ray.data.read_parquet("comments/")
    out = ds.map_batches(
        EmotionPredictor,
        fn_constructor_kwargs={"column": "body", "model": "goemotions-small", "threshold": "tuned"},
        batch_format="pandas",
        batch_size=1024,
        concurrency=4,     # actors, each holding one model
        num_gpus=1,        # per actor; leave out on CPU
    )
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any

import pandas as pd

from . import pandas_accessor as _pandas_accessor  # noqa: F401  (registers df.emotions, used per batch)
from .core import Aggregation, Backend, LongTextPolicy, get_classifier
from .errors import MissingExtraError
from .labels import DEFAULT_MODEL
from .thresholds import ThresholdSpec

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
        model, revision, threshold, top_k, prefix, labels_column, device, dtype, batch_size,
        max_tokens, max_length, long_text, aggregate, progress, backend: as in ``df.emotions.classify``.
            ``batch_size`` is the model's batch (sequences per forward pass), not Ray's batch size.

    Raises:
        ModelLoadError, ConfigurationError: in the actor's constructor, before any batch, for a
            model that cannot load or a bad option.

    Example:
        >>> ds.map_batches(EmotionPredictor, fn_constructor_kwargs={"column": "text"},  # doctest: +SKIP
        ...                batch_format="pandas", concurrency=2).take(1)
    """

    def __init__(
        self,
        column: Hashable = "text",
        *,
        model: str | Path = DEFAULT_MODEL,
        revision: str | None = None,
        threshold: ThresholdSpec | None = 0.5,
        top_k: int | None = None,
        prefix: str = "",
        labels_column: str = "emotions",
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 256,
        max_tokens: int | None = None,
        max_length: int = 512,
        long_text: LongTextPolicy = "truncate",
        aggregate: Aggregation = "max",
        progress: bool | None = None,
        backend: Backend = "torch",
    ) -> None:
        self.column = column
        self.options: dict[str, Any] = {
            "model": str(model), "revision": revision, "threshold": threshold, "top_k": top_k, "prefix": prefix,
            "labels_column": labels_column, "device": device, "dtype": dtype, "batch_size": batch_size,
            "max_tokens": max_tokens, "max_length": max_length, "long_text": long_text, "aggregate": aggregate,
            "progress": progress, "backend": backend,
        }  # fmt: skip
        # Load now (once per actor) and check the policy, so a bad model or threshold fails at
        # actor start. The pandas accessor then finds this same classifier in the core's cache.
        classifier = get_classifier(
            model, revision=revision, device=device, dtype=dtype, batch_size=batch_size, max_tokens=max_tokens,
            max_length=max_length, long_text=long_text, aggregate=aggregate, backend=backend,
        )  # fmt: skip
        classifier.policy(threshold, top_k)
        self.labels = classifier.labels

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        """Score one pandas batch; returns a new frame with the emotion columns added."""
        if not isinstance(batch, pd.DataFrame):
            raise TypeError(
                f'EmotionPredictor needs pandas batches, got {type(batch).__name__}. Pass batch_format="pandas" to map_batches.'
            )
        return batch.emotions.classify(self.column, **self.options)
