"""``backend="auto"``, the default: which backend runs, decided by the machine, the options and the job's size."""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

import numpy as np
import pytest

import spacy_goemotions.backends.auto as auto
import spacy_goemotions.backends.openvino as ov_backend
from spacy_goemotions import ClassifierOptions, EmotionClassifier
from spacy_goemotions.core import loading
from spacy_goemotions.core.backend_registry import resolve_backend_name

needs_openvino = pytest.mark.skipif(importlib.util.find_spec("openvino") is None, reason="needs the openvino extra")

TEXTS = ["Thank you so much, this made my day!", None, "lol", "Why would anyone do that? I am so annoyed."]


def test_auto_is_the_default() -> None:
    assert ClassifierOptions().backend == "auto"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"backend": "torch"}, "torch"),  # an explicit backend keeps its meaning
        ({"backend": "openvino"}, "openvino"),
        ({"device_type": "cuda"}, "torch"),  # GPUs: torch
        ({"device_type": "mps"}, "torch"),
        ({"compile": True}, "torch"),  # torch's own features ask for torch
        ({"packing": True}, "torch"),
        ({"dtype": "float16"}, "torch"),
        ({"dtype": "int8"}, "openvino"),  # only OpenVINO computes int8
        ({}, "auto"),  # a CPU: decided per run, by size
        ({"dtype": "float32"}, "auto"),
        ({"dtype": "bfloat16"}, "auto"),
    ],
)
def test_the_choice_by_machine_and_options(options: dict[str, Any], expected: str) -> None:
    if expected == "auto" and importlib.util.find_spec("openvino") is None:
        expected = "torch"
    arguments = {"backend": "auto", "device_type": "cpu", "dtype": "auto", "compile": "auto", "packing": None, **options}
    backend = arguments.pop("backend")
    assert resolve_backend_name(backend, **arguments) == expected


def test_without_openvino_auto_means_torch(monkeypatch: pytest.MonkeyPatch, tiny_model: str) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openvino" else real(name, *a))
    classifier = EmotionClassifier(tiny_model, device="cpu", progress=False)
    assert classifier.backend_name == "torch"
    assert classifier.run(TEXTS).stats.backend == "torch"


@needs_openvino
def test_a_small_job_on_a_cold_cache_runs_on_torch_and_matches_it(tiny_model: str, tmp_path: Any) -> None:
    classifier = EmotionClassifier(tiny_model, dtype="float32", cache_dir=str(tmp_path), progress=False)
    assert classifier.backend_name == "auto"
    result = classifier.run(TEXTS)
    assert result.stats.backend == "torch"
    expected = EmotionClassifier(tiny_model, backend="torch", dtype="float32", progress=False).scores(TEXTS)
    np.testing.assert_array_equal(result.scores, expected)
    assert not (tmp_path / "openvino-ir").exists()  # nothing converted for a job this small


@needs_openvino
def test_a_large_job_runs_on_openvino_with_the_same_labels(tiny_model: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auto, "AUTO_OPENVINO_MIN_TOKENS", 40)  # "large" for the tiny test texts
    texts = [f"{text} ({i})" for i in range(5) for text in TEXTS if text]  # distinct: duplicates are scored once
    result = EmotionClassifier(tiny_model, dtype="float32", cache_dir=str(tmp_path), progress=False).run(texts)
    assert result.stats.backend == "openvino"
    expected = EmotionClassifier(tiny_model, backend="torch", dtype="float32", progress=False).scores(texts)
    np.testing.assert_allclose(result.scores, expected, atol=1e-5)
    assert (tmp_path / "openvino-ir").is_dir()


@needs_openvino
def test_small_runs_add_up_until_converting_pays_then_stay_on_openvino(
    tiny_model: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auto, "AUTO_OPENVINO_MIN_TOKENS", 60)
    classifier = EmotionClassifier(tiny_model, dtype="float32", cache_dir=str(tmp_path), progress=False)
    ran = [classifier.run(TEXTS[:1]).stats.backend for _ in range(12)]  # a spaCy pipe's small batches
    assert ran[0] == "torch" and ran[-1] == "openvino"
    switched = ran.index("openvino")
    assert set(ran[switched:]) == {"openvino"} and set(ran[:switched]) == {"torch"}


@needs_openvino
def test_a_ready_conversion_is_used_at_once_even_for_one_text(tiny_model: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loading, "_CACHE", {})  # models loaded by other tests may hold their weights
    EmotionClassifier(tiny_model, backend="openvino", dtype="float32", cache_dir=str(tmp_path), progress=False).scores(TEXTS)
    ov_backend._MODULES.clear()  # as in a new process: only the persistent cache has it
    fresh = EmotionClassifier(tiny_model, dtype="float32", cache_dir=str(tmp_path), batch_size=5, progress=False)
    assert fresh.run(["one text"]).stats.backend == "openvino"
    assert not fresh.loaded.weights_loaded  # neither side loaded the torch weights


@needs_openvino
def test_warmup_for_a_large_job_converts_before_the_first_run(tiny_model: str, tmp_path: Any) -> None:
    classifier = EmotionClassifier(tiny_model, dtype="float32", cache_dir=str(tmp_path), batch_size=6, progress=False)
    classifier.warmup(for_tokens=auto.AUTO_OPENVINO_MIN_TOKENS)
    assert (tmp_path / "openvino-ir").is_dir()
    assert classifier.run(TEXTS).stats.backend == "openvino"


@needs_openvino
def test_a_conversion_failure_falls_back_to_torch_with_a_warning(
    tiny_model: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("cannot trace this architecture")

    monkeypatch.setattr(ov_backend, "module_for", broken)
    monkeypatch.setattr(auto, "AUTO_OPENVINO_MIN_TOKENS", 1)
    classifier = EmotionClassifier(tiny_model, dtype="float32", cache_dir=str(tmp_path), batch_size=7, progress=False)
    with caplog.at_level(logging.WARNING, logger="spacy_goemotions"):
        first = classifier.run(TEXTS)
    assert first.stats.backend == "torch" and "torch runs it instead" in caplog.text
    expected = EmotionClassifier(tiny_model, backend="torch", dtype="float32", progress=False).scores(TEXTS)
    np.testing.assert_array_equal(first.scores, expected)
    assert classifier.run(TEXTS).stats.backend == "torch"  # not tried again on every run


def test_an_explicit_torch_backend_never_converts(tiny_model: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auto, "AUTO_OPENVINO_MIN_TOKENS", 1)
    texts = [f"{text} ({i})" for i in range(10) for text in TEXTS if text]
    result = EmotionClassifier(tiny_model, backend="torch", cache_dir=str(tmp_path), progress=False).run(texts)
    assert result.stats.backend == "torch" and not (tmp_path / "openvino-ir").exists()


def test_a_cuda_device_with_auto_uses_torch_without_touching_openvino() -> None:
    assert resolve_backend_name("auto", device_type="cuda", dtype="bfloat16", compile="auto", packing=None) == "torch"
