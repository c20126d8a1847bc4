"""pandas accessors: ``df.emotions.classify(...)`` and ``series.emotions.scores()/labels()``.

A thin adapter: it converts a column to a list of ``str | None``, calls the core, and builds new
frames. It never mutates the caller's DataFrame and never drops or reorders a row. Options are the
core's (:class:`~spacy_goemotions.core.ClassifierOptions`, as keyword arguments or ``options=``) and
the table's (:class:`~spacy_goemotions.core.table.TableOptions`).
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..core.classifier import get_classifier
from ..core.explanations import MAX_WORDS
from ..core.options import ClassifierOptions
from ..core.table import (
    TableLayout,
    TableOptions,
    classifier_layout,
    derived_columns,
    score_block,
    split_classify_kwargs,
    split_score_kwargs,
)
from ..core.thresholds import ThresholdSpec
from ..visual import explain, render
from .pandas_summary import cooccurrence_frame, levels, summary_frame

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..annotation.sampling import TaskFormat
    from ..core.table import ClassifyKwargs, ScoreKwargs
    from ..evaluation.selection import SelectionStrategy

__all__ = ["EmotionsDataFrameAccessor", "EmotionsSeriesAccessor", "classify_frame", "texts_from_series"]


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


def text_column(frame: pd.DataFrame, column: Hashable) -> pd.Series:
    """The column to score, or a clear error for a missing or duplicated name."""
    if column not in frame.columns:
        raise KeyError(f"Column {column!r} not found. Available columns: {list(frame.columns)}")
    series = frame[column]
    if isinstance(series, pd.DataFrame):
        raise ValueError(f"Column name {column!r} is not unique in this DataFrame; rename the duplicates first.")
    return series


def classify_frame(
    frame: pd.DataFrame,
    column: Hashable,
    options: ClassifierOptions,
    output: TableOptions | TableLayout,
    progress: bool | None = None,
) -> pd.DataFrame:
    """What ``df.emotions.classify`` returns, from already validated options (Dask and Ray call this per partition).

    ``output``: the table options, bound here for the loaded model, or a :class:`TableLayout` bound already
    on the caller's side (what a distributed job ships), which is only checked against the model's labels.
    """
    series = text_column(frame, column)
    texts = texts_from_series(series)
    classifier = get_classifier(options=options)
    if isinstance(output, TableLayout):
        layout = output
        layout.check_model_labels(classifier.labels, classifier.model_name)
        layout.check_existing(list(frame.columns))
    else:
        layout = classifier_layout(output, classifier, list(frame.columns))
    block = score_block(texts, classifier, layout, progress)
    del texts  # the texts go before the label lists are built: memory beyond the output stays flat in rows
    scored = derived_columns(block, layout)
    added = pd.DataFrame(scored.floats.T, columns=scored.layout.float_columns, copy=False)  # adopts the block
    for name, values in scored.lists.items():
        added[name] = values
    # Positional join: the index may have duplicates or levels, and order must be kept as is.
    return pd.concat([frame.reset_index(drop=True), added], axis=1).set_axis(frame.index, axis=0)


def _accessed(obj: Any, kind: type, name: str) -> Any:
    """pandas builds an accessor for any object of the class it is registered on: check that it is one."""
    if not isinstance(obj, kind):
        raise AttributeError(f"the .emotions {name} accessor needs a {name}")
    return obj


@pd.api.extensions.register_dataframe_accessor("emotions")
class EmotionsDataFrameAccessor:
    """``df.emotions``: add emotion score columns and a labels column to a DataFrame.

    Examples:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"body": ["Thank you so much!", None]})
        >>> out = df.emotions.classify("body", model="goemotions-small", threshold="tuned")  # doctest: +SKIP
        >>> out["emotions"].tolist()                                                         # doctest: +SKIP
        [['gratitude'], []]
    """

    def __init__(self, pandas_obj: pd.DataFrame) -> None:
        self._df: pd.DataFrame = _accessed(pandas_obj, pd.DataFrame, "DataFrame")

    def classify(self, column: Hashable, **kwargs: Unpack[ClassifyKwargs]) -> pd.DataFrame:
        """Score ``column`` and return a NEW DataFrame: the original columns, one float32 column per
        label (named ``prefix + label``) and ``labels_column`` (the labels the policy selects,
        highest score first). Missing texts get NaN scores and an empty list.

        Args:
            column: the text column.
            **kwargs: the classifier options (``model``, ``revision``, ``device``, ``dtype``, ``backend``,
                ``batch_size``, ``max_tokens``, ``max_length``, ``long_text``, ``aggregate``, ...; see
                :class:`~spacy_goemotions.ClassifierOptions`), or a ready ``options=`` object that they
                override; the table options ``threshold`` (0.5), ``top_k`` (None), ``prefix`` ("") and
                ``labels_column`` ("emotions"); and ``progress`` (None: a bar for large inputs on a terminal).

        Returns:
            a new DataFrame; ``df`` itself is never modified, and its index and row order are kept.

        Examples:
            >>> out = df.emotions.classify("body", model="goemotions-small", threshold="tuned")  # doctest: +SKIP
        """
        options, table, progress = split_classify_kwargs(kwargs)
        return classify_frame(self._df, column, options, table, progress)

    def summary(
        self,
        by: Hashable | None = None,
        freq: str | None = None,
        *,
        prefix: str = "",
        labels_column: str = "emotions",
        labels: Sequence[str] | None = None,
        taxonomies: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """How often each label (and each group of each taxonomy present) is on, in a frame ``classify`` returned.

        One row per label (or group): ``texts`` (rows with a text), ``missing`` (rows without one: never
        counted as "no emotion"), ``on``, ``share`` (``on / texts``) and ``mean_score``; ``level`` says
        ``"label"`` or the taxonomy. ``by=`` a column gives the same per value of it (tidy, long format),
        and with ``freq=`` ("D", "W", "MS", ...) per period of a datetime column; rows without a value
        or date form a group of their own.

        Args:
            by: a column to summarize per value of (rows without a value form a group of their own).
            freq: with ``by`` a datetime column: a pandas offset alias (``"D"``, ``"W"``, ``"MS"``, ...) to summarize
                per period.
            prefix: the prefix of the score columns, as given to ``classify``.
            labels_column: the labels column, as given to ``classify``.
            labels: the label names (default: the GoEmotions labels found as columns).
            taxonomies: the taxonomies to summarize (default: every one found).

        Returns:
            a tidy frame: ``level``, ``name`` (then the ``by`` column), ``texts``, ``missing``, ``on``, ``share``,
                ``mean_score``.

        Examples:
            >>> scored = df.emotions.classify("body", taxonomy="ekman")               # doctest: +SKIP
            >>> scored.emotions.summary(by="created", freq="W")                        # doctest: +SKIP
        """
        found = levels(self._df, prefix=prefix, labels_column=labels_column, labels=labels, taxonomies=taxonomies)
        return summary_frame(self._df, found, by, freq)

    def cooccurrence(
        self, level: str = "label", *, prefix: str = "", labels_column: str = "emotions", labels: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """In how many texts two labels (or groups of taxonomy ``level``) are on together; the diagonal:
        in how many each is on. A square frame indexed and columned by the names.

        Args:
            level: ``"label"``, or the name of a taxonomy whose groups to count.
            prefix: the prefix of the score columns, as given to ``classify``.
            labels_column: the labels column, as given to ``classify``.
            labels: the label names (default: the GoEmotions labels).

        Returns:
            an integer frame, names by names.

        Examples:
            >>> out.emotions.cooccurrence("ekman").loc["joy", "surprise"]  # doctest: +SKIP
            1
        """
        taxonomies = None if level == "label" else [level]
        found = levels(self._df, prefix=prefix, labels_column=labels_column, labels=labels, taxonomies=taxonomies)
        return cooccurrence_frame(self._df, next(item for item in found if item.name == level))

    def render(
        self,
        column: Hashable,
        *,
        n: int = 20,
        random_state: int | None = 0,
        explain: bool = False,
        summary: bool = True,
        page: bool = False,
        jupyter: bool | None = None,
        **kwargs: Any,
    ) -> str | None:
        """The visualizer (``spacy_goemotions.render``) on ``n`` rows of ``column``, sampled when there are
        more (``random_state`` fixes the sample; rows keep their order), each captioned by its index label.

        Missing texts are shown as missing. ``kwargs``: ``threshold``, ``top_k``, ``bars``, ``title`` and
        the classifier options, as for ``render``.

        Args:
            column: the text column.
            n: most rows to show.
            random_state: seeds the sample when there are more than ``n`` rows.
            explain: also explain each text (words coloured by their effect).
            summary: open with how often each emotion is on.
            page: a standalone HTML document instead of a fragment.
            jupyter: display inline and return None; None: when in a notebook.
            **kwargs: ``threshold``, ``top_k``, ``bars``, ``title`` and the classifier options, as for ``render``.

        Returns:
            the HTML, or None when it was displayed in a notebook.
        """
        series = text_column(self._df, column)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be an integer >= 1, got {n!r}. Example: n=20")
        positions = np.arange(len(series))
        if len(series) > n:
            positions = np.sort(np.random.default_rng(random_state).choice(len(series), size=n, replace=False))
        sample = series.iloc[positions]
        captions = [f"row {label!r}" for label in sample.index]
        return render(
            texts_from_series(sample), captions=captions, explain=explain, summary=summary, page=page, jupyter=jupyter, **kwargs
        )

    def sample_for_review(
        self,
        column: Hashable,
        n: int = 500,
        strategy: SelectionStrategy = "uncertain",
        *,
        seed: int = 0,
        id_column: Hashable | None = None,
        exclude: str | os.PathLike[str] | None = None,
        output: str | os.PathLike[str] | None = None,
        task_format: TaskFormat = "label-studio",
        config: str | os.PathLike[str] | None = None,
        **kwargs: Unpack[ClassifyKwargs],
    ) -> pd.DataFrame:
        """Pick up to ``n`` rows worth annotating (``spacy-goemotions sample`` on a DataFrame), and with
        ``output`` write them as annotation tasks.

        Args:
            column: the text column.
            n: how many rows.
            strategy: ``"uncertain"``, ``"diverse"`` or ``"random"`` (see the annotation loop's documentation).
            seed: seeds the pick.
            id_column: a column of stable ids (default: each text's content hash).
            exclude: a tasks file or export of texts already labelled; they are never picked.
            output: also write the tasks here, in ``task_format`` (``label-studio``, ``prodigy``, ``jsonl``, ``csv``).
            task_format: the tasks' format.
            config: Label Studio: also write the labelling config XML here.
            **kwargs: the classifier and table options, as for :meth:`classify` (``threshold``, ``top_k``, one
                ``taxonomy`` whose groups are then annotated, ``group_threshold``, ``model``, ...).

        Returns:
            a new DataFrame of the picked rows in pick order (``df``'s index labels kept): ``review_id``, the
            text, one score column per label (or group), and ``labels`` (the pre-selected ones).

        Examples:
            >>> picked = df.emotions.sample_for_review("body", n=200, model="goemotions-small",   # doctest: +SKIP
            ...                                       output="tasks.json", config="labels.xml")
        """
        from ..annotation.sampling import read_exclusions, sample_tasks, write_tasks

        series = text_column(self._df, column)
        ids = None if id_column is None else text_column(self._df, id_column).tolist()
        options, table, progress = split_classify_kwargs(kwargs)
        batch = sample_tasks(
            texts_from_series(series),
            get_classifier(options=options),
            n=n,
            strategy=strategy,
            seed=seed,
            ids=ids,
            table=table,
            exclude=read_exclusions(os.fspath(exclude)) if exclude is not None else None,
            progress=progress,
        )
        if output is not None:
            write_tasks(batch, output, task_format, config=config)
        rows = [task.row for task in batch.tasks]
        picked = pd.DataFrame(
            {"review_id": [task.id for task in batch.tasks], column: [task.text for task in batch.tasks]},
            index=self._df.index[rows],
        )
        scores = np.array([list(task.scores.values()) for task in batch.tasks], dtype=np.float32).reshape(len(rows), -1)
        for position, name in enumerate(batch.names):
            picked[name] = scores[:, position]
        picked["labels"] = _object_array([task.labels for task in batch.tasks])
        return picked


@pd.api.extensions.register_series_accessor("emotions")
class EmotionsSeriesAccessor:
    """``series.emotions``: score a text Series.

    Examples:
        >>> import pandas as pd
        >>> texts = pd.Series(["Thank you so much!", "Why is this broken?"])
        >>> texts.emotions.labels(model="goemotions-small", top_k=1).tolist()  # doctest: +SKIP
        [['gratitude'], ['confusion']]
    """

    def __init__(self, pandas_obj: pd.Series) -> None:
        self._series: pd.Series = _accessed(pandas_obj, pd.Series, "Series")

    def scores(self, **kwargs: Unpack[ScoreKwargs]) -> pd.DataFrame:
        """An (n, labels) float32 DataFrame aligned to the Series index (NaN rows for missing text).

        Takes the classifier options, ``options=`` and ``progress=`` as ``df.emotions.classify`` does.

        Args:
            **kwargs: the classifier options (``model``, ``device``, ``dtype``, ...) or ``options=``, and
                ``progress=``, as for ``df.emotions.classify``.

        Returns:
            the scores, one column per label.
        """
        options, progress = split_score_kwargs(kwargs)
        classifier = get_classifier(options=options)
        texts = texts_from_series(self._series)
        block = np.empty((len(classifier.labels), len(texts)), dtype=np.float32)
        classifier.scores(texts, progress=progress, out=block.T)
        return pd.DataFrame(block.T, index=self._series.index, columns=list(classifier.labels), copy=False)

    def explain(
        self,
        *,
        labels: Sequence[str] | None = None,
        top_k: int | None = 3,
        max_words: int = MAX_WORDS,
        **kwargs: Unpack[ScoreKwargs],
    ) -> pd.Series:
        """A Series of :class:`~spacy_goemotions.Explanation` objects aligned to the Series index (None
        for a missing text): which words raise or lower each explained label (see ``spacy_goemotions.explain``).

        Args:
            labels: the labels to explain (default: each text's ``top_k`` highest).
            top_k: how many of each text's highest-scoring labels to explain.
            max_words: longer texts are explained a sentence at a time.
            **kwargs: the classifier options (``model``, ``device``, ``dtype``, ...) or ``options=``, and
                ``progress=``, as for ``df.emotions.classify``.

        Returns:
            one Explanation (or None) per row.

        Examples:
            >>> df["body"].emotions.explain(model="goemotions-small")[0].top_words("gratitude")  # doctest: +SKIP
        """
        explanations = explain(texts_from_series(self._series), labels=labels, top_k=top_k, max_words=max_words, **kwargs)
        return pd.Series(_object_array(explanations), index=self._series.index, name="explanation")

    def labels(
        self, *, threshold: ThresholdSpec | None = 0.5, top_k: int | None = None, **kwargs: Unpack[ScoreKwargs]
    ) -> pd.Series:
        """A Series of label lists (highest score first), aligned to the Series index.

        Args:
            threshold: the threshold policy (a float, ``{label: float}``, a preset or a JSON path).
            top_k: keep at most this many labels per text.
            **kwargs: the classifier options (``model``, ``device``, ``dtype``, ...) or ``options=``, and
                ``progress=``, as for ``df.emotions.classify``.

        Returns:
            one list per row; ``[]`` for a missing text.
        """
        options, progress = split_score_kwargs(kwargs)
        classifier = get_classifier(options=options)
        policy = TableOptions(threshold=threshold, top_k=top_k).policy(classifier.labels)
        scores = classifier.scores(texts_from_series(self._series), progress=progress)
        return pd.Series(_object_array(classifier.select(scores, policy)), index=self._series.index, name="emotions")


def _object_array(rows: Sequence[Any]) -> np.ndarray:
    """A 1-D object array of the items (np.array would build a 2-D array from equal-length lists)."""
    array = np.empty(len(rows), dtype=object)
    for i, row in enumerate(rows):
        array[i] = row
    return array
