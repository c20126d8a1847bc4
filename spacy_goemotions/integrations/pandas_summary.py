"""Summaries of a scored DataFrame (what ``df.emotions.classify`` returned, or a scored file read back).

The counting is the core's (:mod:`spacy_goemotions.core.summaries`); this module finds the score and
list columns, groups the rows (by a column, or by period of a datetime column) and builds tidy frames.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..core.summaries import cooccurrence, summarize
from ..core.taxonomies import available_taxonomies, load_taxonomy
from ..errors import ConfigurationError
from ..labels import GOEMOTIONS_LABELS


@dataclass(frozen=True)
class Level:
    """The labels, or one taxonomy's groups: their score columns and the column listing those on."""

    name: str
    names: list[str]
    score_columns: list[str]
    list_column: str


def levels(
    frame: pd.DataFrame,
    *,
    prefix: str = "",
    labels_column: str = "emotions",
    labels: Sequence[str] | None = None,
    taxonomies: Sequence[str] | None = None,
) -> list[Level]:
    """The labels level and each taxonomy level present in ``frame`` (taxonomies: the list columns found).

    Raises:
        ConfigurationError: when the score or list columns are not there, naming what to pass.
    """
    columns = set(frame.columns)
    names = list(labels) if labels is not None else list(GOEMOTIONS_LABELS)
    scores = [f"{prefix}{name}" for name in names]
    missing = [column for column in [*scores, labels_column] if column not in columns]
    if missing:
        raise ConfigurationError(
            f"This frame lacks the column(s) {missing[:5]}{'...' if len(missing) > 5 else ''} of scored texts. Summarize what "
            "df.emotions.classify returned, with its prefix= and labels_column= (and labels= for another model's labels).",
            options=("prefix", "labels_column", "labels"),
        )
    found = [Level("label", names, scores, labels_column)]
    explicit = taxonomies is not None
    for taxonomy in list(taxonomies) if taxonomies is not None else available_taxonomies():
        start = f"{prefix}{taxonomy}_"
        groups = [str(column)[len(start) :] for column in frame.columns if isinstance(column, str) and column.startswith(start)]
        if taxonomy in available_taxonomies():
            groups = [group for group in load_taxonomy(taxonomy, names).group_names if f"{start}{group}" in columns]
        if taxonomy not in columns or not groups:
            if not explicit:  # a column that merely shares a taxonomy's name is not one
                continue
            raise ConfigurationError(
                f"No columns of taxonomy {taxonomy!r} here (its list column {taxonomy!r} and {start}<group> scores). "
                f"Classify with taxonomy={taxonomy!r} first.",
                options=("taxonomy",),
            )
        found.append(Level(taxonomy, groups, [f"{start}{group}" for group in groups], taxonomy))
    return found


def selections(values: pd.Series) -> list[list[str]]:
    """A list column as lists of names, however it was stored: lists, arrays (Parquet), "a,b" (CSV), missing."""
    out: list[list[str]] = []
    for value in values.tolist():
        if isinstance(value, str):
            out.append([name for name in value.split(",") if name])
        elif isinstance(value, (list, tuple, np.ndarray)):
            out.append([str(name) for name in value])
        else:  # None or NaN: a row with nothing on (missing texts are told apart by their NaN scores)
            out.append([])
    return out


def _groups(frame: pd.DataFrame, by: Hashable | None, freq: str | None) -> Iterator[tuple[Any, pd.DataFrame]]:
    """``(key, rows)`` per group of ``by`` (per period of ``freq`` for a datetime column); no row is left out."""
    if by is None:
        if freq is not None:
            raise ConfigurationError(
                "freq= needs by= (a datetime column). Example: summary(by='created', freq='W')", options=("freq",)
            )
        yield None, frame
        return
    if by not in frame.columns:
        raise KeyError(f"Column {by!r} not found. Available columns: {list(frame.columns)}")
    if freq is None:
        yield from frame.groupby(by, dropna=False, observed=True, sort=True)
        return
    if not pd.api.types.is_datetime64_any_dtype(frame[by]):
        raise ConfigurationError(
            f"freq={freq!r} groups a datetime column by period, but {by!r} is {frame[by].dtype}. Convert it first, "
            f"e.g. df[{by!r}] = pd.to_datetime(df[{by!r}]).",
            options=("freq",),
        )
    dated = frame[by].notna()
    yield from frame[dated].groupby(pd.Grouper(key=by, freq=freq), sort=True)
    if not dated.all():  # rows without a date: their own group, not dropped
        yield pd.NaT, frame[~dated]


def summary_frame(frame: pd.DataFrame, found: list[Level], by: Hashable | None, freq: str | None) -> pd.DataFrame:
    """The tidy summary: one row per (group or period,) level and name."""
    rows: list[dict[Hashable, Any]] = []
    for key, part in _groups(frame, by, freq):
        for level in found:
            scores = part[level.score_columns].to_numpy(dtype=np.float64)
            for item in summarize(scores, selections(part[level.list_column]), level.names):
                row: dict[Hashable, Any] = {} if by is None else {by: key}
                row |= {
                    "level": level.name,
                    "name": item.name,
                    "texts": item.texts,
                    "missing": item.missing,
                    "on": item.on,
                    "share": item.share,
                    "mean_score": item.mean_score,
                }
                rows.append(row)
    columns = ([] if by is None else [by]) + ["level", "name", "texts", "missing", "on", "share", "mean_score"]
    return pd.DataFrame(rows, columns=columns)


def cooccurrence_frame(frame: pd.DataFrame, level: Level) -> pd.DataFrame:
    """Texts in which two names are on together (the diagonal: texts in which each is on)."""
    counts = cooccurrence(selections(frame[level.list_column]), level.names)
    return pd.DataFrame(counts, index=pd.Index(level.names, name=level.name), columns=level.names)
