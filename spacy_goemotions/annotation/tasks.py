"""Review tasks: the texts picked for annotation, each with a stable id, the model's scores and its pre-selected labels.

A task is what every annotation tool's format is written from (:mod:`.label_studio`, :mod:`.prodigy`,
:mod:`.plain`). The *review space* is what people annotate: the model's labels, or the groups of one taxonomy
(``--taxonomy ekman``: annotators choose among 7 groups, each scored as the maximum of its members, as
everywhere else in the package). Its thresholds are the policy's (``threshold=`` for labels, ``group_threshold=``
for groups): ``uncertain`` picks the texts whose scores sit closest to them, and the labels at or above them are
pre-selected.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..core.table import TableLayout
from ..errors import ConfigurationError, InputError
from ..evaluation.selection import SelectionStrategy, select_for_review

#: Digits of a content hash id: 16 hex digits (64 bits): two of a billion distinct texts share an id with a chance
#: of about 3% (the birthday bound), and the ids stay short enough to read in an annotation tool.
HASH_ID_DIGITS = 16


def content_id(text: str) -> str:
    """A stable id for a text without one: ``sha256:`` and the first 16 hex digits of the UTF-8 text's SHA-256.

    Examples:
        >>> content_id("I love it")
        'sha256:46e89f75dec156c0'
    """
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_ID_DIGITS]


@dataclass(frozen=True)
class ReviewSpace:
    """What annotators choose among, with the model's scores and cutoffs in it.

    Attributes:
        names: the labels (or a taxonomy's groups), in column order.
        scores: (texts, names) float32 scores (NaN rows: texts that were missing or empty).
        cutoffs: one threshold per name, the policy's.
        selected: per text, the names at or above their cutoff (the policy's ``top_k`` applied), highest first.
        taxonomy: the taxonomy's name, or None for the model's own labels.
    """

    names: tuple[str, ...]
    scores: npt.NDArray[np.float32]
    cutoffs: npt.NDArray[np.float64]
    selected: list[list[str]]
    taxonomy: str | None = None

    @classmethod
    def from_layout(cls, layout: TableLayout, label_scores: npt.NDArray[np.float32]) -> ReviewSpace:
        """The model's labels, or the groups of the one taxonomy ``layout`` holds.

        Raises:
            ConfigurationError: when the layout holds more than one taxonomy (annotators work in one space).
        """
        if len(layout.groups) > 1:
            given = [group.taxonomy.name for group in layout.groups]
            raise ConfigurationError(
                f"Annotators choose in one label space, but {len(given)} taxonomies were given ({', '.join(given)}). "
                "Give one, e.g. --taxonomy ekman, or none for the model's labels.",
                options=("taxonomy",),
            )
        if layout.groups:
            group = layout.groups[0]
            scores = group.scores(label_scores, layout.labels)
            names = group.taxonomy.group_names
            return cls(names, scores, group.policy.cutoffs(names).astype(np.float64), group.select(scores), group.taxonomy.name)
        names = layout.labels
        selected = layout.policy.select_labels(label_scores, names)
        return cls(names, np.asarray(label_scores, np.float32), layout.policy.cutoffs(names).astype(np.float64), selected)


@dataclass(frozen=True)
class ReviewTask:
    """One text to annotate.

    Attributes:
        id: the input's id for the text, or :func:`content_id` of it.
        text: the text.
        scores: the model's score per name of the review space, in its order.
        labels: the pre-selected names (at or above their thresholds), highest score first.
        row: the text's row in the input (from 0).

    Examples:
        >>> ReviewTask("T1", "Thanks!", {"gratitude": 0.97, "joy": 0.2}, ["gratitude"], row=0).labels
        ['gratitude']
    """

    id: str
    text: str
    scores: dict[str, float]
    labels: list[str]
    row: int


@dataclass(frozen=True)
class ReviewBatch:
    """Tasks picked from one input, and what produced them (written into each format's metadata).

    Attributes:
        tasks: in pick order.
        names: the review space's labels or groups (what the labelling config offers).
        model: the model's name.
        strategy: how the texts were picked.
        seed: the selection's seed.
        taxonomy: the taxonomy whose groups are annotated, or None.
        candidates: how many texts could be picked (not empty, not excluded).

    Examples:
        >>> batch = sample_tasks(texts, classifier, n=100)           # doctest: +SKIP
        >>> batch.model_version, len(batch.tasks), batch.names[:2]   # doctest: +SKIP
        ('goemotions-small (uncertain, seed 0)', 100, ('admiration', 'amusement'))
    """

    tasks: list[ReviewTask]
    names: tuple[str, ...]
    model: str
    strategy: SelectionStrategy
    seed: int
    taxonomy: str | None = None
    candidates: int = 0

    @property
    def model_version(self) -> str:
        """What Label Studio shows as the prediction's ``model_version``: model, space and strategy."""
        space = f"/{self.taxonomy}" if self.taxonomy else ""
        return f"{self.model}{space} ({self.strategy}, seed {self.seed})"


def pick_tasks(
    texts: Sequence[str | None],
    ids: Sequence[object] | None,
    space: ReviewSpace,
    n: int,
    strategy: SelectionStrategy,
    *,
    seed: int = 0,
    exclude: ExcludedTexts | None = None,
    model: str = "",
) -> ReviewBatch:
    """Pick up to ``n`` texts (see :func:`~spacy_goemotions.evaluation.selection.select_for_review`) as tasks.

    Args:
        texts: the input's texts (None or blank: never picked).
        ids: the input's ids (one per text, made strings), or None to use :func:`content_id`.
        space: the scores and thresholds in the space annotators work in.
        n: how many tasks.
        strategy: ``uncertain``, ``diverse`` or ``random``.
        seed: seeds the selection.
        exclude: texts already labelled (by id or by text), never picked again.
        model: the model's name, for the tasks' metadata.

    Returns:
        the picked tasks, in pick order.

    Raises:
        ConfigurationError: for an unknown strategy or bad ``n``.
        InputError: when an id names more than one row.
        ValueError: when the lengths of ``texts``, ``ids`` and the scores differ.

    Examples:
        >>> import numpy as np
        >>> space = ReviewSpace(("joy", "anger"), np.array([[0.9, 0.1], [0.55, 0.2]], np.float32), np.full(2, 0.5),
        ...                     [["joy"], ["joy"]])
        >>> [(task.id, task.labels) for task in pick_tasks(["Yay", "Hm"], ["a", "b"], space, 1, "uncertain").tasks]
        [('b', ['joy'])]
    """
    if ids is not None and len(ids) != len(texts):
        raise ValueError(f"{len(ids)} ids for {len(texts)} texts")
    if len(space.scores) != len(texts):
        raise ValueError(f"{len(space.scores)} score rows for {len(texts)} texts")
    id_strings = [None if value is None or value == "" else str(value) for value in ids] if ids is not None else None
    if id_strings is not None:
        repeated = [value for value, count in Counter(v for v in id_strings if v is not None).items() if count > 1]
        if repeated:
            raise InputError(
                f"{len(repeated)} id(s) name more than one row (e.g. {', '.join(map(repr, repeated[:3]))}): a task's id "
                "must name one text. Give a column of unique ids, or none (each text's content hash is its id)."
            )
    blank = np.array([not isinstance(text, str) or not text.strip() for text in texts], dtype=bool)
    excluded = blank if exclude is None else blank | exclude.mask(texts, id_strings)
    texts_or_empty = [text if isinstance(text, str) else "" for text in texts]
    rows = select_for_review(space.scores, space.cutoffs, n, strategy, texts=texts_or_empty, exclude=excluded, seed=seed)
    tasks = []
    for row in rows.tolist():
        text = texts_or_empty[row]
        given = id_strings[row] if id_strings is not None else None
        scores = {name: round(float(value), 6) for name, value in zip(space.names, space.scores[row].tolist(), strict=True)}
        tasks.append(ReviewTask(given if given else content_id(text), text, scores, list(space.selected[row]), row))
    return ReviewBatch(tasks, space.names, model, strategy, seed, space.taxonomy, int((~excluded).sum()))


@dataclass(frozen=True)
class ExcludedTexts:
    """Texts already labelled: their ids and their texts (up to case and whitespace), never picked again."""

    ids: frozenset[str]
    texts: frozenset[str]

    def mask(self, texts: Sequence[str | None], ids: Sequence[str | None] | None) -> npt.NDArray[np.bool_]:
        """True for each text excluded by its id or by its text."""
        by_text = [isinstance(text, str) and normalized(text) in self.texts for text in texts]
        by_id = [identifier in self.ids for identifier in ids] if ids is not None else [False] * len(texts)
        return np.array([a or b for a, b in zip(by_text, by_id, strict=True)], dtype=bool)


def normalized(text: str) -> str:
    """The form in which two texts count as the same: case folded, runs of whitespace as one space."""
    return " ".join(text.split()).casefold()
