"""``spacy_goemotions.explain``: word-level explanations of strings and spaCy Docs.

The words are spaCy tokens (:mod:`.words`); the occlusion itself, and its cost, are the core's
(:mod:`spacy_goemotions.core.explanations`, where the formula is documented).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..core.classifier import get_classifier
from ..core.explanations import MAX_WORDS, Explanation, explain_segmented
from ..core.table import split_score_kwargs
from .words import segment

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..core.table import ScoreKwargs


def explain(
    texts: Iterable[Any],
    *,
    labels: Sequence[str] | None = None,
    top_k: int | None = 3,
    max_words: int = MAX_WORDS,
    **kwargs: Unpack[ScoreKwargs],
) -> list[Explanation | None]:
    """One :class:`~spacy_goemotions.core.explanations.Explanation` per text: its words, its label
    scores, and for each explained label one attribution per word (how much the label's score drops
    when the word is left out; negative when the word lowers it).

    Args:
        texts: strings, spaCy Docs (their own tokens and sentences are used), or None (missing: None).
        labels: the labels to explain; None explains each text's ``top_k`` highest-scoring labels.
        top_k: how many labels to explain per text when ``labels`` is None (None: all).
        max_words: texts with more tokens are explained a sentence at a time (windows of
            ``max_words`` within longer sentences), which bounds the cost at ``max_words + 1``
            scored sequences per unit.
        **kwargs: the classifier options (``model``, ``dtype``, ``backend``, ...), ``options=`` and ``progress=``.

    Examples:
        >>> [e.top_words("gratitude", 1) for e in explain(["Thank you!"], model="goemotions-small")]  # doctest: +SKIP
        [[('Thank', 0.62)]]
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings, not a single string: pass [text]")
    options, progress = split_score_kwargs(kwargs)
    classifier = get_classifier(options=options)
    items = list(segment(texts, max_words))
    return explain_segmented(classifier, items, labels=labels, top_k=top_k, max_words=max_words, progress=progress)
