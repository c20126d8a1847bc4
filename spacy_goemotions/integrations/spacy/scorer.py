"""The scorer ``spacy_goemotions.scorer.v1``: spaCy's multi-label scores under the component's own policy."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from spacy import util
from spacy.scorer import Scorer
from spacy.tokens import Doc
from spacy.training import Example

from ...core.thresholds import ThresholdPolicy
from ...labels import GOEMOTIONS_LABELS

__all__ = ["make_emotion_scorer", "score_emotions"]


def _predicted_rows(examples: Sequence[Example], labels: Sequence[str]) -> tuple[np.ndarray, list[bool]]:
    """Each predicted Doc's scores over ``labels``, and whether they came from ``doc.cats``.

    With ``write_cats=False`` a Doc has no cats; its ``doc._.emotions`` (already selected by the
    policy) counts as 1.0 for the labels it holds.
    """
    matrix = np.zeros((len(examples), len(labels)), dtype=np.float32)
    from_cats = []
    for row, example in enumerate(examples):
        doc = example.predicted
        source = doc.cats if all(label in doc.cats for label in labels) else None
        from_cats.append(source is not None)
        if source is None:
            chosen = (doc._.emotions or {}) if Doc.has_extension("emotions") else {}
            source = {label: 1.0 for label in chosen}
        matrix[row] = [float(source.get(label, 0.0)) for label in labels]
    return matrix, from_cats


def score_emotions(
    examples: Iterable[Example],
    *,
    labels: Sequence[str] = GOEMOTIONS_LABELS,
    thresholds: float | Mapping[str, float] = 0.5,
    top_k: int | None = None,
    **cfg: Any,
) -> dict[str, Any]:
    """Multi-label ``Scorer.score_cats`` results, with per-label thresholds and ``top_k``.

    spaCy's ``score_cats`` applies one threshold to every label. Here each predicted Doc's cats are
    first turned into 1.0/0.0 by the policy (``score >= thresholds[label]``, at most ``top_k``),
    then scored at 0.5, so ``cats_micro_f``, ``cats_macro_f`` and ``cats_f_per_type`` follow the
    policy. ``cats_macro_auc``/``cats_auc_per_type`` (and ``cats_score``, as for spaCy's
    multi-label textcat) come from the raw scores, which AUC is about.

    Args:
        examples: examples whose ``reference.cats`` hold the gold labels (1.0/0.0; absent = unknown).
        labels: the labels to score.
        thresholds: one threshold for all labels, or label -> threshold (others 0.5).
        top_k: keep at most this many of the passing labels per Doc.
        **cfg: spaCy's other scorer arguments (ignored).

    Returns:
        spaCy's ``score_cats`` keys, under the policy.

    Examples:
        >>> nlp.evaluate(examples)["cats_macro_f"]       # doctest: +SKIP
    """
    examples = list(examples)
    labels = list(labels)
    if isinstance(thresholds, Mapping):
        policy = ThresholdPolicy.from_spec(dict(thresholds), top_k, labels=labels)
    else:
        policy = ThresholdPolicy.from_spec(thresholds, top_k, labels=labels)
    matrix, from_cats = _predicted_rows(examples, labels)
    binary: dict[int, dict[str, float]] = {}
    for example, chosen in zip(examples, policy.select(matrix, labels), strict=True):
        picked = set(chosen)
        binary[id(example.predicted)] = {label: float(i in picked) for i, label in enumerate(labels)}

    def policy_getter(doc: Doc, attr: str) -> Any:
        return binary[id(doc)] if id(doc) in binary else getattr(doc, attr)

    results = Scorer.score_cats(examples, "cats", getter=policy_getter, labels=labels, multi_label=True, threshold=0.5)
    if all(from_cats):
        raw = Scorer.score_cats(examples, "cats", labels=labels, multi_label=True)
        for key in ("cats_score", "cats_score_desc", "cats_macro_auc", "cats_auc_per_type"):
            results[key] = raw[key]
    return results


def make_emotion_scorer() -> Callable[..., dict[str, Any]]:
    """The registered scorer ``spacy_goemotions.scorer.v1`` (see :func:`score_emotions`).

    Returns:
        ``score_emotions``, which the component calls with its own labels and policy.

    Examples:
        >>> import spacy
        >>> spacy.registry.scorers.get("spacy_goemotions.scorer.v1")() is score_emotions
        True
    """
    return score_emotions


util.registry.scorers.register("spacy_goemotions.scorer.v1", func=make_emotion_scorer)
