"""Dask DataFrame accessor: ``ddf.emotions.classify("text", ...)``, lazily, one pandas call per partition.

``import spacy_goemotions`` registers the accessor, before or after ``import dask.dataframe`` (a
post-import hook, :mod:`spacy_goemotions.integrations.registration`; the package never imports dask
itself)::

    import spacy_goemotions
    import dask.dataframe as dd
    dd.read_parquet("comments/").emotions.classify("body")

A thin adapter: each partition goes through the pandas integration (:func:`classify_frame`), so the
columns, dtypes, missing-text handling and thresholds are exactly the pandas ones. The task graph
holds only the validated options (plain values), never a loaded model: each worker process loads
the model once, through the core's process-wide cache, on its first partition.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..core.options import ClassifierOptions
from ..core.table import TableLayout, declared_layout, split_classify_kwargs
from ..errors import ConfigurationError, MissingExtraError
from .pandas import classify_frame

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..core.table import ClassifyKwargs

try:
    import dask.dataframe as dd
    from dask.dataframe.extensions import register_dataframe_accessor
except ImportError as error:
    raise MissingExtraError("dask", "dask", "ddf.emotions (the Dask DataFrame accessor)") from error

__all__ = ["EmotionsDaskAccessor", "classify_partition"]


def classify_partition(
    partition: pd.DataFrame,
    column: Hashable,
    options: ClassifierOptions,
    layout: TableLayout,
    expected_columns: list[Hashable],
    progress: bool | None = None,
) -> pd.DataFrame:
    """Classify one partition as ``df.emotions.classify`` would (what every Dask task runs).

    Module-level and fed only plain data (the options, and the output bound on the client), so tasks
    pickle by reference, carry no model, and read no thresholds or taxonomy file.

    Raises:
        ConfigurationError: when the model's labels differ from those the lazy frame promised
            (a wrong ``labels=`` override), instead of letting Dask fail on a meta mismatch later.
    """
    out = classify_frame(partition, column, options, layout, progress)
    if list(out.columns) != expected_columns:
        raise ConfigurationError(
            f"Model {options.model_name!r} produced the columns {list(out.columns)}, but the lazy Dask "
            f"frame was built for {expected_columns}. Drop labels= (the labels are then read from "
            "the model's config.json) or pass the model's own labels in its id2label order."
        )
    return out


@register_dataframe_accessor("emotions")  # type: ignore[no-untyped-call]
class EmotionsDaskAccessor:
    """``ddf.emotions``: add emotion score columns and a labels column to a Dask DataFrame, lazily.

    Examples:
        >>> out = ddf.emotions.classify("body", model="goemotions-small")  # doctest: +SKIP
        >>> out.compute()                                                  # doctest: +SKIP
    """

    def __init__(self, dask_obj: dd.DataFrame) -> None:
        if not isinstance(dask_obj, dd.DataFrame):
            raise AttributeError("the .emotions Dask accessor needs a dask DataFrame")
        self._ddf = dask_obj

    def classify(
        self, column: Hashable, *, labels: Sequence[str] | None = None, **kwargs: Unpack[ClassifyKwargs]
    ) -> dd.DataFrame:
        """Lazily score ``column``; the result computes to what ``df.emotions.classify`` returns.

        Same arguments as the pandas accessor: a NEW Dask DataFrame with the original columns, one
        float32 column per label (``prefix + label``) and ``labels_column`` (lists of labels, highest
        score first; ``[]`` for missing text). Index, divisions and row order are kept. No model
        loads here: the label names come from the model's ``config.json`` (or the hub config), and
        each worker loads the model on first use (``progress`` applies there, per partition).

        Args:
            labels: the model's label names in id2label order, to build the lazy frame without
                reading the model's config (e.g. a hub model the client cannot reach). Checked
                against the model on the workers.
            column: the text column.
            **kwargs: the options of ``df.emotions.classify``.

        Returns:
            A lazy ``dask.dataframe.DataFrame``; call ``.compute()``, ``.to_parquet(...)``, etc.

        Examples:
            >>> import dask.dataframe as dd                                          # doctest: +SKIP
            >>> import spacy_goemotions.integrations.dask                            # doctest: +SKIP
            >>> ddf = dd.read_parquet("comments/")                                   # doctest: +SKIP
            >>> out = ddf.emotions.classify("body", model="goemotions-small", threshold="tuned")  # doctest: +SKIP
            >>> out.to_parquet("comments-emotions/")                                 # doctest: +SKIP
        """
        columns = list(self._ddf.columns)
        if column not in columns:
            raise KeyError(f"Column {column!r} not found. Available columns: {columns}")
        if columns.count(column) > 1:
            raise ValueError(f"Column name {column!r} is not unique in this DataFrame; rename the duplicates first.")
        # Options are checked here, on the client, for their form only: the workers may have a GPU it lacks.
        classifier_options, table, progress = split_classify_kwargs(kwargs)
        # Bound here, once: the workers get the resolved policy and taxonomies, never the files they came from.
        layout = declared_layout(table, classifier_options, labels, columns)  # fails while building the graph
        meta = _output_meta(self._ddf._meta, layout.float_columns, layout.list_columns)
        lazy: dd.DataFrame = self._ddf.map_partitions(  # type: ignore[no-untyped-call]
            classify_partition, column, classifier_options, layout, list(meta.columns), progress, meta=meta
        )
        return lazy


def _output_meta(input_meta: pd.DataFrame, float_columns: list[str], list_columns: list[str]) -> pd.DataFrame:
    """The empty frame the pandas accessor would return: input columns, float32 scores, object label lists."""
    empty = {name: np.empty(0, dtype=np.float32) for name in float_columns}
    empty |= {name: np.empty(0, dtype=object) for name in list_columns}
    return pd.concat([input_meta.iloc[:0], pd.DataFrame(empty, index=input_meta.index[:0])], axis=1)
