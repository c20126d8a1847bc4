"""pandas accessors: ``df.emotions.classify(...)`` and ``series.emotions.scores()/labels()``.

A thin adapter: it converts a column to a list of ``str | None``, calls the core, and builds new
frames. It never mutates the caller's DataFrame and never drops or reorders a row.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path

import numpy as np
import pandas as pd

from .core import Aggregation, Backend, EmotionClassifier, LongTextPolicy, get_classifier
from .labels import DEFAULT_MODEL
from .thresholds import ThresholdPolicy, ThresholdSpec

__all__ = ["EmotionsDataFrameAccessor", "EmotionsSeriesAccessor", "texts_from_series"]


def texts_from_series(series: pd.Series) -> list[str | None]:
    """The column as ``str | None`` values: None, NaN, pd.NA and NaT become None.

    Raises:
        TypeError: for the first value that is neither text nor missing, naming its index label.
    """
    values = series.astype(object).tolist() if isinstance(series.dtype, pd.CategoricalDtype) else series.tolist()
    texts: list[str | None] = []
    for position, value in enumerate(values):
        if isinstance(value, str):
            texts.append(value)
        elif value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
            texts.append(None)
        else:
            label = series.index[position]
            raise TypeError(
                f"Column {series.name!r} holds a {type(value).__name__} ({value!r:.60}) at index {label!r}; "
                "emotion classification needs text. Convert the column first, e.g. "
                f"df[{series.name!r}] = df[{series.name!r}].astype('string'), or set the value to None."
            )
    return texts


def _classifier(
    model: str | Path, revision: str | None, device: str, dtype: str, batch_size: int,
    max_tokens: int | None, max_length: int, long_text: LongTextPolicy, aggregate: Aggregation, backend: Backend,
) -> EmotionClassifier:  # fmt: skip
    """The shared, cached core classifier for these options (the model itself loads once per process)."""
    return get_classifier(
        model, revision=revision, device=device, dtype=dtype, batch_size=batch_size, max_tokens=max_tokens,
        max_length=max_length, long_text=long_text, aggregate=aggregate, backend=backend,
    )  # fmt: skip


@pd.api.extensions.register_dataframe_accessor("emotions")
class EmotionsDataFrameAccessor:
    """``df.emotions``: add emotion score columns and a labels column to a DataFrame."""

    def __init__(self, pandas_obj: pd.DataFrame) -> None:
        if not isinstance(pandas_obj, pd.DataFrame):
            raise AttributeError("the .emotions DataFrame accessor needs a DataFrame")
        self._df = pandas_obj

    def classify(
        self,
        column: Hashable,
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
    ) -> pd.DataFrame:
        """Score ``column`` and return a NEW DataFrame: the original columns, one float32 column per
        label (named ``prefix + label``) and ``labels_column`` (the labels the policy selects,
        highest score first). Missing texts get NaN scores and an empty list.

        Example:
            >>> out = df.emotions.classify("body", model="goemotions-small", threshold="tuned")  # doctest: +SKIP
        """
        if column not in self._df.columns:
            raise KeyError(f"Column {column!r} not found. Available columns: {list(self._df.columns)}")
        series = self._df[column]
        if isinstance(series, pd.DataFrame):
            raise ValueError(f"Column name {column!r} is not unique in this DataFrame; rename the duplicates first.")
        texts = texts_from_series(series)
        classifier = _classifier(
            model, revision, device, dtype, batch_size, max_tokens, max_length, long_text, aggregate, backend
        )
        policy = classifier.policy(threshold, top_k)
        score_columns = [f"{prefix}{name}" for name in classifier.labels]
        if labels_column in score_columns:
            raise ValueError(
                f"labels_column={labels_column!r} is also the name of a score column; pick another, e.g. 'emotions'."
            )
        clashes = [name for name in [*score_columns, labels_column] if name in self._df.columns]
        if clashes:
            raise ValueError(
                f"The output column(s) {clashes} already exist in the DataFrame and would be overwritten. "
                f"Pass prefix= (e.g. prefix='emo_') and/or labels_column= to use other names."
            )
        # The scores exist once: the core writes them straight into the (labels, rows) block the new
        # DataFrame adopts without a copy, and the labels are selected a window at a time, so memory
        # beyond the output columns does not scale with the rows (benchmarks/memory.py).
        block = np.empty((len(score_columns), len(texts)), dtype=np.float32)
        classifier.scores(texts, progress=progress, out=block.T)
        del texts
        selected = _select_in_windows(classifier, block.T, policy)
        added = pd.DataFrame(block.T, columns=score_columns, copy=False)
        added[labels_column] = selected
        # Positional join: the index may have duplicates or levels, and order must be kept as is.
        return pd.concat([self._df.reset_index(drop=True), added], axis=1).set_axis(self._df.index, axis=0)


@pd.api.extensions.register_series_accessor("emotions")
class EmotionsSeriesAccessor:
    """``series.emotions``: score a text Series."""

    def __init__(self, pandas_obj: pd.Series) -> None:
        if not isinstance(pandas_obj, pd.Series):
            raise AttributeError("the .emotions Series accessor needs a Series")
        self._series = pandas_obj

    def scores(
        self,
        *,
        model: str | Path = DEFAULT_MODEL,
        revision: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 256,
        max_tokens: int | None = None,
        max_length: int = 512,
        long_text: LongTextPolicy = "truncate",
        aggregate: Aggregation = "max",
        progress: bool | None = None,
        backend: Backend = "torch",
    ) -> pd.DataFrame:
        """An (n, labels) float32 DataFrame aligned to the Series index (NaN rows for missing text)."""
        classifier = _classifier(
            model, revision, device, dtype, batch_size, max_tokens, max_length, long_text, aggregate, backend
        )
        texts = texts_from_series(self._series)
        block = np.empty((len(classifier.labels), len(texts)), dtype=np.float32)
        classifier.scores(texts, progress=progress, out=block.T)
        return pd.DataFrame(block.T, index=self._series.index, columns=list(classifier.labels), copy=False)

    def labels(
        self,
        *,
        threshold: ThresholdSpec | None = 0.5,
        top_k: int | None = None,
        model: str | Path = DEFAULT_MODEL,
        revision: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 256,
        max_tokens: int | None = None,
        max_length: int = 512,
        long_text: LongTextPolicy = "truncate",
        aggregate: Aggregation = "max",
        progress: bool | None = None,
        backend: Backend = "torch",
    ) -> pd.Series:
        """A Series of label lists (highest score first), aligned to the Series index."""
        classifier = _classifier(
            model, revision, device, dtype, batch_size, max_tokens, max_length, long_text, aggregate, backend
        )
        policy = classifier.policy(threshold, top_k)
        scores = classifier.scores(texts_from_series(self._series), progress=progress)
        return pd.Series(_object_array(classifier.select(scores, policy)), index=self._series.index, name="emotions")


def _select_in_windows(
    classifier: EmotionClassifier, scores: np.ndarray, policy: ThresholdPolicy, window: int = 8192
) -> np.ndarray:
    """The policy's labels per row as a 1-D object array, a window of rows at a time (bounded temporaries)."""
    selected = np.empty(len(scores), dtype=object)
    for start in range(0, len(scores), window):
        for offset, row in enumerate(classifier.select(scores[start : start + window], policy)):
            selected[start + offset] = row
    return selected


def _object_array(rows: list[list[str]]) -> np.ndarray:
    """A 1-D object array of lists (np.array would build a 2-D array from equal-length lists)."""
    array = np.empty(len(rows), dtype=object)
    for i, row in enumerate(rows):
        array[i] = row
    return array
