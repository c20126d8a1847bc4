"""Texts and Docs cut into words the way spaCy cuts them, for explanations.

A plain string is tokenized by a blank English pipeline (spaCy's rule-based tokenizer, no model);
a Doc keeps its own tokens. Sentences come from the Doc when it has them, else from spaCy's
rule-based ``sentencizer``, and only for texts long enough to need them (see ``core.explanations``).
spaCy is imported on first use.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from typing import Any

from ..core.explanations import Segmented, Word


@functools.lru_cache(maxsize=1)
def _blank_english() -> Any:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def _segmented(doc: Any, max_words: int) -> Segmented:
    tokens = tuple(Word(token.text, token.idx, token.whitespace_) for token in doc)
    sentences = None
    if len(doc) > max_words:
        if not doc.has_annotation("SENT_START"):
            doc = _blank_english().get_pipe("sentencizer")(doc.copy())  # a copy: the caller's Doc is left alone
        sentences = tuple((sentence.start, sentence.end) for sentence in doc.sents)
    return Segmented(doc.text, tokens, sentences)


def segment(items: Iterable[Any], max_words: int) -> Iterator[Segmented | None]:
    """Each string or Doc as a :class:`Segmented` text; None stays None (a missing text).

    Raises:
        TypeError: for anything else, naming its position.
    """
    from spacy.tokens import Doc

    nlp = _blank_english()
    for position, item in enumerate(items):
        if item is None:
            yield None
        elif isinstance(item, Doc):
            yield _segmented(item, max_words)
        elif isinstance(item, str):
            yield _segmented(nlp.make_doc(item), max_words)
        else:
            raise TypeError(
                f"texts[{position}] is a {type(item).__name__} ({item!r:.60}); explanations take strings, spaCy Docs "
                "or None (missing)."
            )
