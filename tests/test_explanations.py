"""Word-level explanations: the occlusion formula recomputed by hand, one batched run, and every adapter."""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import pandas as pd
import pytest
import spacy
from spacy.tokens import Doc, DocBin

import spacy_goemotions
from spacy_goemotions import ConfigurationError, EmotionClassifier, Explanation, explain
from spacy_goemotions.core import explanations as core_explanations
from spacy_goemotions.core.explanations import Segmented, Word, explain_segmented

TEXTS = [
    "Thank you so much, this made my day!",
    "Why would anyone do that? I am so confused and a bit annoyed.",
    "lol",
]


def clf(model: str) -> EmotionClassifier:
    return EmotionClassifier(model, device="cpu", dtype="float32", progress=False)


def by_hand(classifier: EmotionClassifier, text: str, label: str) -> list[float]:
    """The formula of the issue, one text at a time, without the module under test."""
    doc = spacy.blank("en").make_doc(text)
    column = classifier.labels.index(label)
    base = classifier.scores([text])[0, column]
    values = []
    for token in doc:
        if token.is_space:
            continue
        occluded = "".join(t.text_with_ws for t in doc if t.i != token.i)
        values.append(float(base - classifier.scores([occluded])[0, column]))
    return values


@pytest.mark.parametrize("text", TEXTS)
def test_attributions_equal_the_formula_recomputed_by_hand(tiny_model: str, text: str) -> None:
    classifier = clf(tiny_model)
    (explanation,) = explain([text], model=tiny_model, dtype="float32", device="cpu", top_k=2)
    assert explanation is not None and len(explanation.labels) == 2
    doc = spacy.blank("en").make_doc(text)
    assert [w.text for w in explanation.words] == [t.text for t in doc if not t.is_space]
    assert [w.start for w in explanation.words] == [t.idx for t in doc if not t.is_space]
    for label in explanation.labels:
        np.testing.assert_allclose(explanation.attributions[label], by_hand(classifier, text, label), atol=1e-6)
    np.testing.assert_allclose(list(explanation.scores.values()), classifier.scores([text])[0], atol=1e-6)
    assert max(abs(v) for label in explanation.labels for v in explanation.attributions[label]) > 1e-3  # not degenerate


def test_the_top_k_labels_are_the_highest_scoring_and_labels_can_be_chosen(tiny_model: str) -> None:
    scores = clf(tiny_model).scores(TEXTS[:1])[0]
    (top,) = explain(TEXTS[:1], model=tiny_model, dtype="float32", top_k=3)
    assert top is not None and list(top.labels) == [clf(tiny_model).labels[i] for i in np.argsort(-scores)[:3]]
    (chosen,) = explain(TEXTS[:1], model=tiny_model, dtype="float32", labels=["joy", "anger"])
    assert chosen is not None and chosen.labels == ("joy", "anger")
    (every,) = explain(TEXTS[:1], model=tiny_model, dtype="float32", top_k=None)
    assert every is not None and len(every.labels) == 28
    with pytest.raises(ConfigurationError, match=r"Unknown label\(s\) \['happiness'\].*Valid labels"):
        explain(TEXTS[:1], model=tiny_model, labels=["happiness"])
    with pytest.raises(ConfigurationError, match="top_k"):
        explain(TEXTS[:1], model=tiny_model, top_k=0)


def test_all_variants_of_all_texts_go_through_one_batched_core_call(tiny_model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    classifier = spacy_goemotions.get_classifier(tiny_model, dtype="float32")
    calls: list[int] = []
    real = classifier.scores

    def spy(texts: list[str], **kwargs: Any) -> np.ndarray:
        calls.append(len(texts))
        return real(texts, **kwargs)

    monkeypatch.setattr(classifier, "scores", spy)
    results = explain([*TEXTS, None, TEXTS[0]], model=tiny_model, dtype="float32")
    words = [len(spacy.blank("en").make_doc(t)) for t in TEXTS]
    assert calls == [sum(n + 1 for n in words) + words[0] + 1]  # n + 1 per text, one call; the core dedups
    assert results[3] is None and results[4] == results[0]


def test_huge_inputs_are_scored_in_bounded_calls(tiny_model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core_explanations, "SEQUENCES_PER_CALL", 20)
    classifier = clf(tiny_model)
    calls: list[int] = []
    real = classifier.scores
    monkeypatch.setattr(classifier, "scores", lambda texts, **kw: calls.append(len(texts)) or real(texts, **kw))
    items = list(spacy_goemotions.visual.words.segment(TEXTS * 3, 128))
    chunked = explain_segmented(classifier, items, labels=["joy"])
    assert len(calls) > 2 and max(calls) < 20 + 20  # a text's strings never split; a call stops past the bound
    monkeypatch.setattr(core_explanations, "SEQUENCES_PER_CALL", 10**9)
    whole = explain_segmented(classifier, items, labels=["joy"])
    for a, b in zip(chunked, whole, strict=True):
        assert a is not None and b is not None
        np.testing.assert_allclose(a.attributions["joy"], b.attributions["joy"], atol=1e-6)


def test_long_texts_are_explained_a_sentence_at_a_time(tiny_model: str) -> None:
    classifier = clf(tiny_model)
    sentences = ["I love this so much.", "Why is it broken again?", "Thank you anyway, friend."]
    text = " ".join(sentences)
    (explanation,) = explain([text], model=tiny_model, dtype="float32", labels=["joy"], max_words=7)
    assert explanation is not None
    assert [w.text for w in explanation.words] == [t.text for t in spacy.blank("en").make_doc(text)]
    assert len(explanation.units) == 3 and all(end - start <= 7 for start, end in explanation.units)
    for (start, end), sentence in zip(explanation.units, sentences, strict=True):
        expected = by_hand(classifier, sentence + " " if end < len(explanation.words) else sentence, "joy")
        np.testing.assert_allclose(explanation.attributions["joy"][start:end], expected, atol=1e-6)
    np.testing.assert_allclose(explanation.scores["joy"], classifier.scores([text])[0, classifier.labels.index("joy")], atol=1e-6)


def test_a_sentence_longer_than_max_words_is_cut_into_windows(tiny_model: str) -> None:
    text = " ".join(["word"] * 10)
    (explanation,) = explain([text], model=tiny_model, dtype="float32", labels=["joy"], max_words=4)
    assert explanation is not None and explanation.units == ((0, 4), (4, 8), (8, 10))
    with pytest.raises(ConfigurationError, match="max_words"):
        explain([text], model=tiny_model, max_words=0)


def test_docs_keep_their_own_tokens_and_missing_or_empty_texts_are_well_defined(tiny_model: str) -> None:
    nlp = spacy.blank("en")
    doc = Doc(nlp.vocab, words=["Thankyou", "so", "much", "!"], spaces=[True, True, False, False])
    results = explain([doc, None, "", "   "], model=tiny_model, dtype="float32", top_k=1)
    assert results[0] is not None and [w.text for w in results[0].words] == ["Thankyou", "so", "much", "!"]
    assert results[1] is None
    for empty in results[2:]:
        assert empty is not None and empty.words == () and all(v == () for v in empty.attributions.values())
    with pytest.raises(TypeError, match=r"texts\[1\] is a int"):
        explain(["ok", 3], model=tiny_model)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not a single string"):
        explain("just one", model=tiny_model)


def test_segmented_texts_must_spell_their_text() -> None:
    with pytest.raises(ValueError, match="join to the text"):
        Segmented("hello world", (Word("hello", 0, " "), Word("word", 6)))


def test_explanations_round_trip_as_plain_data(tiny_model: str) -> None:
    (explanation,) = explain(TEXTS[1:2], model=tiny_model, dtype="float32")
    assert explanation is not None
    assert Explanation.from_dict(explanation.to_dict()) == explanation
    label = explanation.labels[0]
    top = explanation.top_words(label, 2)
    assert [value for _, value in top] == sorted(explanation.attributions[label], reverse=True)[:2]
    with pytest.raises(KeyError, match="was not explained"):
        explanation.top_words("grief" if "grief" not in explanation.labels else "joy")


def test_pandas_explain_keeps_the_index_and_missing_rows(tiny_model: str) -> None:
    series = pd.Series([TEXTS[0], None, TEXTS[2]], index=["a", "b", "c"], dtype=object)
    out = series.emotions.explain(model=tiny_model, dtype="float32", top_k=1)
    assert list(out.index) == ["a", "b", "c"] and out["b"] is None
    assert out["a"] == explain([TEXTS[0]], model=tiny_model, dtype="float32", top_k=1)[0]


def test_the_spacy_component_stores_explanations_on_request(tiny_model: str) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("goemotions", config={"model": tiny_model, "dtype": "float32", "explain": True, "explain_top_k": 2})
    off = spacy.blank("en")
    off.add_pipe("goemotions", config={"model": tiny_model, "dtype": "float32"})
    docs = list(nlp.pipe(TEXTS))
    assert all(d._.emotion_explanation is None for d in off.pipe(TEXTS))  # off by default
    for doc, text in zip(docs, TEXTS, strict=True):
        stored = Explanation.from_dict(doc._.emotion_explanation)
        expected = explain([nlp.make_doc(text)], model=tiny_model, dtype="float32", top_k=2)[0]
        assert expected is not None and stored.labels == expected.labels
        for label in stored.labels:
            np.testing.assert_allclose(stored.attributions[label], expected.attributions[label], atol=1e-6)
    restored = list(DocBin(docs=docs, store_user_data=True).get_docs(nlp.vocab))  # plain data: DocBin, n_process
    assert Explanation.from_dict(restored[0]._.emotion_explanation) == Explanation.from_dict(docs[0]._.emotion_explanation)
    from confection import ConfigValidationError

    with pytest.raises(ConfigValidationError, match="explain"):  # spaCy checks the config key's type first
        spacy.blank("en").add_pipe("goemotions", config={"model": tiny_model, "explain": "yes"})
    with pytest.raises(ConfigurationError, match="explain_top_k|top_k"):
        spacy.blank("en").add_pipe("goemotions", config={"model": tiny_model, "explain_top_k": 0})


@pytest.mark.skipif(importlib.util.find_spec("openvino") is None, reason="needs the openvino extra")
def test_explanations_work_on_every_backend(tiny_model: str) -> None:
    torch_run = explain(TEXTS, model=tiny_model, dtype="float32", labels=["joy"])
    openvino_run = explain(TEXTS, model=tiny_model, dtype="float32", labels=["joy"], backend="openvino")
    for a, b in zip(torch_run, openvino_run, strict=True):
        assert a is not None and b is not None
        np.testing.assert_allclose(a.attributions["joy"], b.attributions["joy"], atol=1e-5)
