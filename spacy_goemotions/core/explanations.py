"""Word-level explanations by leave-one-word-out occlusion: which words raise or lower a label's score.

For a text cut into tokens ``t_0 .. t_n-1`` (``"".join(t.text_with_ws) == text``), the attribution of
token ``i`` to label ``L`` is::

    score_L(text) - score_L("".join(t.text_with_ws for t in tokens if t.i != i))

the drop in the label's score when the word is left out: positive when the word raises the score,
negative when it lowers it. It is exact (no gradients, no sampling) and needs nothing of the model but
its scores, so it works on every backend. A text of ``n`` words costs ``n + 1`` scored sequences; all
of them, for all texts, go through the classifier's batched, length-sorted path together (identical
variants are scored once).

Cost is bounded by ``max_words``: a longer text is explained a *unit* at a time, where a unit is a
sentence (windows of ``max_words`` words within a longer sentence). A word's attribution is then
``score_L(unit) - score_L(unit without the word)``, each unit being the ``"".join`` of its tokens'
``text_with_ws``; the explanation's ``scores`` are still those of the whole text. Whitespace tokens are
kept for the text but never left out, and are not among the explanation's words.

This module does the arithmetic on tokens it is given; cutting texts into words (spaCy's tokenizer)
happens above the core, in :mod:`spacy_goemotions.visual.explain`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigurationError
from .progress import progress_bar
from .thresholds import check_top_k

if TYPE_CHECKING:
    from .classifier import EmotionClassifier

#: Words explained together at most (each costs one scored sequence): longer texts go by sentence.
MAX_WORDS = 128
#: Sequences handed to the classifier per call: bounds memory on huge inputs, keeps batches full.
SEQUENCES_PER_CALL = 32_768


@dataclass(frozen=True)
class Word:
    """One token of a text: its text, where it starts (a character offset) and the whitespace after it."""

    text: str
    start: int
    whitespace: str = ""

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    @property
    def text_with_ws(self) -> str:
        return self.text + self.whitespace

    @property
    def is_space(self) -> bool:
        return not self.text.strip()


@dataclass(frozen=True)
class Segmented:
    """A text cut into tokens, and (when known) its sentences as ``[start, end)`` token ranges.

    Raises:
        ValueError: when the tokens do not spell the text (the formula would not hold).
    """

    text: str
    tokens: tuple[Word, ...]
    sentences: tuple[tuple[int, int], ...] | None = None

    def __post_init__(self) -> None:
        if "".join(token.text_with_ws for token in self.tokens) != self.text:
            raise ValueError("the tokens' text_with_ws must join to the text exactly")

    def units(self, max_words: int) -> tuple[tuple[int, int], ...]:
        """The token ranges explained together: the whole text, or its sentences (cut to ``max_words``)."""
        n = len(self.tokens)
        if n <= max_words:
            return ((0, n),)
        ranges = self.sentences or ((0, n),)
        return tuple((start, min(start + max_words, end)) for first, end in ranges for start in range(first, end, max_words))


@dataclass(frozen=True)
class Explanation:
    """Which words drove which labels in one text.

    Attributes:
        text: the text explained.
        words: its words (whitespace tokens left out), with character offsets into ``text``.
        scores: every label's score of the whole text.
        attributions: for each explained label (the highest-scoring first, or the order asked for),
            one value per word: the label's score minus its score without that word (see the module).
        units: the ``[start, end)`` ranges of ``words`` explained together (one: the whole text).

    Examples:
        >>> explanation = Explanation.from_dict({"text": "so happy", "words": [["so", 0, 2], ["happy", 3, 8]],
        ...     "scores": {"joy": 0.9}, "attributions": {"joy": [0.05, 0.6]}})  # doctest: +SKIP
        >>> explanation.top_words("joy", 1)  # doctest: +SKIP
        [('happy', 0.6)]
    """

    text: str
    words: tuple[Word, ...]
    scores: Mapping[str, float]
    attributions: Mapping[str, tuple[float, ...]]
    units: tuple[tuple[int, int], ...] = ()

    @property
    def labels(self) -> tuple[str, ...]:
        """The explained labels, in order."""
        return tuple(self.attributions)

    def top_words(self, label: str, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` words that raise ``label``'s score most, with their attributions.

        Args:
            label: an explained label (a key of ``attributions``).
            k: how many words.

        Returns:
            ``(word, attribution)`` pairs, the largest attribution first.

        Examples:
            >>> explanation.top_words("gratitude", 2)   # doctest: +SKIP
            [('Thank', 0.41), ('you', 0.12)]
        """
        if label not in self.attributions:
            raise KeyError(f"{label!r} was not explained; explained labels: {list(self.attributions)}")
        values = self.attributions[label]
        order = sorted(range(len(values)), key=lambda i: -values[i])[:k]
        return [(self.words[i].text, values[i]) for i in order]

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON, msgpack): what ``doc._.emotion_explanation`` holds; :meth:`from_dict` inverts it.

        Returns:
            ``{"text", "words", "scores", "attributions", "units"}`` of plain values.
        """
        return {
            "text": self.text,
            "words": [[word.text, word.start, word.whitespace] for word in self.words],
            "scores": dict(self.scores),
            "attributions": {label: list(values) for label, values in self.attributions.items()},
            "units": [list(unit) for unit in self.units],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Explanation:
        """The explanation :meth:`to_dict` wrote.

        Args:
            data: what :meth:`to_dict` returned.

        Returns:
            the explanation.
        """
        words = tuple(Word(str(text), int(start), str(space)) for text, start, space in data["words"])
        attributions = {str(label): tuple(float(v) for v in values) for label, values in data["attributions"].items()}
        scores = {str(label): float(value) for label, value in data["scores"].items()}
        return cls(str(data["text"]), words, scores, attributions, tuple((int(a), int(b)) for a, b in data.get("units", ())))


def explain_segmented(
    classifier: EmotionClassifier,
    items: Sequence[Segmented | None],
    *,
    labels: Sequence[str] | None = None,
    top_k: int | None = 3,
    max_words: int = MAX_WORDS,
    progress: bool | None = None,
) -> list[Explanation | None]:
    """Explain each text (None for a missing one) for ``labels``, or for each text's ``top_k`` best labels
    (``top_k=None``: every label).

    Every text, and every text without one of its words, is scored by ``classifier`` in a few large
    calls (at most ``SEQUENCES_PER_CALL`` sequences each), never one model call per variant.

    Raises:
        ConfigurationError: for an unknown label, ``top_k < 1`` or ``max_words < 1``.
    """
    model_labels = classifier.labels
    chosen = _check_labels(labels, model_labels)
    check_top_k(top_k)
    if isinstance(max_words, bool) or not isinstance(max_words, int) or max_words < 1:
        raise ConfigurationError(f"max_words must be an integer >= 1, got {max_words!r}. Example: max_words=128")
    results: list[Explanation | None] = [None] * len(items)
    plans: list[tuple[int, _Plan]] = []
    pending = done = 0
    with progress_bar(len(items), progress, desc="explain", auto_min=100) as bar:
        for index, item in enumerate(items):
            if item is not None:
                plans.append((index, _Plan(item, max_words)))
                pending += len(plans[-1][1].strings)
            if pending >= SEQUENCES_PER_CALL or index == len(items) - 1:
                _run(classifier, plans, results, model_labels, chosen, top_k)
                bar.update(index + 1 - done)
                plans, pending, done = [], 0, index + 1
    return results


class _Plan:
    """One text's strings to score: the text, each unit, and each unit without each of its words."""

    def __init__(self, item: Segmented, max_words: int) -> None:
        self.item = item
        tokens = item.tokens
        self.units = item.units(max_words)
        self.strings = [item.text]
        self.words: list[int] = []  # token index of each explained word
        self.bases: list[int] = []  # per word: the string index of its unit's base
        self.variants: list[int] = []  # per word: the string index of its unit without it
        for start, end in self.units:
            base = 0 if (start, end) == (0, len(tokens)) else self._add("".join(t.text_with_ws for t in tokens[start:end]))
            for i in range(start, end):
                if tokens[i].is_space:
                    continue
                variant = "".join(tokens[j].text_with_ws for j in range(start, end) if j != i)
                self.words.append(i)
                self.bases.append(base)
                self.variants.append(self._add(variant))

    def _add(self, text: str) -> int:
        self.strings.append(text)
        return len(self.strings) - 1

    def explanation(self, scores: np.ndarray, model_labels: Sequence[str], columns: list[int]) -> Explanation:
        tokens = self.item.tokens
        words = tuple(tokens[i] for i in self.words)
        drops = scores[self.bases][:, columns] - scores[self.variants][:, columns]
        attributions = {model_labels[c]: tuple(float(v) for v in drops[:, k]) for k, c in enumerate(columns)}
        position = {token: n for n, token in enumerate(self.words)}
        units = []
        for start, end in self.units:
            inside = [position[i] for i in range(start, end) if i in position]
            if inside:
                units.append((inside[0], inside[-1] + 1))
        whole = {label: float(value) for label, value in zip(model_labels, scores[0].tolist(), strict=True)}
        return Explanation(self.item.text, words, whole, attributions, tuple(units))


def _run(
    classifier: EmotionClassifier,
    plans: list[tuple[int, _Plan]],
    results: list[Explanation | None],
    model_labels: Sequence[str],
    chosen: list[int] | None,
    top_k: int | None,
) -> None:
    if not plans:
        return
    strings = [text for _, plan in plans for text in plan.strings]
    scores = classifier.scores(strings, progress=False)  # one batched, deduplicated run
    offset = 0
    for index, plan in plans:
        own = scores[offset : offset + len(plan.strings)]
        offset += len(plan.strings)
        columns = chosen if chosen is not None else np.argsort(-own[0], kind="stable")[:top_k].tolist()
        results[index] = plan.explanation(own, model_labels, columns)


def _check_labels(labels: Sequence[str] | None, model_labels: Sequence[str]) -> list[int] | None:
    if labels is None:
        return None
    if isinstance(labels, str):
        labels = [labels]
    unknown = [label for label in labels if label not in model_labels]
    if unknown or not labels:
        raise ConfigurationError(
            f"Unknown label(s) {unknown!r} to explain. Valid labels: {', '.join(model_labels)}. Example: labels=['joy', 'anger']",
            options=("labels",),
        )
    return [list(model_labels).index(label) for label in labels]
