"""How scores become table columns, for every integration that returns a table.

pandas, Dask, Ray and the file command all add the same columns: one float32 score column per label
(``prefix + label``) and a labels column (``labels_column``: the labels the threshold policy selects,
highest score first). :class:`TableOptions` is that part of their options, validated once; the
naming and clash rules live here so that every table integration applies them alike.
"""

import dataclasses
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from ..errors import ConfigurationError
from .options import ClassifierKwargs, ClassifierOptions, resolve_options
from .thresholds import DEFAULT_THRESHOLD, ThresholdPolicy, ThresholdSpec, check_top_k


@dataclass(frozen=True)
class TableOptions:
    """The threshold policy and the output column names of a table integration.

    Args:
        threshold: a float, ``{label: float}``, a preset name or a thresholds JSON path.
        top_k: keep at most this many labels per row (highest first); None keeps all that pass.
        prefix: put before each label to name its score column (e.g. ``"emo_"``).
        labels_column: the name of the column of selected labels.
    """

    threshold: ThresholdSpec | None = DEFAULT_THRESHOLD
    top_k: int | None = None
    prefix: str = ""
    labels_column: str = "emotions"

    def __post_init__(self) -> None:
        check_top_k(self.top_k)
        if not isinstance(self.prefix, str):
            raise ConfigurationError(f"prefix must be a string, got {self.prefix!r}. Example: prefix='emo_'")
        if not isinstance(self.labels_column, str) or not self.labels_column:
            raise ConfigurationError(
                f"labels_column must be a non-empty string, got {self.labels_column!r}. Example: labels_column='emotions'"
            )

    def policy(self, labels: Sequence[str]) -> ThresholdPolicy:
        """The validated threshold policy for a model's labels."""
        return ThresholdPolicy.from_spec(self.threshold, self.top_k, labels=labels)

    def score_columns(self, labels: Sequence[str]) -> list[str]:
        """The score column names, in the model's label order."""
        return [f"{self.prefix}{name}" for name in labels]

    def output_columns(self, labels: Sequence[str], existing: Sequence[Hashable] = ()) -> list[str]:
        """The columns a table gains (scores, then labels), checked against the ``existing`` ones.

        Raises:
            ConfigurationError: when the labels column is also a score column, or an output column
                already exists (it would be overwritten or appear twice).
        """
        scores = self.score_columns(labels)
        if self.labels_column in scores:
            raise ConfigurationError(
                f"labels_column={self.labels_column!r} is also the name of a score column; pick another, e.g. 'emotions'.",
                options=("labels_column",),
            )
        clashes = [name for name in [*scores, self.labels_column] if name in set(existing)]
        if clashes:
            raise ConfigurationError(
                f"The output column(s) {clashes} already exist in the input, so they would appear twice or be overwritten. "
                "Pass prefix= (e.g. prefix='emo_') and/or labels_column= to use other names.",
                options=("prefix", "labels_column"),
            )
        return [*scores, self.labels_column]


class TableKwargs(TypedDict, total=False):
    """The fields of :class:`TableOptions` as keyword arguments."""

    threshold: ThresholdSpec | None
    top_k: int | None
    prefix: str
    labels_column: str


class CallKwargs(TypedDict, total=False):
    """What every integration call takes besides the options themselves."""

    #: a ready :class:`ClassifierOptions`; keyword options override its fields
    options: ClassifierOptions
    #: True/False, or None for a bar on large inputs when stderr is a terminal
    progress: bool | None


class ScoreKwargs(ClassifierKwargs, CallKwargs, total=False):
    """What ``series.emotions.scores`` takes: the classifier options, ``options`` and ``progress``."""


class ClassifyKwargs(ClassifierKwargs, TableKwargs, CallKwargs, total=False):
    """What ``df.emotions.classify`` and the other table integrations take: classifier and table options,
    ``options`` and ``progress``."""


TABLE_OPTION_NAMES = frozenset(field.name for field in dataclasses.fields(TableOptions))


def split_score_kwargs(kwargs: Mapping[str, Any]) -> tuple[ClassifierOptions, bool | None]:
    """The classifier options (``options`` with the keyword options over it) and ``progress`` of a call.

    Raises:
        TypeError: for a name that is no option (with the closest one).
        ConfigurationError: for a bad value.
    """
    rest = dict(kwargs)
    options, progress = rest.pop("options", None), rest.pop("progress", None)
    return resolve_options(options, rest), progress


def split_classify_kwargs(kwargs: Mapping[str, Any]) -> tuple[ClassifierOptions, TableOptions, bool | None]:
    """A table integration's keyword arguments as classifier options, table options and ``progress``.

    Raises:
        TypeError: for a name that is neither (with the closest option).
        ConfigurationError: for a bad value of either.
    """
    table = {name: value for name, value in kwargs.items() if name in TABLE_OPTION_NAMES}
    options, progress = split_score_kwargs({name: value for name, value in kwargs.items() if name not in TABLE_OPTION_NAMES})
    return options, TableOptions(**table), progress
