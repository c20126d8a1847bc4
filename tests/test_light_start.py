"""Start in a second: a warm OpenVINO start never imports torch or transformers, and scores as a cold one does.

Each process here is fresh (what a process imports is a property of the whole process): the first
converts the model into an empty cache, which needs torch; the next reads the conversion back and must
run on ``tokenizers``, OpenVINO and numpy alone, with the same scores to the bit.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spacy_goemotions import EmotionClassifier
from spacy_goemotions.core.devices import no_gpu_possible

needs_openvino = pytest.mark.skipif(importlib.util.find_spec("openvino") is None, reason="needs the openvino extra")

TEXTS = ["Thank you so much!", "This is awful.", "", None, "Why would you do that?", "lol", "I am scared " * 60, "ok"]

WORKER = textwrap.dedent(
    """
    import json, sys
    from spacy_goemotions import EmotionClassifier
    job = json.loads(sys.argv[1])
    result = EmotionClassifier(job["model"], progress=False, **job["options"]).run(job["texts"])
    heavy = [name for name in ("torch", "transformers", "pandas", "spacy") if name in sys.modules]
    print(json.dumps({"heavy": heavy, "engine": str(result.stats.engine), "scores": result.scores.tolist()}))
    """
)


def score_in_fresh_process(model: str, cache: Path, **options: Any) -> dict[str, Any]:
    job = json.dumps({"model": model, "options": options, "texts": TEXTS})
    env = {**os.environ, "SPACY_GOEMOTIONS_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", WORKER, job], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
@needs_openvino
def test_a_warm_openvino_start_imports_neither_torch_nor_transformers(tiny_model: str, tmp_path: Path) -> None:
    options = {"backend": "openvino", "dtype": "float32"}
    cold = score_in_fresh_process(tiny_model, tmp_path, **options)
    warm = score_in_fresh_process(tiny_model, tmp_path, **options)
    assert "torch" in cold["heavy"]  # converting traces the torch model: the test would prove nothing otherwise
    assert warm["heavy"] == [], f"a warm start imported {warm['heavy']}"
    assert warm["engine"] == cold["engine"] == "openvino/float32/cpu"
    assert warm["scores"] == cold["scores"]
    oracle = EmotionClassifier(tiny_model, backend="torch", dtype="float32", device="cpu", progress=False).scores(TEXTS)
    np.testing.assert_allclose(np.array(warm["scores"], dtype=np.float32), oracle, atol=1e-5)


@pytest.mark.slow
@needs_openvino
def test_the_default_options_start_light_on_a_machine_without_a_gpu(tiny_model: str, tmp_path: Path) -> None:
    if not no_gpu_possible():
        pytest.skip("a GPU driver is present: the default options ask torch whether to run on it")
    cold = score_in_fresh_process(tiny_model, tmp_path)
    warm = score_in_fresh_process(tiny_model, tmp_path)
    assert warm["engine"] == cold["engine"] and warm["engine"].startswith("openvino/")
    assert warm["scores"] == cold["scores"]
    assert warm["heavy"] == [], f"a warm start imported {warm['heavy']}"
