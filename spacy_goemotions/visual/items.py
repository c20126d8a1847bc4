"""What the renderer shows for each input: a text, its scores, the labels that are on, its sentences and words.

Inputs are strings, spaCy Docs, :class:`Explanation` objects or None (a missing text), alone or in a
list. A Doc the ``goemotions`` component annotated is shown as the pipeline scored it (``doc.cats``,
``doc._.emotions``, the sentences' values, ``doc._.emotion_explanation``); everything else is scored
here, all texts in one call to the core, with the threshold policy given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.classifier import EmotionClassifier, get_classifier
from ..core.explanations import MAX_WORDS, Explanation, explain_segmented
from ..core.options import ClassifierOptions
from ..core.table import TableOptions
from ..core.text import is_missing_text
from ..core.thresholds import ThresholdPolicy
from .words import segment


@dataclass
class SentenceView:
    text: str
    scores: dict[str, float]
    selected: list[str]


@dataclass
class ItemView:
    """One text as the page shows it; ``text`` None is a missing text (shown as such, never dropped)."""

    text: str | None
    scores: dict[str, float] | None = None
    selected: list[str] | None = None  # None: not decided yet (the render's policy decides)
    sentences: list[SentenceView] = field(default_factory=list)
    explanation: Explanation | None = None
    caption: str | None = None


def as_list(obj: Any) -> list[Any]:
    """A single input as a one-item list; a list, tuple or other iterable of inputs as a list."""
    from spacy.tokens import Doc

    if is_missing_text(obj) or isinstance(obj, (str, Doc, Explanation)):
        return [obj]
    if isinstance(obj, Iterable):
        return list(obj)
    raise TypeError(f"render takes strings, spaCy Docs, Explanations or lists of them, got {type(obj).__name__}")


class _Scorer:
    """Loads the model only if something has to be scored, explained or selected with ``"tuned"``."""

    def __init__(self, options: ClassifierOptions, table: TableOptions) -> None:
        self.options, self.table = options, table
        self._classifier: EmotionClassifier | None = None
        self.selections = 0  # how many texts this policy decided (annotated Docs bring their own)

    @property
    def classifier(self) -> EmotionClassifier:
        if self._classifier is None:
            self._classifier = get_classifier(options=self.options)
        return self._classifier

    @property
    def used(self) -> bool:
        return self._classifier is not None

    def select(self, scores: Mapping[str, float]) -> list[str]:
        self.selections += 1
        labels = list(scores)
        policy: ThresholdPolicy = self.table.policy(labels)
        shipped = self.classifier.loaded.shipped_thresholds if policy.thresholds is None else None
        row = np.array([[scores[label] for label in labels]], dtype=np.float32)
        return policy.select_labels(row, labels, shipped)[0]


def collect(raw: Sequence[Any], options: ClassifierOptions, table: TableOptions, explain: bool) -> tuple[list[ItemView], _Scorer]:
    """The views of ``raw``, scoring (and explaining) what has not been, in one core call each."""
    from spacy.tokens import Doc

    scorer = _Scorer(options, table)
    views = [ItemView(None) for _ in raw]
    to_score: list[tuple[int, str, list[str]]] = []  # (item, its text, its sentences' texts)
    to_explain: list[int] = []
    for index, item in enumerate(raw):
        if is_missing_text(item):  # None, NaN, pd.NA: as everywhere else, a missing text, shown as such
            continue
        if isinstance(item, Explanation):
            views[index] = ItemView(item.text, dict(item.scores), explanation=item)
        elif isinstance(item, Doc):
            views[index] = _doc_view(item)
            if views[index].scores is None:
                to_score.append((index, item.text, [s.text for s in _sentences(item)]))
        elif isinstance(item, str):
            views[index] = ItemView(item)
            to_score.append((index, item, []))
        else:
            raise TypeError(f"item {index} is a {type(item).__name__}; render takes strings, spaCy Docs, Explanations or None")
        if explain and views[index].explanation is None:
            to_explain.append(index)
    _score(scorer, views, to_score)
    if to_explain:
        explained = explain_segmented(scorer.classifier, list(segment([raw[i] for i in to_explain], MAX_WORDS)))
        for index, explanation in zip(to_explain, explained, strict=True):
            views[index].explanation = explanation
    for view in views:
        if view.scores is not None and view.selected is None:
            view.selected = scorer.select(view.scores)
    return views, scorer


def _score(scorer: _Scorer, views: list[ItemView], to_score: list[tuple[int, str, list[str]]]) -> None:
    if not to_score:
        return
    texts = [text for _, text, sentences in to_score for text in (text, *sentences)]
    classifier = scorer.classifier
    matrix = classifier.scores(texts, progress=False)
    rows = iter(dict(zip(classifier.labels, row, strict=True)) for row in matrix.tolist())
    for index, _, sentences in to_score:
        views[index].scores = next(rows)
        for sentence in sentences:
            scores = next(rows)
            views[index].sentences.append(SentenceView(sentence, scores, scorer.select(scores)))


def _sentences(doc: Any) -> list[Any]:
    """A Doc's sentences when it has boundaries and more than one sentence (one is the text itself)."""
    if len(doc) == 0 or not doc.has_annotation("SENT_START"):
        return []
    sentences = list(doc.sents)
    return sentences if len(sentences) > 1 else []


def _doc_view(doc: Any) -> ItemView:
    """What the ``goemotions`` component wrote on ``doc``; no scores if it did not run (or without ``write_cats``)."""
    emotions = getattr(doc._, "emotions", None) if doc.has_extension("emotions") else None
    cats = dict(doc.cats)
    view = ItemView(doc.text)
    if emotions is not None and cats and set(emotions) <= set(cats):
        view.scores = {label: float(value) for label, value in cats.items()}
        view.selected = list(emotions)
        for sentence in _sentences(doc):
            if sentence._.emotion_scores is not None:
                view.sentences.append(
                    SentenceView(sentence.text, dict(sentence._.emotion_scores), list(sentence._.emotions or {}))
                )
    stored = getattr(doc._, "emotion_explanation", None) if doc.has_extension("emotion_explanation") else None
    if stored is not None:
        view.explanation = Explanation.from_dict(stored)
    return view
