"""The ``goemotions`` spaCy component, on the tiny offline model.

Subprocess tests run with a timeout (a fork deadlock must fail, not stall CI) and HF_HUB_OFFLINE=1.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import spacy
from safetensors import safe_open
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Example

import spacy_goemotions  # noqa: F401  (pandas accessor)
from spacy_goemotions import GOEMOTIONS_LABELS, ConfigurationError, ModelLoadError, ThresholdPolicy, get_classifier
from spacy_goemotions.integrations.spacy import EmotionComponent, score_emotions

ROOT = Path(__file__).resolve().parents[1]
TEXTS = [
    "Thank you so much, this made my day! I love it.",
    "Why would anyone do that? I am so confused and a bit annoyed.",
    "That is hilarious lol.",
    "I'm sorry for your loss, that is so sad.",
    "Wow, I did not expect that at all! This is disgusting and I hate it.",
    "I hope it works out, good luck!",
    "Ok.",
    "The meeting is at noon on Tuesday.",
    "Thank you so much, this made my day! I love it.",  # a duplicate
]
LABELS = list(GOEMOTIONS_LABELS)


def _env(**extra: str) -> dict[str, str]:
    # One OpenMP thread unless a test asks for more: on a shared 2-core machine, threads that spin
    # at OpenMP barriers while other processes hold the cores make the tiny model ~100x slower.
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1", **extra}


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Run this module's in-process inference on one thread (see _env), restoring the setting after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _run_python(code: str, *, timeout: float = 120, env: dict[str, str] | None = None) -> str:
    """Run code in a fresh interpreter; return its stdout, failing with its stderr.

    It runs in its own process group, so on a timeout its worker processes (n_process) die with it.
    """
    with subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or _env(), start_new_session=True,
    ) as process:  # fmt: skip
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            pytest.fail(f"timed out after {timeout} s (a hang, e.g. a fork deadlock)")
    assert process.returncode == 0, stderr[-4000:]
    return stdout


def _blank(tiny_model: str, **config: Any) -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("goemotions", config={"model": tiny_model, "dtype": "float32", **config})
    return nlp


def _cats_matrix(docs: list[Doc]) -> np.ndarray:
    return np.array([[doc.cats[label] for label in LABELS] for doc in docs])


@pytest.fixture(scope="module")
def nlp(tiny_model: str) -> Language:
    return _blank(tiny_model, threshold="tuned", top_k=3)


@pytest.fixture(scope="module")
def core_scores(nlp: Language) -> np.ndarray:
    return nlp.get_pipe("goemotions").classifier.scores(TEXTS)


# --- factory and config -------------------------------------------------------------------------


@pytest.mark.slow
def test_entry_point_factory_and_config_file_in_fresh_process(tiny_model: str, tmp_path: Path) -> None:
    config = tmp_path / "config.cfg"
    config.write_text(
        textwrap.dedent(f"""
        [nlp]
        lang = "en"
        pipeline = ["goemotions"]

        [components]

        [components.goemotions]
        factory = "goemotions"
        model = "{tiny_model}"
        threshold = 0.5
        top_k = null
        """),
        encoding="utf-8",
    )
    out = _run_python(f"""
        import json, sys, spacy
        scorer = spacy.registry.scorers.get("spacy_goemotions.scorer.v1")()  # the scorer entry point
        assert scorer.__name__ == "score_emotions"
        nlp = spacy.blank("en")
        nlp.add_pipe("goemotions", config={{"model": {tiny_model!r}, "top_k": 2}})
        assert "spacy_goemotions.integrations.spacy.component" in sys.modules  # loaded through the entry point
        doc = nlp("Thank you so much!")
        from_file = spacy.util.load_model_from_config(spacy.util.load_config({str(config)!r}), auto_fill=True)
        doc2 = from_file("Thank you so much!")
        print(json.dumps({{"cats": doc.cats, "emotions": doc._.emotions, "cats2": doc2.cats,
                           "scorer": from_file.get_pipe_config("goemotions")["scorer"]}}))
        """)
    result = json.loads(out.strip().splitlines()[-1])
    assert list(result["cats"]) == LABELS
    assert 1 <= len(result["emotions"]) <= 2
    assert result["cats2"] == result["cats"]
    assert result["scorer"] == {"@scorers": "spacy_goemotions.scorer.v1"}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"threshold": 1.5}, "1.5"),
        ({"threshold": -0.1}, "-0.1"),
        ({"threshold": {"happiness": 0.3}}, "'happiness'"),
        ({"threshold": {"joy": 2.0}}, "2.0"),
        ({"threshold": "strict"}, "'strict'"),
        ({"threshold": "missing/thresholds.json"}, "missing/thresholds.json"),
        ({"top_k": 0}, "0"),
        ({"top_k": -2}, "-2"),
        ({"device": "tpu"}, "'tpu'"),
        ({"dtype": "int4"}, "'int4'"),
        ({"long_text": "split"}, "'split'"),
        ({"aggregate": "median"}, "'median'"),
        ({"batch_size": 0}, "0"),
        ({"max_length": 4}, "4"),
    ],
)
def test_bad_config_fails_at_add_pipe_with_our_message(tiny_model: str, config: dict[str, Any], message: str) -> None:
    nlp = spacy.blank("en")
    with pytest.raises(ConfigurationError, match="Example|Choose|choices|at least|Valid labels|Pass a float") as info:
        nlp.add_pipe("goemotions", config={"model": tiny_model, **config})
    assert message in str(info.value)
    assert nlp.pipe_names == []


def test_wrong_types_are_rejected_by_spacy_validation(tiny_model: str) -> None:
    from confection import ConfigValidationError

    with pytest.raises(ConfigValidationError, match="threshold"):
        spacy.blank("en").add_pipe("goemotions", config={"model": tiny_model, "threshold": [0.1, 0.2]})


def test_factory_loads_nothing_and_meta_and_save_work_without_the_model(tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("goemotions", config={"model": str(tmp_path / "not-there"), "threshold": {"joy": 0.3}})
    component = nlp.get_pipe("goemotions")
    assert component.labels == GOEMOTIONS_LABELS  # meta reads labels; it must not need the model
    assert nlp.meta["labels"]["goemotions"] == LABELS
    nlp.to_disk(tmp_path / "pipeline")  # no weights requested: nothing to load
    assert spacy.load(tmp_path / "pipeline").get_pipe("goemotions").policy.thresholds == {"joy": 0.3}
    with pytest.raises(ModelLoadError, match="not-there"):
        nlp("The model is needed now.")


@pytest.mark.slow
def test_a_model_with_other_labels(tmp_path: Path) -> None:
    from spacy_goemotions.testing import build_tiny_model

    model = str(build_tiny_model(tmp_path / "sentiment", labels=["positive", "negative"]))
    with pytest.raises(ConfigurationError, match="'joy'"):  # checked against this model's labels
        spacy.blank("en").add_pipe("goemotions", config={"model": model, "threshold": {"joy": 0.3}})
    nlp = spacy.blank("en")
    component = nlp.add_pipe("goemotions", config={"model": model, "threshold": {"negative": 0.0}})
    assert component.labels == ("positive", "negative")  # from config.json, before any load
    doc = nlp("Thank you so much!")
    assert list(doc.cats) == ["positive", "negative"]
    assert "negative" in doc._.emotions  # threshold 0.0 selects it whatever its score


def test_factory_metadata() -> None:
    meta = Language.get_factory_meta("goemotions")
    assert meta.assigns == ["doc.cats", "doc._.emotions"]
    assert meta.default_score_weights["cats_macro_f"] == 1.0
    assert meta.default_config["write_cats"] is True and meta.default_config["per_sentence"] is False
    assert meta.default_config["save_weights"] is False


# --- annotations ----------------------------------------------------------------------------------


def test_cats_hold_every_score_and_emotions_the_policy_selection(nlp: Language, core_scores: np.ndarray) -> None:
    component = nlp.get_pipe("goemotions")
    expected = component.policy.select_labels(core_scores, LABELS, {"joy": 0.25, "anger": 0.75})
    for text, scores, chosen in zip(TEXTS, core_scores, expected, strict=True):
        doc = nlp(text)
        assert list(doc.cats) == LABELS
        assert all(type(v) is float for v in doc.cats.values())
        np.testing.assert_allclose([doc.cats[label] for label in LABELS], scores, atol=1e-5)
        assert list(doc._.emotions) == chosen  # highest first, at most top_k=3
        assert doc._.emotions == {label: doc.cats[label] for label in chosen}
        assert list(doc._.emotions.values()) == sorted(doc._.emotions.values(), reverse=True)


@pytest.mark.parametrize("batch_size", [1, 4, 1000])
def test_pipe_equals_call_per_text(nlp: Language, batch_size: int) -> None:
    one_by_one = [nlp(text) for text in TEXTS]
    piped = list(nlp.pipe(TEXTS, batch_size=batch_size))
    assert [doc.text for doc in piped] == TEXTS
    # Bit-identity is not promised: another batch means other padding, so float32 rounding differs
    # by ~1e-7; the selected labels (and their order) are the same.
    np.testing.assert_allclose(_cats_matrix(piped), _cats_matrix(one_by_one), atol=1e-5, rtol=0)
    assert [list(d._.emotions) for d in piped] == [list(d._.emotions) for d in one_by_one]


def test_pipe_makes_one_core_call_per_batch_of_docs(tiny_model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    nlp = _blank(tiny_model)
    classifier = nlp.get_pipe("goemotions").classifier
    calls: list[int] = []
    real = classifier.scores

    def spy(texts: list[str], **kwargs: Any) -> np.ndarray:
        calls.append(len(texts))
        return real(texts, **kwargs)

    monkeypatch.setattr(classifier, "scores", spy)
    assert len(list(nlp.pipe(TEXTS + TEXTS, batch_size=8))) == 18
    assert calls == [8, 8, 2]
    calls.clear()
    list(nlp.pipe(TEXTS))  # nlp.pipe's default batch (1000 docs): one call
    assert calls == [9]


def test_pipe_matches_the_pandas_accessor(nlp: Language, tiny_model: str) -> None:
    frame = pd.Series(TEXTS, dtype=object).emotions.scores(model=tiny_model, dtype="float32")
    piped = _cats_matrix(list(nlp.pipe(TEXTS)))
    # Same texts in one call to the same shared core: the same numbers, to the bit.
    np.testing.assert_array_equal(piped, frame[LABELS].to_numpy(dtype=np.float64))


def test_write_cats_false_leaves_cats_alone(tiny_model: str, core_scores: np.ndarray) -> None:
    nlp = _blank(tiny_model, write_cats=False, threshold=0.5)
    doc = nlp.make_doc(TEXTS[0])
    doc.cats = {"other": 1.0}
    doc = nlp.get_pipe("goemotions")(doc)
    assert doc.cats == {"other": 1.0}
    expected = ThresholdPolicy.from_spec(0.5).select_labels(core_scores[:1], LABELS)[0]
    assert list(doc._.emotions) == expected
    expected_scores = [core_scores[0][LABELS.index(k)] for k in expected]
    np.testing.assert_allclose([doc._.emotions[k] for k in expected], expected_scores, atol=1e-5)


@pytest.mark.parametrize("text", ["", " ", "   \n\t ", "\u200b"])
def test_empty_and_whitespace_docs_get_the_core_scores(nlp: Language, text: str) -> None:
    expected = nlp.get_pipe("goemotions").classifier.scores([text])[0]
    for doc in (nlp(text), next(iter(nlp.pipe([text, "filler text"])))):
        assert doc.text == text
        values = np.array([doc.cats[label] for label in LABELS])
        assert np.isfinite(values).all()
        np.testing.assert_allclose(values, expected, atol=1e-5)
        assert isinstance(doc._.emotions, dict)


@pytest.mark.parametrize("long_text", ["truncate", "chunk"])
def test_very_long_docs(tiny_model: str, long_text: str) -> None:
    nlp = _blank(tiny_model, max_length=64, long_text=long_text)
    head = "Thank you so much, this made my day! " * 12  # more than 64 tokens on its own
    tails = ["That is hilarious lol. " * 400, "I'm sorry for your loss, that is so sad. " * 400]
    docs = list(nlp.pipe([head + tail for tail in tails] + [head]))
    first, second, head_only = (_cats_matrix([d])[0] for d in docs)
    assert len(docs[0]) > 2000
    if long_text == "truncate":  # only the first 64 tokens count
        np.testing.assert_allclose(first, head_only, atol=1e-5)
        np.testing.assert_allclose(second, head_only, atol=1e-5)
    else:  # every window counts, combined by max: never below the first window (= the truncated text)
        first_window = get_classifier(tiny_model, dtype="float32", max_length=64).scores([head])[0]
        assert not np.allclose(first, second, atol=1e-4)
        assert not np.allclose(first, first_window, atol=1e-4)
        assert (first >= first_window - 1e-5).all() and (second >= first_window - 1e-5).all()


def test_model_errors_go_through_the_error_handler(tiny_model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    nlp = _blank(tiny_model)

    def broken(texts: list[str], **kwargs: Any) -> np.ndarray:
        raise RuntimeError("model exploded")

    monkeypatch.setattr(nlp.get_pipe("goemotions").classifier, "scores", broken)
    with pytest.raises(RuntimeError, match="model exploded"):
        nlp("one")
    with pytest.raises(RuntimeError, match="model exploded"):
        list(nlp.pipe(["one", "two"]))
    seen: list[tuple[str, list[str], str]] = []
    nlp.set_error_handler(lambda name, proc, docs, e: seen.append((name, [d.text for d in docs], str(e))))
    assert list(nlp.pipe(["one", "two", "three"], batch_size=2)) == []  # no doc comes out unannotated
    assert seen == [("goemotions", ["one", "two"], "model exploded"), ("goemotions", ["three"], "model exploded")]


# --- per sentence ---------------------------------------------------------------------------------


def test_per_sentence_scores_each_sentence(tiny_model: str) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("goemotions", config={"model": tiny_model, "dtype": "float32", "per_sentence": True, "threshold": 0.5})
    text = "Thank you so much, this made my day! Why would anyone do that? Ok."
    doc = nlp(text)
    sents = list(doc.sents)
    assert [s.text for s in sents] == ["Thank you so much, this made my day!", "Why would anyone do that?", "Ok."]
    classifier = nlp.get_pipe("goemotions").classifier
    expected = classifier.scores([text] + [s.text for s in sents])
    np.testing.assert_allclose(_cats_matrix([doc])[0], expected[0], atol=1e-5)
    for sent, row in zip(sents, expected[1:], strict=True):
        np.testing.assert_allclose([sent._.emotion_scores[label] for label in LABELS], row, atol=1e-5)
        assert list(sent._.emotions) == ThresholdPolicy.from_spec(0.5).select_labels(row[None, :], LABELS)[0]
    empty = nlp("")  # no tokens, so no sentences: scored as a whole, no error
    assert len(empty.cats) == 28 and isinstance(empty._.emotions, dict)


def test_per_sentence_without_boundaries_says_to_add_a_sentencizer(tiny_model: str) -> None:
    nlp = _blank(tiny_model, per_sentence=True)
    with pytest.raises(ConfigurationError, match="sentencizer"):
        nlp("First sentence. Second sentence.")
    with pytest.raises(ConfigurationError, match="sentencizer"):
        list(nlp.pipe(["First sentence. Second sentence."]))


def test_docbin_round_trip_keeps_extensions(tiny_model: str) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("goemotions", config={"model": tiny_model, "per_sentence": True, "threshold": 0.01})
    docs = list(nlp.pipe(TEXTS[:4]))
    restored = list(DocBin(docs=docs, store_user_data=True).from_bytes(
        DocBin(docs=docs, store_user_data=True).to_bytes()).get_docs(nlp.vocab))  # fmt: skip
    for before, after in zip(docs, restored, strict=True):
        assert after.cats == before.cats
        assert after._.emotions == before._.emotions and list(after._.emotions) == list(before._.emotions)
        assert [s._.emotions for s in after.sents] == [s._.emotions for s in before.sents]
        assert [s._.emotion_scores for s in after.sents] == [s._.emotion_scores for s in before.sents]


@pytest.mark.slow
def test_n_process_2_after_the_parent_used_the_model(tiny_model: str) -> None:
    # The parent runs torch (tiny model + one big matmul that fills the OpenMP pool), then forks.
    # Without the fork guard in _fork.py the workers hang in libgomp; the timeout turns that into a failure.
    out = _run_python(
        f"""
        import json, torch, spacy
        torch.set_num_threads(2)  # the deadlock needs a multi-threaded OpenMP pool in the parent
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        nlp.add_pipe("goemotions", config={{"model": {tiny_model!r}, "dtype": "float32", "per_sentence": True}})
        texts = [("I love this so much. " * (5 + 9 * i)) for i in range(10)]
        reference = [nlp(t) for t in texts]
        x = torch.randn(1500, 1500); (x @ x).relu().sum()
        piped = list(nlp.pipe(texts, n_process=2, batch_size=6))
        print(json.dumps({{
            "texts": [d.text for d in piped] == texts,
            "cats": max(abs(a.cats[k] - b.cats[k]) for a, b in zip(piped, reference) for k in a.cats),
            "emotions": [list(d._.emotions) for d in piped] == [list(d._.emotions) for d in reference],
            "sents": [[s._.emotions is not None for s in d.sents] for d in piped],
        }}))
        """,
        timeout=150,
        env=_env(OMP_NUM_THREADS="2"),
    )
    result = json.loads(out.strip().splitlines()[-1])
    assert result["texts"] is True and result["emotions"] is True
    assert result["cats"] < 1e-5
    assert all(all(flags) and flags for flags in result["sents"])


# --- scoring --------------------------------------------------------------------------------------


def _example(nlp: Language, predicted: dict[str, float], gold: dict[str, float]) -> Example:
    doc = nlp.make_doc("text")
    doc.cats = predicted
    return Example(doc, Example.from_dict(nlp.make_doc("text"), {"cats": gold}).reference)


HAND_LABELS = ["joy", "anger", "fear"]
HAND_PREDICTED = [[0.4, 0.6, 0.1], [0.2, 0.7, 0.55], [0.35, 0.1, 0.9]]
HAND_GOLD = [[1, 0, 0], [1, 1, 0], [0, 0, 1]]


def _hand_examples(nlp: Language) -> list[Example]:
    return [
        _example(nlp, dict(zip(HAND_LABELS, p, strict=True)), dict(zip(HAND_LABELS, map(float, g), strict=True)))
        for p, g in zip(HAND_PREDICTED, HAND_GOLD, strict=True)
    ]


def _gold_examples(nlp: Language, gold: np.ndarray) -> list[Example]:
    return [
        Example.from_dict(nlp.make_doc(t), {"cats": dict(zip(LABELS, map(float, g), strict=True))})
        for t, g in zip(TEXTS, gold, strict=True)
    ]


def test_scorer_applies_per_label_thresholds_by_hand() -> None:
    nlp = spacy.blank("en")
    examples = _hand_examples(nlp)
    result = score_emotions(examples, labels=HAND_LABELS, thresholds={"joy": 0.3})
    # joy (t=0.3): tp 1 fp 1 fn 1; anger: tp 1 fp 1; fear: tp 1 fp 1 -> micro P 3/6, R 3/4.
    assert result["cats_f_per_type"]["joy"] == pytest.approx({"p": 0.5, "r": 0.5, "f": 0.5})
    assert result["cats_f_per_type"]["anger"] == pytest.approx({"p": 0.5, "r": 1.0, "f": 2 / 3})
    assert result["cats_micro_p"] == pytest.approx(0.5) and result["cats_micro_r"] == pytest.approx(0.75)
    assert result["cats_micro_f"] == pytest.approx(0.6)
    assert result["cats_macro_f"] == pytest.approx((0.5 + 2 / 3 + 2 / 3) / 3)
    # AUC comes from the raw scores: joy's positives 0.4, 0.2 vs its negative 0.35 -> 1 of 2 pairs.
    assert result["cats_auc_per_type"]["joy"] == pytest.approx(0.5)
    # With spaCy's single 0.5 cutoff joy would never be predicted: the thresholds made the difference.
    assert score_emotions(examples, labels=HAND_LABELS, thresholds=0.5)["cats_f_per_type"]["joy"]["f"] == 0.0


@pytest.mark.parametrize(("thresholds", "top_k"), [({"joy": 0.3}, None), ({"joy": 0.3}, 1), (0.5, 2), ({"fear": 0.95}, None)])
def test_scorer_matches_sklearn(thresholds: Any, top_k: int | None) -> None:
    nlp = spacy.blank("en")
    examples = _hand_examples(nlp)
    result = score_emotions(examples, labels=HAND_LABELS, thresholds=thresholds, top_k=top_k)
    policy = ThresholdPolicy.from_spec(thresholds, top_k, labels=HAND_LABELS)
    predicted = np.zeros((3, 3), dtype=int)
    for row, chosen in enumerate(policy.select(np.array(HAND_PREDICTED), HAND_LABELS)):
        predicted[row, chosen] = 1
    for average, key in (("micro", "cats_micro_f"), ("macro", "cats_macro_f")):
        expected = precision_recall_fscore_support(HAND_GOLD, predicted, average=average, zero_division=0)[2]
        assert result[key] == pytest.approx(expected)
    per_label = precision_recall_fscore_support(HAND_GOLD, predicted, average=None, zero_division=0)[2]
    assert [result["cats_f_per_type"][label]["f"] for label in HAND_LABELS] == pytest.approx(list(per_label))


def test_nlp_evaluate_uses_the_component_policy(nlp: Language, core_scores: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 2, size=(len(TEXTS), len(LABELS)))
    gold[:, LABELS.index("joy")] = [1, 0, 1, 0, 1, 0, 1, 0, 1]
    examples = _gold_examples(nlp, gold)
    scores = nlp.evaluate(examples)
    # The component's policy: "tuned" (the model's thresholds.json: joy 0.25, anger 0.75), top_k=3.
    policy = nlp.get_pipe("goemotions").policy
    predicted = np.zeros_like(gold)
    for row, chosen in enumerate(policy.select(core_scores, LABELS, {"joy": 0.25, "anger": 0.75})):
        predicted[row, chosen] = 1
    for average in ("macro", "micro"):
        expected = precision_recall_fscore_support(gold, predicted, average=average, zero_division=0)[2]
        assert scores[f"cats_{average}_f"] == pytest.approx(expected, abs=1e-6)
    assert set(scores["cats_f_per_type"]) == set(LABELS)
    joy = LABELS.index("joy")
    assert scores["cats_auc_per_type"]["joy"] == pytest.approx(roc_auc_score(gold[:, joy], core_scores[:, joy]), abs=1e-6)


def test_evaluate_with_write_cats_false_scores_the_selected_labels(tiny_model: str, core_scores: np.ndarray) -> None:
    nlp = _blank(tiny_model, write_cats=False, threshold=0.5)
    gold = (core_scores[::-1] > 0.5).astype(int)  # some agreement, some not
    examples = _gold_examples(nlp, gold)
    predicted = (core_scores >= 0.5).astype(int)
    expected = precision_recall_fscore_support(gold, predicted, average="micro", zero_division=0)[2]
    assert nlp.evaluate(examples)["cats_micro_f"] == pytest.approx(expected, abs=1e-6)


# --- serialization --------------------------------------------------------------------------------


@pytest.fixture()
def own_model(tiny_model_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny model, which a test may delete."""
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "own-model"))


@pytest.mark.slow
def test_to_disk_from_disk_in_a_fresh_offline_process_after_deleting_the_model(own_model: Path, tmp_path: Path) -> None:
    texts = TEXTS[:3]
    nlp = spacy.blank("en")
    nlp.add_pipe("goemotions", config={"model": str(own_model), "threshold": "tuned", "top_k": 2, "save_weights": True})
    expected = [nlp(t) for t in texts]  # dtype "auto" (bf16 on AMX CPUs): saving must still write float32
    nlp.to_disk(tmp_path / "with_weights")
    light = spacy.blank("en")
    light.add_pipe("goemotions", config={"model": str(own_model), "threshold": {"joy": 0.1}})
    light.to_disk(tmp_path / "without_weights")
    saved = tmp_path / "with_weights" / "goemotions" / "model"
    assert {p.name for p in saved.iterdir()} >= {"config.json", "model.safetensors", "tokenizer.json", "thresholds.json"}
    with safe_open(str(saved / "model.safetensors"), "pt") as weights:
        dtypes = {str(weights.get_slice(k).get_dtype()) for k in weights.keys()}  # noqa: SIM118 (safe_open is not a dict)
        assert dtypes == {"F32"}
    assert not (tmp_path / "without_weights" / "goemotions" / "model").exists()
    shutil.rmtree(own_model)

    out = _run_python(f"""
        import json, spacy
        from spacy_goemotions import ModelLoadError
        nlp = spacy.load({str(tmp_path / "with_weights")!r})
        docs = [nlp(t) for t in {texts!r}]
        light = spacy.load({str(tmp_path / "without_weights")!r})
        policy = light.get_pipe("goemotions").policy.to_dict()
        try:
            light("needs the deleted model")
            error = None
        except ModelLoadError as e:
            error = str(e)
        print(json.dumps({{"cats": [d.cats for d in docs], "emotions": [d._.emotions for d in docs],
                           "policy": policy, "error": error}}))
        """)
    result = json.loads(out.strip().splitlines()[-1])
    for doc, cats, emotions in zip(expected, result["cats"], result["emotions"], strict=True):
        np.testing.assert_allclose([cats[k] for k in LABELS], _cats_matrix([doc])[0], atol=0.02)  # bf16 here, dtype auto there
        assert len(emotions) <= 2
    assert result["policy"]["thresholds"] == {"joy": 0.1}
    assert result["error"] is not None and "own-model" in result["error"]


def test_a_loaded_pipeline_saves_again_elsewhere_and_over_itself(own_model: Path, tmp_path: Path) -> None:
    _blank(str(own_model), save_weights=True, threshold="tuned").to_disk(tmp_path / "first")
    shutil.rmtree(own_model)
    first = spacy.load(tmp_path / "first")
    expected = _cats_matrix([first(t) for t in TEXTS])
    first.to_disk(tmp_path / "second")  # the weights now come from tmp_path/first
    first.to_disk(tmp_path / "first")  # over itself: the model files must survive
    for folder in ("first", "second"):
        again = spacy.load(tmp_path / folder)
        assert again.get_pipe("goemotions").classifier.model_name == str(tmp_path / folder / "goemotions" / "model")
        np.testing.assert_allclose(_cats_matrix([again(t) for t in TEXTS]), expected, atol=1e-5)
        assert json.loads((tmp_path / folder / "goemotions" / "cfg").read_text())["model"] == str(own_model)


def test_to_bytes_from_bytes_with_and_without_weights(own_model: Path) -> None:
    heavy = _blank(str(own_model), save_weights=True, threshold="tuned")
    light = _blank(str(own_model), threshold={"anger": 0.2}, top_k=1)
    expected = _cats_matrix([heavy(t) for t in TEXTS])
    heavy_bytes, light_bytes = heavy.to_bytes(), light.to_bytes()
    assert len(heavy_bytes) > len(light_bytes) + 100_000  # the tiny model's safetensors travel along
    shutil.rmtree(own_model)
    restored = _blank(str(own_model), save_weights=True, threshold="tuned").from_bytes(heavy_bytes)
    component = restored.get_pipe("goemotions")
    assert component.classifier.model_name != str(own_model)  # the weights now come from the bytes
    np.testing.assert_allclose(_cats_matrix([restored(t) for t in TEXTS]), expected, atol=1e-5)
    assert component.policy == heavy.get_pipe("goemotions").policy
    light_restored = _blank(str(own_model), threshold={"anger": 0.2}, top_k=1).from_bytes(light_bytes)
    assert light_restored.get_pipe("goemotions").policy == light.get_pipe("goemotions").policy


def test_saved_policy_is_kept_and_load_time_overrides_win(tiny_model: str, tmp_path: Path) -> None:
    thresholds_file = tmp_path / "thresholds.json"
    thresholds_file.write_text(json.dumps({"thresholds": {"joy": 0.3}}), encoding="utf-8")
    nlp = _blank(tiny_model, threshold=str(thresholds_file))
    nlp.to_disk(tmp_path / "pipeline")
    thresholds_file.write_text(json.dumps({"thresholds": {"joy": 0.9}}), encoding="utf-8")  # edited later
    assert spacy.load(tmp_path / "pipeline").get_pipe("goemotions").policy.thresholds == {"joy": 0.3}
    overridden = spacy.load(tmp_path / "pipeline", config={"components.goemotions.threshold": 0.7,
                                                            "components.goemotions.top_k": 1})  # fmt: skip
    policy = overridden.get_pipe("goemotions").policy
    assert (policy.thresholds, policy.default, policy.top_k) == ({}, 0.7, 1)


@pytest.mark.slow
def test_spacy_package_builds_a_loadable_sdist(own_model: Path, tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("goemotions", config={"model": str(own_model), "save_weights": True, "threshold": "tuned"})
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(own_model)
    (tmp_path / "packages").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "spacy", "package", str(tmp_path / "pipeline"), str(tmp_path / "packages"),
         "--name", "emotions_test", "--version", "0.0.1", "--force"],
        capture_output=True, text=True, timeout=180, env=_env(), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    package_dir = tmp_path / "packages" / "en_emotions_test-0.0.1"
    meta = json.loads((package_dir / "meta.json").read_text(encoding="utf-8"))
    assert any(r.startswith("spacy-goemotions") for r in meta["requirements"])
    sdist = package_dir / "dist" / "en_emotions_test-0.0.1.tar.gz"
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
        assert any(n.endswith("goemotions/model/model.safetensors") for n in names)
        archive.extractall(tmp_path / "unpacked", filter="data")
    init_py = tmp_path / "unpacked" / "en_emotions_test-0.0.1" / "en_emotions_test" / "__init__.py"
    out = _run_python(f"""
        import spacy
        nlp = spacy.util.load_model_from_init_py({str(init_py)!r})
        doc = nlp("Thank you so much!")
        print(len(doc.cats), nlp.get_pipe("goemotions").policy.source)
        """)
    assert out.split() == ["28", "tuned"]


@pytest.mark.slow
def test_spacy_quickstart_example_runs(tiny_model: str) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "spacy_quickstart.py"), str(ROOT / "examples" / "comments.csv"),
         "--model", tiny_model, "--threshold", "tuned", "--top-k", "2"],
        capture_output=True, text=True, timeout=180, env=_env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("'Thank you so much for fixing this")
    assert sum(not line.startswith("    ") for line in lines) == 8 + 1  # every comment, then the reload line
    assert lines[-1] == "reloaded from disk: same labels for the first text: True"


def test_component_class_is_a_spacy_pipe(nlp: Language) -> None:
    component = nlp.get_pipe("goemotions")
    assert isinstance(component, EmotionComponent)
    assert component.is_trainable is True and component.model is None  # torch weights, updated by the component itself
    assert not component.is_training  # until initialize sees examples with doc.cats
    assert nlp.analyze_pipes()["problems"] == {"goemotions": []}
