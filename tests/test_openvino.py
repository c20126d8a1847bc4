"""The optional OpenVINO backend: same scores as torch, same rows, same adapters, clear errors.

Needs the ``openvino`` extra (CI installs it); without it only the missing-package error is tested.
"""

from __future__ import annotations

import builtins
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pytest
import spacy

import spacy_goemotions.backends.openvino as ov_backend
import spacy_goemotions.core.scoring as scoring
from spacy_goemotions import ConfigurationError, EmotionClassifier
from spacy_goemotions.core.backend import logits_to_scores
from spacy_goemotions.testing import build_tiny_model

needs_openvino = pytest.mark.skipif(importlib.util.find_spec("openvino") is None, reason="needs the openvino extra")

TEXTS = [
    "Thank you so much, this made my day!",
    None,
    "lol",
    "",
    "Why would anyone do that? I am so confused and a bit annoyed.",
    "Thank you so much, this made my day!",
    "This is disgusting and I hate it. " * 30,  # long: padding of the short rows runs past the local window
    "Ok.",
]


def torch_scores(model: str, texts: list[Any], **options: Any) -> np.ndarray:
    """The oracle: eager torch in float32, named explicitly (the default backend is OpenVINO on this CPU)."""
    classifier = EmotionClassifier(model, backend="torch", device="cpu", dtype="float32", compile=False, progress=False, **options)
    assert classifier.engine.backend == "torch"
    return classifier.scores(texts)


@needs_openvino
def test_float32_scores_equal_torch_in_order_with_missing_rows(tiny_model: str) -> None:
    got = EmotionClassifier(tiny_model, backend="openvino", dtype="float32", progress=False).scores(TEXTS)
    expected = torch_scores(tiny_model, TEXTS)
    assert got.shape == expected.shape
    assert np.isnan(got[1]).all() and not np.isnan(np.delete(got, 1, axis=0)).any()
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_array_equal(got[0], got[5])


@pytest.mark.slow
@needs_openvino
def test_padding_beyond_the_local_window_gives_no_nan(tmp_path: Any) -> None:
    # A local window of 8 tokens: short rows padded to a long row's width have windows of padding only,
    # which OpenVINO's attention turns into NaN unless each position may attend to itself.
    model = str(build_tiny_model(tmp_path / "narrow", local_attention=8, seed=1))
    texts = ["happy", "so sad today", "word " * 60, "ok ok"]
    options: dict[str, Any] = {"batch_size": 4, "max_tokens": 4096}
    got = EmotionClassifier(model, backend="openvino", dtype="float32", progress=False, **options).scores(texts)
    assert not np.isnan(got).any()
    np.testing.assert_allclose(got, torch_scores(model, texts, **options), atol=1e-5)


@needs_openvino
def test_bf16_stays_close_to_float32(tiny_model: str) -> None:
    got = EmotionClassifier(tiny_model, backend="openvino", dtype="bfloat16", progress=False).scores(TEXTS)
    expected = torch_scores(tiny_model, TEXTS)
    present = ~np.isnan(expected).all(axis=1)
    assert np.abs(got[present] - expected[present]).max() < 0.05


@needs_openvino
def test_conversion_is_shared_across_classifiers(tiny_model: str) -> None:
    first = EmotionClassifier(tiny_model, backend="openvino", dtype="float32", progress=False)
    second = EmotionClassifier(tiny_model, backend="openvino", dtype="float32", batch_size=3, progress=False)
    first.scores(["a"])
    second.scores(["b"])
    module = ov_backend.module_for(first.loaded, first.options, 1)
    assert module is ov_backend.module_for(second.loaded, second.options, 1)
    # and the module each classifier actually runs is one conversion, not two
    with first.backend.open(0.0) as first_run:
        first_module = first_run.module
    with second.backend.open(0.0) as second_run:
        assert second_run.module is first_module
    assert first.loaded is second.loaded  # the torch model both converted from loaded once, in float32


@needs_openvino
def test_adapters_pass_the_backend_through(tiny_model: str) -> None:
    texts = [t for t in TEXTS if t]
    expected = EmotionClassifier(tiny_model, backend="openvino", dtype="float32", progress=False).scores(texts)
    frame = pd.DataFrame({"text": texts}).emotions.classify("text", model=tiny_model, dtype="float32", backend="openvino")
    np.testing.assert_array_equal(frame.iloc[:, 1:-1].to_numpy(), expected)
    np.testing.assert_allclose(expected, torch_scores(tiny_model, texts), atol=1e-5)  # and it is OpenVINO done right
    nlp = spacy.blank("en")
    nlp.add_pipe("goemotions", config={"model": tiny_model, "dtype": "float32", "backend": "openvino"})
    docs = list(nlp.pipe(texts))
    assert nlp.get_pipe("goemotions").classifier.options.backend == "openvino"
    np.testing.assert_allclose([[doc.cats[label] for label in frame.columns[1:-1]] for doc in docs], expected, atol=1e-6)


@needs_openvino
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"device": "cuda"}, "runs on the CPU"),
        ({"compile": True}, "compiles the model itself"),
        ({"packing": True}, "compiles the model itself"),
        ({"backend": "onnx"}, "backend"),
    ],
)
def test_options_that_cannot_work_with_openvino_fail_at_construction(
    tiny_model: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        EmotionClassifier(tiny_model, **{"backend": "openvino", **options})


def test_missing_openvino_is_a_clear_error_with_the_install_command(tiny_model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openvino" else real_find_spec(name, *a))
    real_import = builtins.__import__

    def no_openvino(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "openvino" or name.startswith("openvino."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_openvino)
    with pytest.raises(ConfigurationError, match=r"pip install 'spacy-goemotions\[openvino\]'"):
        EmotionClassifier(tiny_model, backend="openvino")


@needs_openvino
def test_batch_command_runs_on_openvino(tmp_path: Any, tiny_model: str) -> None:
    from spacy_goemotions.cli import main

    texts = [t for t in TEXTS if t]
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    pd.DataFrame({"text": texts}).to_csv(source, index=False)
    assert main(["classify", str(source), "-o", str(target), "--model", tiny_model, "--dtype", "float32",
                 "--backend", "openvino", "--text-column", "text", "--no-progress"]) == 0  # fmt: skip
    out = pd.read_csv(target)
    labels = list(EmotionClassifier(tiny_model).labels)
    np.testing.assert_allclose(out[labels].to_numpy(), torch_scores(tiny_model, texts), atol=1e-5)


@pytest.mark.slow
@needs_openvino
def test_spacy_n_process_2_after_the_parent_ran_openvino(tiny_model: str) -> None:
    # Forked workers inherit the parent's converted model and OpenVINO's thread pool; a hang fails by timeout.
    code = textwrap.dedent(
        f"""
        import json, torch, spacy
        torch.set_num_threads(2)
        nlp = spacy.blank("en")
        nlp.add_pipe("goemotions", config={{"model": {tiny_model!r}, "dtype": "float32", "backend": "openvino"}})
        texts = [("I love this so much. " * (5 + 9 * i)) for i in range(10)]
        reference = [nlp(t) for t in texts]
        piped = list(nlp.pipe(texts, n_process=2, batch_size=6))
        print(json.dumps({{"texts": [d.text for d in piped] == texts,
                          "cats": max(abs(a.cats[k] - b.cats[k]) for a, b in zip(piped, reference) for k in a.cats)}}))
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=150, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["texts"] is True and result["cats"] < 1e-5


# --- batches in flight on OpenVINO's streams ------------------------------------------------------


@needs_openvino
def test_many_windows_and_batches_in_flight_keep_every_row_in_place(tiny_model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Windows of 5 rows and batches of 2: several batches per window run at once on the streams, and a
    # window is finished only after its batches land.
    monkeypatch.setattr(scoring, "DEFAULT_WINDOW_ROWS", 5)
    texts = [f"{word} number {i}" if i % 7 else None for i, word in enumerate(["happy", "sad", "so angry at this"] * 9)]
    texts[20] = texts[3]  # a duplicate across windows
    got = EmotionClassifier(tiny_model, backend="openvino", dtype="float32", batch_size=2, progress=False).run(texts)
    assert got.stats.batches > len(texts) // 5
    np.testing.assert_allclose(got.scores, torch_scores(tiny_model, texts, batch_size=2), atol=1e-5)


@needs_openvino
def test_an_error_on_an_openvino_thread_reaches_the_caller_and_the_module_stays_usable(
    tiny_model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clf = EmotionClassifier(tiny_model, backend="openvino", dtype="float32", batch_size=2, progress=False)
    texts = [t for t in TEXTS if t]
    expected = clf.scores(texts)

    def broken_store(target: np.ndarray, rows: np.ndarray, scores: np.ndarray) -> None:
        raise RuntimeError("sink failed (simulated)")

    monkeypatch.setattr(scoring, "store_rows", broken_store)
    with pytest.raises(RuntimeError, match="sink failed"):
        clf.scores(texts)
    monkeypatch.undo()
    np.testing.assert_array_equal(clf.scores(texts), expected)


@needs_openvino
def test_runs_from_two_threads_share_the_module_and_both_get_their_own_scores(tiny_model: str) -> None:
    clf = EmotionClassifier(tiny_model, backend="openvino", dtype="float32", batch_size=2, progress=False)
    batches = [[f"happy {i}" for i in range(30)], [f"so sad about {i} things" for i in range(30)]]
    expected = [clf.scores(texts) for texts in batches]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(clf.scores, batches * 3))
    for i, result in enumerate(results):
        np.testing.assert_array_equal(result, expected[i % 2])


@pytest.mark.slow
@needs_openvino
def test_a_classifier_that_is_not_modernbert_converts_with_its_own_masks(tmp_path: Any) -> None:
    from transformers import BertConfig, BertForSequenceClassification

    from spacy_goemotions import GOEMOTIONS_LABELS
    from spacy_goemotions.testing import build_tiny_tokenizer

    out = tmp_path / "tiny-bert"
    build_tiny_tokenizer(out)
    config = BertConfig(
        vocab_size=400, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=48,
        id2label=dict(enumerate(GOEMOTIONS_LABELS)), label2id={label: i for i, label in enumerate(GOEMOTIONS_LABELS)},
    )  # fmt: skip
    BertForSequenceClassification(config).eval().save_pretrained(out)
    texts = ["happy", "so sad today, really sad", None, "ok"]
    got = EmotionClassifier(str(out), backend="openvino", dtype="float32", progress=False).scores(texts)
    np.testing.assert_allclose(got, torch_scores(str(out), texts), atol=1e-5)


def test_the_numpy_sigmoid_is_correctly_rounded_and_agrees_with_torchs() -> None:
    import math

    import torch

    logits = np.concatenate([np.linspace(-30, 30, 200_001), [0.0, -0.0, 88.0, -88.0, -104.0, 1e-8]]).astype(np.float32)
    got = logits_to_scores(logits[None, :], "test")[0]
    assert got.dtype == np.float32
    exact = np.array([1.0 / (1.0 + math.exp(-float(x))) for x in logits[::997]], dtype=np.float32)  # rounded once
    np.testing.assert_array_equal(got[::997], exact)
    # torch's float32 kernel is a few units in the last place off on some CPUs: far inside the 1e-5 between engines.
    np.testing.assert_allclose(got, torch.sigmoid(torch.from_numpy(logits)).numpy(), rtol=1e-6, atol=0)
