"""Polars namespaces: ``df.emotions.classify``, ``lf.emotions.classify`` (lazy) and ``s.emotions.scores()/labels()``.

Importing this module registers the ``emotions`` namespace on ``pl.DataFrame``, ``pl.LazyFrame`` and
``pl.Series`` (``import spacy_goemotions`` does it too, as soon as Polars is imported)::

    import polars as pl
    import spacy_goemotions.integrations.polars  # noqa: F401  (registers df.emotions)

A thin adapter: the text column goes to the core through Arrow (:func:`texts_from_arrow`), and the
core's float32 buffers come back as Arrow arrays (:func:`arrow_columns`), so the columns, their names,
the clash rules and the thresholds are those of the pandas accessor: the input columns, a ``Float32``
column per label (and per taxonomy group), then the ``List(String)`` columns. A missing text gives
null scores and an empty list.

The lazy form is one elementwise expression, ``pl.col(column).map_batches(...)`` returning a struct
that is then unnested: Polars knows the query reads only that column, keeps row order, runs it batch
by batch in the streaming engine, pushes filters and slices on the input columns below it (so
``.head(10)`` scores 10 rows), and knows the output schema from the model's ``config.json`` alone.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from ..core.classifier import EmotionClassifier, get_classifier
from ..core.options import ClassifierOptions
from ..core.table import (
    TableLayout,
    TableOptions,
    classifier_layout,
    declared_layout,
    split_classify_kwargs,
    split_score_kwargs,
    table_columns,
)
from ..core.thresholds import ThresholdSpec
from ..errors import ConfigurationError, MissingExtraError

try:
    import polars as pl
except ImportError as error:
    raise MissingExtraError("polars", "polars", "pl.DataFrame.emotions (the Polars namespaces)") from error

from .arrow import arrow_columns, float_columns, texts_from_arrow

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..core.table import ClassifyKwargs, ScoreKwargs

__all__ = ["EmotionsFrameNamespace", "EmotionsLazyFrameNamespace", "EmotionsSeriesNamespace", "classify_batch"]

NAMESPACE = "emotions"
#: The struct column the lazy query holds the new columns in before unnesting them (made unique per query).
_STRUCT_COLUMN = "__spacy_goemotions__"

_Namespace = TypeVar("_Namespace", bound=type)


def _check_text_column(names: Sequence[str], dtypes: Sequence[pl.DataType], column: str) -> None:
    """A clear error for a missing column or one that does not hold text."""
    if column not in names:
        raise KeyError(f"Column {column!r} not found. Available columns: {list(names)}")
    _check_text_dtype(column, dtypes[list(names).index(column)])


def _check_text_dtype(column: str | None, dtype: pl.DataType) -> None:
    if not isinstance(dtype, (pl.String, pl.Categorical, pl.Enum, pl.Null)):
        raise TypeError(
            f"Column {column!r} has dtype {dtype}; emotion classification needs text (String, Categorical or Enum). "
            f"Cast it first, e.g. df.with_columns(pl.col({column!r}).cast(pl.String))."
        )


def _texts(series: pl.Series) -> list[str | None]:
    """The texts of a text Series, nulls as None, in one Arrow conversion (no per-row Python checks)."""
    _check_text_dtype(series.name, series.dtype)
    if isinstance(series.dtype, pl.Null):  # an all-null column: nothing to score, but a column of the right type
        series = series.cast(pl.String)
    return texts_from_arrow(series.to_arrow(), series.name)


def _added_columns(series: pl.Series, classifier: EmotionClassifier, layout: TableLayout, progress: bool | None) -> pl.DataFrame:
    """The columns ``layout`` names for the texts of ``series``, in its order, over the core's float32 buffers."""
    texts = _texts(series)
    # The streaming engine calls this from several threads at once: the core is thread-safe (its tokenizer locked).
    scored = table_columns(texts, classifier, layout, progress)
    del texts
    return pl.DataFrame(arrow_columns(scored))


def classify_batch(texts: pl.Series, options: ClassifierOptions, layout: TableLayout, progress: bool | None = None) -> pl.Series:
    """One batch of a lazy ``classify``: a struct Series of the new columns (what the query runs per batch).

    Module-level and fed only plain options, so a query that holds it serializes without a model.

    Raises:
        ConfigurationError: when the model's labels differ from those the query's schema was built from.
    """
    classifier = get_classifier(options=options)
    if classifier.labels != layout.labels:
        raise ConfigurationError(
            f"Model {options.model_name!r} has the labels {list(classifier.labels)}, but the lazy query was built "
            f"for {list(layout.labels)} (read from its config.json then). Build the query again: "
            "lf.emotions.classify(...)."
        )
    return _added_columns(texts, classifier, layout, progress).to_struct(texts.name)


def _output_struct(layout: TableLayout) -> pl.Struct:
    fields = {name: pl.Float32 for name in layout.float_columns} | {name: pl.List(pl.String) for name in layout.list_columns}
    return pl.Struct(fields)


def _namespace(register: Callable[[str], Callable[[_Namespace], _Namespace]], owner: type) -> Callable[[_Namespace], _Namespace]:
    """Polars' ``register_*_namespace``, quiet when it replaces this module's own namespace."""

    def decorate(namespace: _Namespace) -> _Namespace:
        existing = getattr(owner, NAMESPACE, None)
        ours = isinstance(existing, type) and (existing.__module__, existing.__qualname__) == (
            namespace.__module__,
            namespace.__qualname__,
        )
        with warnings.catch_warnings():
            if ours:  # this module imported again (a reload): replacing our own namespace overrides nobody's
                warnings.filterwarnings("ignore", message="overriding existing custom namespace", category=UserWarning)
            return register(NAMESPACE)(namespace)

    return decorate


@_namespace(pl.api.register_dataframe_namespace, pl.DataFrame)
class EmotionsFrameNamespace:
    """``df.emotions``: add emotion score columns and a labels column to a Polars DataFrame.

    Examples:
        >>> import polars as pl
        >>> df = pl.DataFrame({"body": ["Thank you so much!", None]})
        >>> df.emotions.classify("body", model="goemotions-small", top_k=1)["emotions"].to_list()  # doctest: +SKIP
        [['gratitude'], []]
    """

    def __init__(self, df: pl.DataFrame) -> None:
        self._df = df

    def classify(self, column: str, **kwargs: Unpack[ClassifyKwargs]) -> pl.DataFrame:
        """Score ``column`` and return a NEW DataFrame: the original columns, a ``Float32`` column per label
        (``prefix + label``; then per taxonomy group with ``taxonomy=``) and the ``List(String)`` column
        ``labels_column`` (the labels the policy selects, highest score first; then one per taxonomy).
        A null text gets null scores and an empty list.

        Args:
            column: the text column (``String``, ``Categorical`` or ``Enum``).
            **kwargs: the options of the pandas accessor ``df.emotions.classify``: the classifier options
                (``model``, ``device``, ``dtype``, ``batch_size``, ...) or ``options=``, the table options
                (``threshold``, ``top_k``, ``prefix``, ``labels_column``, ``taxonomy``, ...) and ``progress``.

        Returns:
            a new DataFrame; the input's rows, in order.

        Raises:
            KeyError: for a missing column (the message lists the columns).
            TypeError: for a column that does not hold text (the message shows the cast).
            ConfigurationError: for a bad option, or an output column that already exists (pass ``prefix=``).

        Examples:
            >>> out = df.emotions.classify("body", model="goemotions-small", threshold="tuned")  # doctest: +SKIP
        """
        _check_text_column(self._df.columns, self._df.dtypes, column)
        options, table, progress = split_classify_kwargs(kwargs)
        classifier = get_classifier(options=options)
        layout = classifier_layout(table, classifier, self._df.columns)
        return pl.concat([self._df, _added_columns(self._df.get_column(column), classifier, layout, progress)], how="horizontal")


@_namespace(pl.api.register_lazyframe_namespace, pl.LazyFrame)
class EmotionsLazyFrameNamespace:
    """``lf.emotions``: the same columns as ``df.emotions.classify``, computed when the query is collected.

    Examples:
        >>> import polars as pl
        >>> lf = pl.LazyFrame({"body": ["Thank you so much!"]})
        >>> lf.emotions.classify("body", model="goemotions-small").collect_schema()["joy"]
        Float32
    """

    def __init__(self, lf: pl.LazyFrame) -> None:
        self._lf = lf

    def classify(self, column: str, **kwargs: Unpack[ClassifyKwargs]) -> pl.LazyFrame:
        """Lazily score ``column``; the query collects to what ``df.emotions.classify`` returns.

        Nothing loads here: the options are checked, and the label names (so the output schema, which
        ``collect_schema()`` shows) come from the model's ``config.json``. The model loads on the first
        batch, once per process; the streaming engine (``collect(engine="streaming")``, ``sink_parquet``)
        runs it batch by batch. Row order is kept. A filter or slice on the input columns placed after
        this step still runs before the model.

        Takes the arguments of ``df.emotions.classify``, and raises its errors when the query is built.

        Args:
            column: the text column (``String``, ``Categorical`` or ``Enum``).
            **kwargs: the options of ``df.emotions.classify``.

        Returns:
            a LazyFrame with the columns ``df.emotions.classify`` adds.

        Examples:
            >>> lf = pl.scan_parquet("comments/*.parquet")                                       # doctest: +SKIP
            >>> lf.emotions.classify("body", model="goemotions-small").sink_parquet("out.parquet")  # doctest: +SKIP
        """
        schema = self._lf.collect_schema()
        _check_text_column(schema.names(), schema.dtypes(), column)
        options, table, progress = split_classify_kwargs(kwargs)
        layout = declared_layout(table, options, None, schema.names())  # bound here: the query carries data, not files
        struct = _STRUCT_COLUMN
        while struct in schema or struct in layout.columns:
            struct += "_"
        batch = functools.partial(classify_batch, options=options, layout=layout, progress=progress)
        scored = pl.col(column).map_batches(batch, return_dtype=_output_struct(layout), is_elementwise=True)
        return self._lf.with_columns(scored.alias(struct)).unnest(struct)


@_namespace(pl.api.register_series_namespace, pl.Series)
class EmotionsSeriesNamespace:
    """``s.emotions``: score a Polars text Series.

    Examples:
        >>> import polars as pl
        >>> pl.Series(["Thank you!"]).emotions.labels(model="goemotions-small", top_k=1).to_list()  # doctest: +SKIP
        [['gratitude']]
    """

    def __init__(self, series: pl.Series) -> None:
        self._series = series

    def scores(self, **kwargs: Unpack[ScoreKwargs]) -> pl.DataFrame:
        """A DataFrame of one ``Float32`` column per label, a row per text (null scores for a null text).

        Takes the classifier options, ``options=`` and ``progress=`` as ``df.emotions.classify`` does.

        Args:
            **kwargs: the classifier options (``model``, ``device``, ``dtype``, ...) or ``options=``, and
                ``progress=``, as for ``df.emotions.classify``.

        Returns:
            a DataFrame of the scores, one ``Float32`` column per label.

        Examples:
            >>> pl.Series(["Thank you!"]).emotions.scores(model="goemotions-small")["gratitude"]  # doctest: +SKIP
        """
        options, progress = split_score_kwargs(kwargs)
        texts = _texts(self._series)
        classifier = get_classifier(options=options)
        labels = classifier.labels
        block = np.empty((len(labels), len(texts)), dtype=np.float32)
        classifier.scores(texts, progress=progress, out=block.T)
        return pl.DataFrame(float_columns(labels, block))

    def labels(
        self, *, threshold: ThresholdSpec | None = 0.5, top_k: int | None = None, **kwargs: Unpack[ScoreKwargs]
    ) -> pl.Series:
        """A ``List(String)`` Series named "emotions": the labels the policy selects per text, highest score
        first (an empty list for a null text).

        Args:
            threshold: the threshold policy (a float, ``{label: float}``, a preset or a JSON path).
            top_k: keep at most this many labels per text.
            **kwargs: the classifier options (``model``, ``device``, ``dtype``, ...) or ``options=``, and
                ``progress=``, as for ``df.emotions.classify``.

        Returns:
            the labels per text.
        """
        options, progress = split_score_kwargs(kwargs)
        texts = _texts(self._series)
        classifier = get_classifier(options=options)
        policy = TableOptions(threshold=threshold, top_k=top_k).policy(classifier.labels)
        scores = classifier.scores(texts, progress=progress)
        return pl.Series("emotions", classifier.select(scores, policy), dtype=pl.List(pl.String))
