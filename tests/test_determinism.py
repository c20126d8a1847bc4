"""Same input, same output: the engine is a function of the options and the machine, never of what ran before.

``backend="auto"`` (the default) resolves once, before anything loads: OpenVINO on a CPU where it is
installed, torch elsewhere. These tests score the same texts in fresh processes before and after a large
job has filled the persistent cache, and in one process before and after 50,000 tokens, and ask for
identical scores; they check that the engine that ran is the one announced, and recorded.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import spacy_goemotions.backends.openvino as ov_backend
import spacy_goemotions.backends.torch_compiled as compiling
from spacy_goemotions import ClassifierOptions, EmotionClassifier
from spacy_goemotions.core.backend_registry import resolve_backend_name
from spacy_goemotions.core.engine import Engine
from spacy_goemotions.errors import ModelLoadError

HAS_OPENVINO = importlib.util.find_spec("openvino") is not None
needs_openvino = pytest.mark.skipif(not HAS_OPENVINO, reason="needs the openvino package (a default dependency on x86-64)")

TEXTS = ["Thank you so much, this made my day!", None, "lol", "Why would anyone do that? I am so annoyed."]
#: Enough distinct texts to pass the 50,000 tokens at which the old default switched engines mid-process.
LARGE_JOB = [f"Comment number {i}: " + "I can't believe how this turned out, honestly. " * 12 for i in range(520)]


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
        ({}, "openvino"),  # a CPU with OpenVINO: always OpenVINO, whatever the job's size
        ({"dtype": "float32"}, "openvino"),
        ({"dtype": "bfloat16"}, "openvino"),
    ],
)
def test_the_choice_by_machine_and_options(options: dict[str, Any], expected: str) -> None:
    if expected == "openvino" and options.get("backend") is None and options.get("dtype") != "int8" and not HAS_OPENVINO:
        expected = "torch"
    arguments = {"backend": "auto", "device_type": "cpu", "dtype": "auto", "compile": "auto", "packing": None, **options}
    backend = arguments.pop("backend")
    assert resolve_backend_name(backend, **arguments) == expected


def test_without_openvino_auto_means_torch(monkeypatch: pytest.MonkeyPatch, tiny_model: str) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openvino" else real(name, *a))
    classifier = EmotionClassifier(tiny_model, device="cpu", dtype="float32", progress=False)
    assert classifier.engine == Engine("torch", "float32", "cpu")
    assert classifier.run(TEXTS).stats.engine == classifier.engine


@pytest.mark.parametrize("backend", ["torch", pytest.param("openvino", marks=needs_openvino)])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_the_engine_that_ran_is_the_one_announced(tiny_model: str, tmp_path: Path, backend: str, dtype: str) -> None:
    classifier = EmotionClassifier(
        tiny_model, backend=backend, device="cpu", dtype=dtype, cache_dir=str(tmp_path), progress=False
    )
    announced = classifier.engine
    assert (announced.backend, announced.device) == (backend, "cpu")
    stats = classifier.run(TEXTS).stats
    assert stats.engine == announced
    assert stats.precision in ("float32", "bfloat16")  # bfloat16 where the CPU has it natively: the machine decides


@pytest.mark.slow
@needs_openvino
def test_auto_scores_the_same_before_and_after_50k_tokens_in_one_process(tiny_model: str, tmp_path: Path) -> None:
    classifier = EmotionClassifier(tiny_model, device="cpu", dtype="bfloat16", cache_dir=str(tmp_path), progress=False)
    before = classifier.run(TEXTS)
    large = classifier.run(LARGE_JOB)
    assert large.stats.real_tokens >= 50_000
    after = classifier.run(TEXTS)
    np.testing.assert_array_equal(before.scores, after.scores)
    assert before.stats.engine == large.stats.engine == after.stats.engine == classifier.engine


_SCORE_IN_A_FRESH_PROCESS = """
import json, sys
import numpy as np
from spacy_goemotions import EmotionClassifier
texts = json.loads(open(sys.argv[3], encoding="utf-8").read())
result = EmotionClassifier(sys.argv[1], device="cpu", dtype="bfloat16", progress=False).run(texts)
np.save(sys.argv[2], result.scores)
print(json.dumps({"engine": str(result.stats.engine)}))
"""


def _score_in_a_fresh_process(model: str, cache: Path, out: Path, texts: list[str | None]) -> tuple[np.ndarray, str]:
    env = {**os.environ, "SPACY_GOEMOTIONS_CACHE_DIR": str(cache)}
    texts_file = out.with_suffix(".json")
    texts_file.write_text(json.dumps(texts), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", _SCORE_IN_A_FRESH_PROCESS, model, str(out), str(texts_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return np.load(out), json.loads(done.stdout.strip().splitlines()[-1])["engine"]


@pytest.mark.slow
@needs_openvino
def test_fresh_processes_score_the_same_before_and_after_a_large_job_warmed_the_cache(tiny_model: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold, cold_engine = _score_in_a_fresh_process(tiny_model, cache, tmp_path / "cold.npy", TEXTS)
    # A large job, in another process, on the same machine and cache.
    _score_in_a_fresh_process(tiny_model, cache, tmp_path / "large.npy", list(LARGE_JOB))
    warm, warm_engine = _score_in_a_fresh_process(tiny_model, cache, tmp_path / "warm.npy", TEXTS)
    np.testing.assert_array_equal(cold, warm)
    assert cold_engine == warm_engine


@needs_openvino
def test_a_conversion_failure_is_an_error_that_says_what_to_pass(
    tiny_model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("cannot trace this architecture")

    monkeypatch.setattr(ov_backend, "module_for", broken)
    classifier = EmotionClassifier(
        tiny_model, device="cpu", dtype="float32", cache_dir=str(tmp_path), batch_size=7, progress=False
    )
    assert classifier.engine.backend == "openvino"
    with pytest.raises(ModelLoadError, match="backend='torch'") as raised:
        classifier.run(TEXTS)
    assert raised.value.options == ("backend",) and "cannot trace" in str(raised.value)


def test_an_explicit_torch_backend_never_converts(tiny_model: str, tmp_path: Path) -> None:
    texts = [f"{text} ({i})" for i in range(10) for text in TEXTS if text]
    result = EmotionClassifier(tiny_model, backend="torch", device="cpu", cache_dir=str(tmp_path), progress=False).run(texts)
    assert result.stats.backend == "torch" and not (tmp_path / "openvino-ir").exists()


def test_compile_auto_never_compiles_whatever_the_size(tiny_model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(model: Any) -> Any:
        raise AssertionError("compile='auto' must not compile")

    monkeypatch.setattr(compiling, "compiled", refuse)
    classifier = EmotionClassifier(tiny_model, backend="torch", device="cpu", dtype="bfloat16", compile="auto", progress=False)
    assert classifier.warmup(for_tokens=1e12) >= 0
    assert not classifier.run(LARGE_JOB[:50]).stats.compiled


def test_a_cuda_device_with_auto_uses_torch_without_touching_openvino() -> None:
    assert resolve_backend_name("auto", device_type="cuda", dtype="bfloat16", compile="auto", packing=None) == "torch"


def test_engine_round_trips_as_text_and_dict() -> None:
    engine = Engine("openvino", "int8", "cpu")
    assert Engine.parse(str(engine)) == engine == Engine.from_dict(engine.to_dict())
    assert engine.options_hint() == "backend='openvino', dtype='int8', device='cpu'"


@needs_openvino
def test_a_resume_with_another_engine_refuses_and_names_the_options_that_continue_it(tiny_model: str, tmp_path: Path) -> None:
    from spacy_goemotions.core.table import TableOptions
    from spacy_goemotions.errors import ConfigurationError
    from spacy_goemotions.files import FileJob, Interrupted, classify_file

    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(json.dumps({"text": f"{text} {i}"}) + "\n" for i in range(40) for text in TEXTS if text), encoding="utf-8"
    )
    out = tmp_path / "out.jsonl"
    job = FileJob(str(source), str(out), text_column="text", chunk_rows=16)
    torch_float32 = EmotionClassifier(tiny_model, backend="torch", device="cpu", dtype="float32", progress=False)
    with pytest.raises(Interrupted):
        classify_file(job, classifier=torch_float32, table=TableOptions(), should_stop=lambda: True)
    checkpoint = json.loads(out.with_name("out.jsonl.checkpoint.json").read_text(encoding="utf-8"))
    assert checkpoint["fingerprint"]["options"]["engine"] == "torch/float32/cpu"
    openvino = EmotionClassifier(tiny_model, device="cpu", dtype="float32", cache_dir=str(tmp_path / "cache"), progress=False)
    with pytest.raises(ConfigurationError, match="backend='torch', dtype='float32', device='cpu'") as refused:
        classify_file(job, classifier=openvino, table=TableOptions(), resume=True)
    assert "torch, float32, on cpu" in str(refused.value) and "openvino, float32, on cpu" in str(refused.value)
    # The same engine asked for in other words continues the run (device="auto" is the CPU on a machine without a GPU).
    import torch

    same_device = "cpu" if torch.cuda.is_available() or torch.backends.mps.is_available() else "auto"
    same = EmotionClassifier(tiny_model, backend="torch", device=same_device, dtype="float32", progress=False)
    assert classify_file(job, classifier=same, table=TableOptions(), resume=True).counts.rows_out == 120


def test_the_engine_is_recorded_in_the_saved_pipeline_and_the_report(tiny_model: str, tmp_path: Path) -> None:
    import spacy

    from spacy_goemotions import render

    nlp = spacy.blank("en")
    nlp.add_pipe("goemotions", config={"model": tiny_model, "backend": "torch", "device": "cpu", "dtype": "float32"})
    nlp("I love it")
    nlp.to_disk(tmp_path / "pipeline")
    saved = json.loads((tmp_path / "pipeline" / "goemotions" / "cfg").read_text(encoding="utf-8"))
    assert saved["engine"] == {"backend": "torch", "precision": "float32", "device": "cpu"}
    assert spacy.load(tmp_path / "pipeline").get_pipe("goemotions").cfg["engine"] == saved["engine"]
    html = render(["I love it"], model=tiny_model, backend="torch", device="cpu", dtype="float32", page=True)
    assert html is not None and "engine torch, float32, on cpu" in html


def test_the_classify_command_says_which_engine_scored(tiny_model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from spacy_goemotions.cli import main

    (tmp_path / "in.csv").write_text("text\nI love it\nwhy is it broken\n", encoding="utf-8")
    args = [str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv"), "--text-column", "text", "--no-progress"]
    assert main(["classify", *args, "--model", tiny_model, "--backend", "torch", "--device", "cpu", "--dtype", "float32"]) == 0
    assert capsys.readouterr().err.strip().endswith("scored by torch, float32, on cpu")
