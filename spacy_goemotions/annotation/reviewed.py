"""Reviewed labels: annotations read from a tool's export, conflicts resolved, checked against a label set.

Every reader (:mod:`.label_studio`, :mod:`.prodigy`, :mod:`.plain`) gives the same :class:`ExportRead`: one
:class:`Annotation` per person per task, and counts of what it left out (tasks nobody annotated, skipped or
cancelled tasks, rejected answers). :func:`resolve` makes one label set per task; :func:`reviewed_data` checks
the labels against the model's set and gives :class:`~spacy_goemotions.evaluation.datasets.LabelledData`, which
:func:`~spacy_goemotions.evaluation.conversion.write_docbin` writes for ``spacy train``.

**Conflicts** (two or more people annotated one task and chose different labels) are resolved by one policy:

- ``majority`` (the default): a label is on when more than half of the task's annotators chose it. With two
  annotators that is the labels both chose: a label only one person saw is left off rather than guessed.
- ``latest``: the most recent annotation (by its time in the export, then by its place in the file) wins, as
  when a reviewer corrects a first pass.
- ``drop``: tasks whose annotators disagree are left out.

Whatever the policy, the number of tasks in conflict is reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..errors import ConfigurationError, InputError
from ..evaluation.datasets import LabelledData

ConflictPolicy = Literal["majority", "latest", "drop"]
CONFLICT_POLICIES: tuple[ConflictPolicy, ...] = ("majority", "latest", "drop")


class AnnotationError(InputError):
    """An export that cannot become training data: not the tool's format, truncated, empty, or with unknown labels.

    The message names the file and what to do; the command line exits with 1 (bad input).

    Examples:
        >>> import_annotations("cut.json", "label-studio", GOEMOTIONS_LABELS)  # doctest: +SKIP
        Traceback (most recent call last):
        AnnotationError: cut.json: not valid JSON at line 1, column 52: it ends before the JSON does ...
    """


@dataclass(frozen=True)
class Annotation:
    """One person's labels for one task.

    Attributes:
        task: the task's id (ours: the input's id or the text's hash).
        text: the task's text.
        labels: the labels chosen (empty: the person said no label applies).
        annotator: who annotated, where the export says (None otherwise).
        time: when, as the export writes it (ISO time or epoch seconds, compared as such), or None.
        order: the annotation's place in the export, the tie-break of ``latest``.
    """

    task: str
    text: str
    labels: frozenset[str]
    annotator: str | None = None
    time: float | str | None = None
    order: int = 0


@dataclass
class ExportRead:
    """What a reader found in one export.

    Attributes:
        source: the file, for messages.
        tool: the tool's name, for messages.
        annotations: every usable annotation, in file order.
        tasks: the tasks (or records) in the export.
        left_out: why tasks or answers were left out -> how many (e.g. ``{"skipped": 3}``).
        offered: labels the export shows were offered (Prodigy's options), even if nobody chose them.
    """

    source: str
    tool: str
    annotations: list[Annotation] = field(default_factory=list)
    tasks: int = 0
    left_out: Counter[str] = field(default_factory=Counter)
    offered: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class ResolvedTask:
    """One task's reviewed labels, after :func:`resolve`."""

    task: str
    text: str
    labels: frozenset[str]
    annotators: int


@dataclass(frozen=True)
class Resolution:
    """The result of :func:`resolve`: tasks with one label set each, and how many were in conflict."""

    tasks: list[ResolvedTask]
    conflicts: int
    dropped: int


def resolve(read: ExportRead, policy: ConflictPolicy = "majority") -> Resolution:
    """One label set per task, in the order tasks first appear in the export.

    Raises:
        ConfigurationError: for an unknown policy.
        AnnotationError: when one task id carries two different texts (two exports mixed up, or ids reused).
    """
    if policy not in CONFLICT_POLICIES:
        raise ConfigurationError(f"Unknown conflict policy {policy!r}; choose one of {', '.join(CONFLICT_POLICIES)}.")
    by_task: dict[str, list[Annotation]] = {}
    for annotation in read.annotations:
        found = by_task.setdefault(annotation.task, [])
        if found and found[0].text != annotation.text:
            raise AnnotationError(
                f"{read.source}: task {annotation.task!r} appears with two different texts ({found[0].text[:40]!r}... and "
                f"{annotation.text[:40]!r}...). Ids must name one text: was this file joined from two projects?"
            )
        found.append(annotation)
    resolved, conflicts, dropped = [], 0, 0
    for task, given in by_task.items():
        if len({annotation.labels for annotation in given}) > 1:
            conflicts += 1
            if policy == "drop":
                dropped += 1
                continue
        resolved.append(ResolvedTask(task, given[0].text, _decide(given, policy), len(given)))
    return Resolution(resolved, conflicts, dropped)


def _decide(annotations: Sequence[Annotation], policy: ConflictPolicy) -> frozenset[str]:
    if len(annotations) == 1:
        return annotations[0].labels
    if policy == "latest":
        return max(annotations, key=lambda a: (_time_key(a.time), a.order)).labels
    votes = Counter(label for annotation in annotations for label in annotation.labels)
    return frozenset(label for label, count in votes.items() if count * 2 > len(annotations))


def _time_key(time: float | str | None) -> tuple[int, float, str]:
    # Exports write one kind of time; None (no time) sorts first, so a timed annotation is later than an untimed one.
    if time is None:
        return (0, 0.0, "")
    if isinstance(time, (int, float)):
        return (1, float(time), "")
    return (1, 0.0, time)


def reviewed_data(
    resolution: Resolution,
    labels: Sequence[str],
    *,
    allow_new_labels: bool = False,
    offered: Sequence[str] = (),
    source: str = "",
) -> LabelledData:
    """The reviewed tasks as labelled data over a label set: every label of the set a column, 0 or 1.

    Args:
        resolution: the resolved tasks.
        labels: the label set (the model's labels, or a taxonomy's groups).
        allow_new_labels: labels outside the set are added after it (a new label set) instead of refused.
        offered: labels the export offered (Prodigy's options): with ``allow_new_labels``, new ones become
            columns even if nobody chose them.
        source: the export, for messages.

    Raises:
        AnnotationError: for labels outside the set (listing them) unless ``allow_new_labels``, or when no task is left.
    """
    used = {label for task in resolution.tasks for label in task.labels}
    new = sorted((used | set(offered)) - set(labels)) if allow_new_labels else sorted(used - set(labels))
    if new and not allow_new_labels:
        raise AnnotationError(
            f"{source}: the annotations use label(s) {new} outside the label set ({len(labels)} labels: "
            f"{', '.join(labels[:6])}{', ...' if len(labels) > 6 else ''}). Is this an export of another project? "
            "For a model over your own labels, add --allow-new-labels (they are added after the set's), or give the "
            "set with --labels A,B,..."
        )
    names = (*labels, *new)
    if not resolution.tasks:
        raise AnnotationError(f"{source}: no reviewed text is left to write; see the counts above for what was left out.")
    column = {name: index for index, name in enumerate(names)}
    gold = np.zeros((len(resolution.tasks), len(names)), dtype=np.uint8)
    for row, task in enumerate(resolution.tasks):
        for label in task.labels:
            gold[row, column[label]] = 1
    return LabelledData([task.text for task in resolution.tasks], [task.task for task in resolution.tasks], gold, names)


def split_dev(data: LabelledData, share: float, seed: int = 0) -> tuple[LabelledData, LabelledData]:
    """A seeded split into (train, dev): ``round(share * n)`` texts go to dev (at least one, at most n - 1).

    Raises:
        ConfigurationError: for a share outside (0, 1), or fewer than two texts.
    """
    if not 0.0 < share < 1.0:
        raise ConfigurationError(f"The dev share must be between 0 and 1 (exclusive), got {share!r}. Example: --dev-share 0.2")
    if len(data) < 2:
        raise ConfigurationError(f"{len(data)} reviewed text(s) cannot be split into train and dev; annotate more first.")
    dev_count = min(max(1, round(share * len(data))), len(data) - 1)
    order = np.random.default_rng(seed).permutation(len(data))
    dev_rows, train_rows = np.sort(order[:dev_count]), np.sort(order[dev_count:])
    return _rows(data, train_rows), _rows(data, dev_rows)


def _rows(data: LabelledData, rows: np.ndarray) -> LabelledData:
    return LabelledData([data.texts[i] for i in rows], [data.ids[i] for i in rows], data.gold[rows], data.labels)


def format_report(read: ExportRead, resolution: Resolution, data: LabelledData | None, policy: ConflictPolicy) -> str:
    """What was read, left out and resolved, and the counts per label: the lines printed before writing."""
    lines = [f"{read.source} ({read.tool}): {read.tasks:,} tasks, {len(read.annotations):,} annotations"]
    for reason, count in sorted(read.left_out.items()):
        lines.append(f"  left out: {reason}: {count:,}")
    if resolution.conflicts:
        outcome = f"{resolution.dropped:,} dropped" if policy == "drop" else f"resolved by {policy}"
        lines.append(f"  conflicts: {resolution.conflicts:,} tasks whose annotators disagree ({outcome})")
    if data is not None:
        counts = data.gold.sum(axis=0).tolist()
        no_label = int((data.gold.sum(axis=1) == 0).sum())
        lines.append(f"  reviewed: {len(data):,} texts, {no_label:,} with no label; texts per label:")
        used = [(name, count) for name, count in zip(data.labels, counts, strict=True) if count]
        width = max((len(name) for name, _ in used), default=0)
        lines += [f"    {name:<{width}}  {count:>6,}" for name, count in used]
        unused = [name for name, count in zip(data.labels, counts, strict=True) if not count]
        if unused:
            lines.append(f"  labels without an example ({len(unused)}): {', '.join(unused)}")
    return "\n".join(lines) + "\n"
