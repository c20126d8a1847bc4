"""No stray output: transformers' loading and saving bars and its chatter only when progress was asked for."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import spacy

from spacy_goemotions import EmotionClassifier
from spacy_goemotions.core import loading

CHATTER = ("Loading weights", "Writing model shards", "loss_type", "it/s]")


def fresh_load_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Models load again (the session's other tests may have loaded them quietly already)."""
    monkeypatch.setattr(loading, "_CACHE", {})


def test_scoring_prints_nothing_of_its_own(tiny_model: str, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    fresh_load_cache(monkeypatch)
    EmotionClassifier(tiny_model, backend="torch", progress=False).scores(["so happy", "so sad"])
    captured = capfd.readouterr()
    assert captured.out == "" and not any(word in captured.err for word in CHATTER), captured.err


def test_saving_a_pipeline_prints_nothing(tiny_model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capfd: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    fresh_load_cache(monkeypatch)
    nlp = spacy.blank("en")
    nlp.add_pipe("goemotions", config={"model": tiny_model, "backend": "torch"})
    nlp("so happy")
    nlp.to_disk(tmp_path / "pipeline")
    spacy.load(tmp_path / "pipeline")("so happy")
    captured = capfd.readouterr()
    assert not any(word in captured.err + captured.out for word in CHATTER), captured.err


@pytest.mark.slow
def test_the_classify_command_shows_only_its_own_lines(tiny_model: str, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    pd.DataFrame({"text": ["so happy", "so sad", None]}).to_csv(source, index=False)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "spacy_goemotions", "classify", str(source), "-o", str(tmp_path / "out.csv"),
         "--model", tiny_model, "--text-column", "text", "--no-progress"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    assert not any(word in done.stderr + done.stdout for word in CHATTER), done.stderr


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("openvino") is None, reason="needs openvino (pip install -e '.[openvino]')")
def test_warming_up_a_model_shorter_than_the_warmup_shapes_prints_no_length_warning(capfd: pytest.CaptureFixture[str]) -> None:
    # goemotions-small's tokenizer says 64 tokens; OpenVINO's warm-up batches are longer on purpose (cut to length).
    EmotionClassifier("goemotions-small", backend="openvino", dtype="float32", cache_dir="off", progress=False).warmup()
    captured = capfd.readouterr()
    assert "longer than the specified maximum sequence length" not in captured.err + captured.out, captured.err
