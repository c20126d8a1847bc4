"""How scores become table columns, for every integration that returns a table.

pandas, Dask, Ray and the file command all add the same columns: one float32 score column per label
(``prefix + label``), a float32 column per group of each taxonomy asked for (``prefix + name_group``),
a labels column (``labels_column``: the labels the threshold policy selects, highest score first) and
a list column per taxonomy (its groups that are on). :class:`TableOptions` is that part of their
options, validated once.

:class:`TableLayout` is the output *bound once*, on the caller's side: the labels, the per-label cutoffs
with ``"tuned"`` already resolved to the model's shipped thresholds, ``top_k``, the taxonomies (read from
their files) with their group cutoffs, and the column names. It is plain, picklable data: Dask, Spark,
Polars and DuckDB build it where the job is built and ship it to their workers as is, so a thresholds or
taxonomy file is read once (a worker never needs it, and an edit during a job changes nothing); a worker
only checks that its model has the same labels (:meth:`TableLayout.check_model_labels`). Every integration
then turns scores into its columns through one call, :func:`derived_columns`.
"""

import dataclasses
import os
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np
import numpy.typing as npt

from ..errors import ConfigurationError
from .options import ClassifierKwargs, ClassifierOptions, check_option_names, resolve_options
from .taxonomies import Taxonomy, TaxonomySpec, load_taxonomy
from .thresholds import DEFAULT_THRESHOLD, TUNED_PRESET, ThresholdPolicy, ThresholdSpec, check_top_k, read_thresholds_file

if TYPE_CHECKING:
    from .classifier import EmotionClassifier


@dataclass(frozen=True)
class GroupOutput:
    """The columns one taxonomy adds: a score per group and the list of groups its policy selects."""

    taxonomy: Taxonomy
    policy: ThresholdPolicy
    score_columns: list[str]
    list_column: str

    def scores(self, label_scores: npt.NDArray[np.float32], labels: Sequence[str]) -> npt.NDArray[np.float32]:
        return self.taxonomy.scores(label_scores, labels)

    def select(self, group_scores: npt.NDArray[np.float32]) -> list[list[str]]:
        return self.policy.select_labels(group_scores, self.taxonomy.group_names)

    def to_dict(self) -> dict[str, Any]:
        """Plain data: the taxonomy's groups and the policy (what a saved pipeline or a checkpoint holds)."""
        return {**self.taxonomy.to_dict(), "policy": self.policy.to_dict(), "score_columns": self.score_columns}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], labels: Sequence[str]) -> "GroupOutput":
        taxonomy = Taxonomy.from_dict(data, labels)
        columns = list(data.get("score_columns") or [f"{taxonomy.name}_{group}" for group in taxonomy.groups])
        return cls(taxonomy, ThresholdPolicy.from_dict(data["policy"], labels=taxonomy.group_names), columns, taxonomy.name)


@dataclass(frozen=True)
class TableLayout:
    """Every column a table gains, for one model: float scores first (labels, then each taxonomy's
    groups), then the lists of what is on (labels, then each taxonomy's groups)."""

    labels: tuple[str, ...]
    policy: ThresholdPolicy
    score_columns: list[str]
    labels_column: str
    groups: list[GroupOutput]

    @property
    def float_columns(self) -> list[str]:
        return [*self.score_columns, *(name for group in self.groups for name in group.score_columns)]

    @property
    def list_columns(self) -> list[str]:
        return [self.labels_column, *(group.list_column for group in self.groups)]

    @property
    def columns(self) -> list[str]:
        return [*self.float_columns, *self.list_columns]

    def group_scores(self, label_scores: npt.NDArray[np.float32]) -> list[npt.NDArray[np.float32]]:
        """Each taxonomy's ``(n, groups)`` scores."""
        return [group.scores(label_scores, self.labels) for group in self.groups]

    def check_model_labels(self, labels: Sequence[str], model: str) -> None:
        """A worker's check that the model it loaded is the one the layout was bound for.

        Raises:
            ConfigurationError: naming both label lists, and how to fix the job.
        """
        if tuple(labels) != self.labels:
            raise ConfigurationError(
                f"Model {model!r} has the labels {list(labels)}, but this job's output was built for {list(self.labels)}. "
                "Drop labels= (the labels are then read from the model's config.json) or pass the model's own labels "
                "in its id2label order.",
                options=("labels",),
            )

    def check_existing(self, existing: Sequence[Hashable]) -> None:
        """Refuse output columns that are already among the input's ``existing`` columns.

        Raises:
            ConfigurationError: naming them, with the options that rename them.
        """
        present = set(existing)
        clashes = [name for name in self.columns if name in present]
        if clashes:
            raise ConfigurationError(
                f"The output column(s) {clashes} already exist in the input, so they would appear twice or be overwritten. "
                "Pass prefix= (e.g. prefix='emo_') and/or labels_column= to use other names.",
                options=("prefix", "labels_column"),
            )

    def describe(self) -> dict[str, Any]:
        """Plain data for a run's fingerprint: everything that decides the columns and their values."""
        return {
            "columns": self.columns,
            "policy": self.policy.to_dict(),
            "taxonomies": [group.to_dict() for group in self.groups],
        }


@dataclass(frozen=True)
class ScoredColumns:
    """The columns a table gains for ``n`` texts, as plain arrays every table integration converts.

    Attributes:
        layout: the names, in order.
        floats: ``(len(layout.float_columns), n)`` float32: row ``i`` is column ``layout.float_columns[i]``,
            contiguous, so a DataFrame (or an Arrow array) can adopt the block without a copy.
        lists: each of ``layout.list_columns`` as a 1-D object array of label lists (``[]`` for missing text).
    """

    layout: TableLayout
    floats: npt.NDArray[np.float32]
    lists: dict[str, npt.NDArray[np.object_]]


def table_columns(
    texts: Sequence[str | None],
    classifier: "EmotionClassifier",
    layout: TableLayout,
    progress: bool | None = None,
) -> ScoredColumns:
    """Score ``texts`` and derive every column ``layout`` names (labels, groups, lists), in input order.

    What pandas, Polars, DuckDB and Spark add, computed once here: :func:`score_block` then
    :func:`derived_columns` (a caller holding many texts calls the two itself, releasing the texts
    in between, as the pandas accessor does).
    """
    layout.check_model_labels(classifier.labels, classifier.model_name)
    return derived_columns(score_block(texts, classifier, layout, progress), layout)


def score_block(
    texts: Sequence[str | None], classifier: "EmotionClassifier", layout: TableLayout, progress: bool | None = None
) -> npt.NDArray[np.float32]:
    """The ``(len(layout.float_columns), n)`` float32 block with the label scores filled in (groups not yet).

    The core writes the scores straight into the block the caller's table adopts without a copy.
    """
    block = np.empty((len(layout.float_columns), len(texts)), dtype=np.float32)
    classifier.scores(texts, progress=progress, out=block[: len(layout.labels)].T)
    return block


def derived_columns(block: npt.NDArray[np.float32], layout: TableLayout) -> ScoredColumns:
    """The group scores (into ``block``) and the list columns, from a block whose first rows hold the label
    scores (:func:`score_block`): the one derivation every table, file and adapter uses.

    Labels are selected a window of rows at a time, so memory beyond the output columns does not grow
    with the rows (benchmarks/memory.py).
    """
    n_labels = len(layout.labels)
    label_scores = block[:n_labels].T
    lists = {layout.labels_column: select_in_windows(layout.policy, label_scores, layout.labels, None)}
    start = n_labels
    for group, scores in zip(layout.groups, layout.group_scores(label_scores), strict=True):
        block[start : start + scores.shape[1]] = scores.T
        start += scores.shape[1]
        lists[group.list_column] = select_in_windows(group.policy, scores, group.taxonomy.group_names, None)
    return ScoredColumns(layout, block, lists)


def select_in_windows(
    policy: ThresholdPolicy,
    scores: npt.NDArray[np.float32],
    labels: Sequence[str],
    shipped: Mapping[str, float] | None,
    window: int = 8192,
) -> npt.NDArray[np.object_]:
    """The policy's labels per row as a 1-D object array, a window of rows at a time (bounded temporaries)."""
    selected = np.empty(len(scores), dtype=object)
    for start in range(0, len(scores), window):
        for offset, row in enumerate(policy.select_labels(scores[start : start + window], labels, shipped)):
            selected[start + offset] = row
    return selected


@dataclass(frozen=True)
class TableOptions:
    """The threshold policies and the output column names of a table integration.

    Args:
        threshold: a float, ``{label: float}``, a preset name or a thresholds JSON path.
        top_k: keep at most this many labels per row (highest first); None keeps all that pass.
        prefix: put before each label to name its score column (e.g. ``"emo_"``).
        labels_column: the name of the column of selected labels.
        taxonomy: also add emotion groups: ``"ekman"``, ``"sentiment"``, a registered name, a JSON file
            ``{group: [labels]}`` or a :class:`~spacy_goemotions.core.taxonomies.Taxonomy`, or a list of them.
            Each adds ``{prefix}{name}_{group}`` score columns (the maximum of the members' scores) and a
            list column ``{name}`` of the groups that are on.
        group_threshold: the groups' policy: a float, ``{group: float}`` (groups of any of the taxonomies;
            others 0.5) or a thresholds JSON file (``tune-thresholds --taxonomy``).
        group_top_k: keep at most this many groups per row and taxonomy.
    """

    threshold: ThresholdSpec | None = DEFAULT_THRESHOLD
    top_k: int | None = None
    prefix: str = ""
    labels_column: str = "emotions"
    taxonomy: TaxonomySpec | Sequence[TaxonomySpec] | None = None
    group_threshold: ThresholdSpec | None = DEFAULT_THRESHOLD
    group_top_k: int | None = None

    def __post_init__(self) -> None:
        check_top_k(self.top_k)
        check_top_k(self.group_top_k)
        if not isinstance(self.prefix, str):
            raise ConfigurationError(f"prefix must be a string, got {self.prefix!r}. Example: prefix='emo_'", options=("prefix",))
        if not isinstance(self.labels_column, str) or not self.labels_column:
            raise ConfigurationError(
                f"labels_column must be a non-empty string, got {self.labels_column!r}. Example: labels_column='emotions'",
                options=("labels_column",),
            )
        if self.group_threshold == TUNED_PRESET:
            raise ConfigurationError(
                "group_threshold='tuned' does not apply to groups (the shipped thresholds are per label). Pass a float, "
                "a {group: threshold} dict, or the JSON of `spacy-goemotions tune-thresholds --taxonomy NAME`.",
                options=("group_threshold",),
            )

    def policy(self, labels: Sequence[str], shipped_thresholds: Mapping[str, float] | None = None) -> ThresholdPolicy:
        """The validated threshold policy for a model's labels; with ``shipped_thresholds``, bound
        (``"tuned"`` resolved: see :meth:`ThresholdPolicy.bound`)."""
        policy = ThresholdPolicy.from_spec(self.threshold, self.top_k, labels=labels)
        return policy.bound(labels, shipped_thresholds) if shipped_thresholds is not None else policy

    @property
    def uses_shipped_thresholds(self) -> bool:
        """Whether the policy is the model's own (``"tuned"``), so binding it needs the model's thresholds.json."""
        return isinstance(self.threshold, str) and self.threshold == TUNED_PRESET

    def score_columns(self, labels: Sequence[str]) -> list[str]:
        """The score column names, in the model's label order."""
        return [f"{self.prefix}{name}" for name in labels]

    def taxonomies(self, labels: Sequence[str]) -> list[Taxonomy]:
        """The taxonomies asked for, validated against the model's labels (names must differ)."""
        spec = self.taxonomy
        specs = [] if spec is None else [spec] if isinstance(spec, (str, os.PathLike, Taxonomy)) else list(spec)
        loaded = [load_taxonomy(item, labels) for item in specs]
        names = [taxonomy.name for taxonomy in loaded]
        if len(set(names)) < len(names):
            raise ConfigurationError(
                f"Two taxonomies share a name among {names}; their columns would collide.", options=("taxonomy",)
            )
        return loaded

    def group_policy(self, taxonomy: Taxonomy, every_group: set[str]) -> ThresholdPolicy:
        """The groups' policy for one taxonomy; a dict may name the groups of any taxonomy asked for."""
        spec, source = self.group_threshold, None
        if isinstance(spec, (str, os.PathLike)):  # a thresholds file: its groups may belong to any taxonomy asked for
            source = os.fspath(spec)
            spec = read_thresholds_file(source)
        if isinstance(spec, Mapping):
            unknown = sorted(set(spec) - every_group)
            if unknown:
                raise ConfigurationError(
                    f"group_threshold names group(s) {unknown} of no taxonomy asked for. "
                    f"Groups: {', '.join(sorted(every_group))}.",
                    options=("group_threshold",),
                )
            spec = {group: value for group, value in spec.items() if group in taxonomy.groups}
        policy = ThresholdPolicy.from_spec(spec, self.group_top_k, labels=taxonomy.group_names)
        return dataclasses.replace(policy, source=source) if source else policy

    def layout(
        self, labels: Sequence[str], existing: Sequence[Hashable] = (), *, shipped_thresholds: Mapping[str, float] | None = None
    ) -> TableLayout:
        """The bound output (see the module docstring) for a model's labels, its columns checked against each
        other and against the ``existing`` ones.

        Args:
            labels: the model's labels, in score-column order.
            existing: the input's columns (an output column must not be one of them).
            shipped_thresholds: the model's thresholds.json, which ``threshold="tuned"`` needs.

        Raises:
            ConfigurationError: for a bad policy or taxonomy, ``"tuned"`` without shipped thresholds, or when an
                output column is another output column or already exists (it would be overwritten or appear twice).
        """
        taxonomies = self.taxonomies(labels)
        every_group = {group for taxonomy in taxonomies for group in taxonomy.groups}
        groups = [
            GroupOutput(
                taxonomy,
                self.group_policy(taxonomy, every_group),
                [f"{self.prefix}{taxonomy.name}_{group}" for group in taxonomy.groups],
                taxonomy.name,
            )
            for taxonomy in taxonomies
        ]
        policy = self.policy(labels).bound(labels, shipped_thresholds)
        layout = TableLayout(tuple(labels), policy, self.score_columns(labels), self.labels_column, groups)
        columns = layout.columns
        if self.labels_column in layout.float_columns:
            raise ConfigurationError(
                f"labels_column={self.labels_column!r} is also the name of a score column; pick another, e.g. 'emotions'.",
                options=("labels_column",),
            )
        repeated = sorted({name for name in columns if columns.count(name) > 1})
        if repeated:
            raise ConfigurationError(
                f"The output column(s) {repeated} would be made twice (a labels or taxonomy column with a score column's name); "
                "pick another labels_column= or prefix=, e.g. labels_column='emotions'.",
                options=("labels_column", "prefix"),
            )
        layout.check_existing(existing)
        return layout


def classifier_layout(table: TableOptions, classifier: "EmotionClassifier", existing: Sequence[Hashable] = ()) -> TableLayout:
    """The bound output for a loaded classifier (its labels and shipped thresholds): eager integrations."""
    return table.layout(classifier.labels, existing, shipped_thresholds=classifier.loaded.shipped_thresholds)


def declared_layout(
    table: TableOptions, options: ClassifierOptions, labels: Sequence[str] | None = None, existing: Sequence[Hashable] = ()
) -> TableLayout:
    """The bound output of a lazy or distributed job, on the caller's side and without loading the model: the
    labels from ``labels=`` or the model's config.json, ``"tuned"`` from the model's thresholds.json."""
    from .loading import declared_labels, read_shipped_thresholds, resolve_model_source

    names = declared_labels(options, labels)
    shipped = None
    if table.uses_shipped_thresholds:
        shipped = read_shipped_thresholds(resolve_model_source(options.model_name), options.revision)
    return table.layout(names, existing, shipped_thresholds=shipped)


class TableKwargs(TypedDict, total=False):
    """The fields of :class:`TableOptions` as keyword arguments."""

    threshold: ThresholdSpec | None
    top_k: int | None
    prefix: str
    labels_column: str
    taxonomy: TaxonomySpec | Sequence[TaxonomySpec] | None
    group_threshold: ThresholdSpec | None
    group_top_k: int | None


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
    # A misspelt table option ("thresold") is suggested among every name a table call takes, not only the classifier's.
    check_option_names(kwargs, TABLE_OPTION_NAMES | {"options", "progress"}, "option")
    table = {name: value for name, value in kwargs.items() if name in TABLE_OPTION_NAMES}
    options, progress = split_score_kwargs({name: value for name, value in kwargs.items() if name not in TABLE_OPTION_NAMES})
    return options, TableOptions(**table), progress
