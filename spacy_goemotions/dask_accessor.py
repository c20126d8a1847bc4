"""Dask DataFrame accessor: ``ddf.emotions.classify("text", ...)``, lazily, one pandas call per partition.

Import this module to register the accessor (``import spacy_goemotions`` registers it too, but only
when ``dask.dataframe`` was already imported, so that importing the package never imports dask)::

    import dask.dataframe as dd
    import spacy_goemotions.dask_accessor  # noqa: F401  (registers ddf.emotions)

A thin adapter: each partition goes through the pandas accessor (``df.emotions.classify``), so the
columns, dtypes, missing-text handling and thresholds are exactly the pandas ones. The task graph
holds only plain options (model name, thresholds, sizes), never a loaded model: each worker process
loads the model once, through the core's process-wide cache, on its first partition.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pandas as pd

from . import pandas_accessor as _pandas_accessor  # noqa: F401  (registers df.emotions, used per partition)
from ._loading import model_labels
from .core import Aggregation, Backend, LongTextPolicy
from .errors import ConfigurationError, MissingExtraError
from .labels import DEFAULT_MODEL
from .thresholds import ThresholdPolicy, ThresholdSpec

try:
    import dask.dataframe as dd
    from dask.dataframe.extensions import register_dataframe_accessor
except ImportError as error:
    raise MissingExtraError("dask", "dask", "ddf.emotions (the Dask DataFrame accessor)") from error

__all__ = ["EmotionsDaskAccessor", "classify_partition"]

# Device names are only checked for shape here: the client often has no GPU while the workers do.
_DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def classify_partition(
    partition: pd.DataFrame, column: Hashable, options: dict[str, Any], expected_columns: list[Hashable]
) -> pd.DataFrame:
    """Classify one partition with the pandas accessor (what every Dask task runs).

    Module-level and fed only plain options, so tasks pickle by reference and carry no model.

    Raises:
        ConfigurationError: when the model's labels differ from those the lazy frame promised
            (a wrong ``labels=`` override), instead of letting Dask fail on a meta mismatch later.
    """
    out = partition.emotions.classify(column, **options)
    if list(out.columns) != expected_columns:
        raise ConfigurationError(
            f"Model {options['model']!r} produced the columns {list(out.columns)}, but the lazy Dask "
            f"frame was built for {expected_columns}. Drop labels= (the labels are then read from "
            "the model's config.json) or pass the model's own labels in its id2label order."
        )
    return out


@register_dataframe_accessor("emotions")  # type: ignore[no-untyped-call]
class EmotionsDaskAccessor:
    """``ddf.emotions``: add emotion score columns and a labels column to a Dask DataFrame, lazily."""

    def __init__(self, dask_obj: dd.DataFrame) -> None:
        if not isinstance(dask_obj, dd.DataFrame):
            raise AttributeError("the .emotions Dask accessor needs a dask DataFrame")
        self._ddf = dask_obj

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
        labels: Sequence[str] | None = None,
        backend: Backend = "torch",
    ) -> dd.DataFrame:
        """Lazily score ``column``; the result computes to what ``df.emotions.classify`` returns.

        Same arguments as the pandas accessor (see ``spacy_goemotions.pandas_accessor``): a NEW
        Dask DataFrame with the original columns, one float32 column per label (``prefix + label``)
        and ``labels_column`` (lists of labels, highest score first; ``[]`` for missing text).
        Index, divisions and row order are kept. No model loads here: the label names come from the
        model's ``config.json`` (or the hub config), and each worker loads the model on first use.

        Args:
            labels: the model's label names in id2label order, to build the lazy frame without
                reading the model's config (e.g. a hub model the client cannot reach). Checked
                against the model on the workers.

        Returns:
            A lazy ``dask.dataframe.DataFrame``; call ``.compute()``, ``.to_parquet(...)``, etc.

        Example:
            >>> import dask.dataframe as dd                                          # doctest: +SKIP
            >>> import spacy_goemotions.dask_accessor                                # doctest: +SKIP
            >>> ddf = dd.read_parquet("comments/")                                   # doctest: +SKIP
            >>> out = ddf.emotions.classify("body", model="goemotions-small", threshold="tuned")  # doctest: +SKIP
            >>> out.to_parquet("comments-emotions/")                                 # doctest: +SKIP
        """
        columns = list(self._ddf.columns)
        if column not in columns:
            raise KeyError(f"Column {column!r} not found. Available columns: {columns}")
        if columns.count(column) > 1:
            raise ValueError(f"Column name {column!r} is not unique in this DataFrame; rename the duplicates first.")
        if not isinstance(device, str) or not _DEVICE_PATTERN.match(device.strip().lower()):
            raise ConfigurationError(
                f"Unknown device {device!r}. Choose one of auto, cpu, cuda, cuda:N, mps. Example: device='cuda'"
            )
        if backend not in get_args(Backend):
            raise ConfigurationError(f"backend must be one of {get_args(Backend)}, got {backend!r}. Example: backend='openvino'")
        label_names = _label_names(model, revision, labels)
        # Fail while building the graph, not in the first task: the policy depends only on the labels.
        ThresholdPolicy.from_spec(threshold, top_k, labels=label_names)
        score_columns: list[Hashable] = [f"{prefix}{name}" for name in label_names]
        clashes = [name for name in [*score_columns, labels_column] if name in columns]
        if clashes:
            raise ValueError(
                f"The output column(s) {clashes} already exist in the DataFrame and would be overwritten. "
                f"Pass prefix= (e.g. prefix='emo_') and/or labels_column= to use other names."
            )
        options: dict[str, Any] = {
            "model": str(model), "revision": revision, "threshold": threshold, "top_k": top_k, "prefix": prefix,
            "labels_column": labels_column, "device": device, "dtype": dtype, "batch_size": batch_size,
            "max_tokens": max_tokens, "max_length": max_length, "long_text": long_text, "aggregate": aggregate,
            "progress": progress, "backend": backend,
        }  # fmt: skip
        meta = _output_meta(self._ddf._meta, score_columns, labels_column)
        lazy: dd.DataFrame = self._ddf.map_partitions(classify_partition, column, options, list(meta.columns), meta=meta)  # type: ignore[no-untyped-call]
        return lazy


def _label_names(model: str | Path, revision: str | None, labels: Sequence[str] | None) -> tuple[str, ...]:
    if labels is None:
        return model_labels(model, revision)
    if isinstance(labels, str) or not all(isinstance(name, str) for name in labels) or not labels:
        raise ConfigurationError(
            f"labels must be a non-empty list of label names in the model's id2label order, got {labels!r}. "
            "Example: labels=spacy_goemotions.GOEMOTIONS_LABELS"
        )
    if len(set(labels)) != len(labels):
        raise ConfigurationError(f"labels has duplicates: {sorted({n for n in labels if list(labels).count(n) > 1})}")
    return tuple(labels)


def _output_meta(input_meta: pd.DataFrame, score_columns: list[Hashable], labels_column: str) -> pd.DataFrame:
    """The empty frame the pandas accessor would return: input columns, float32 scores, object labels."""
    added = pd.DataFrame(
        {name: np.empty(0, dtype=np.float32) for name in score_columns} | {labels_column: np.empty(0, dtype=object)},
        index=input_meta.index[:0],
    )
    return pd.concat([input_meta.iloc[:0], added], axis=1)
