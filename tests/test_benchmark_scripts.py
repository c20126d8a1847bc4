"""The benchmark scripts run, end to end, on a tiny model: the commands in the READMEs must not rot.

Speed is not checked here (CI machines vary); what is checked is that every engine runs on the same
texts and that the float32 engines agree with the float32 pipeline, as the real benchmark reports.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # long: outside the contributors' fast loop (pytest -m 'not slow')

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"


def run_script(name: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.run([sys.executable, str(BENCHMARKS / name), *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT, check=False)  # fmt: skip


def test_throughput_runs_every_engine_and_float32_engines_agree(tiny_model: str, tmp_path: Path) -> None:
    engines = ["pipeline:1", "core:float32", "pandas:float32", "spacy:float32", "plain:4"]
    if importlib.util.find_spec("openvino") is not None:
        engines.append("core-openvino:float32")
    out = tmp_path / "result.json"
    done = run_script("throughput.py", str(ROOT / "examples" / "comments.csv"), "--column", "text", "--model", tiny_model,
                      "--engines", ",".join(engines), "--threads", "1", "--json", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| engine |" in done.stdout
    rows = {row["engine"]: row for row in json.loads(out.read_text())["rows"]}
    assert set(rows) == set(engines)
    for engine, row in rows.items():
        assert "skipped" not in row, (engine, row.get("skipped"))
        assert row["texts_per_s"] > 0 and 0 < row["padding_efficiency"] <= 1
        assert row["max_abs_diff"] < 1e-5 and row["labels_equal"] == 1.0, engine


def test_memory_script_reports_each_size(tiny_model: str) -> None:
    done = run_script("memory.py", "--rows", "500,2000", "--model", tiny_model)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("| 500 ") or line.startswith("| 2,000 ")]
    assert len(lines) == 2


def test_ceiling_script_prints_a_row_per_dtype(tiny_model_dir: Path) -> None:
    done = run_script("ceiling.py", "--config", str(tiny_model_dir / "config.json"), "--tokens", "256",
                      "--dtypes", "float32", "--repeats", "2", "--threads", "1")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert any(line.startswith("| float32 |") for line in done.stdout.splitlines()), done.stdout


def test_explain_script_times_scoring_and_explaining_the_same_texts(tiny_model: str, tmp_path: Path) -> None:
    out = tmp_path / "explain.json"
    done = run_script("explain.py", str(ROOT / "examples" / "comments.csv"), "--column", "text", "--model", tiny_model,
                      "--rounds", "1", "--threads", "1", "--dtype", "float32", "--json", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["texts"] == 8 and result["sequences"] > 8 * 5  # every word left out once, plus each text
    assert result["score_texts_per_s"] > result["explain_texts_per_s"] > 0
    assert "| explain (top 3 labels) |" in done.stdout


def _goemotions_split(path: Path, rows: int, seed: int) -> None:
    """A GoEmotions-format file (text, label ids, id): every label appears, texts of varied length."""
    import random

    draw = random.Random(seed)
    words = ["good", "bad", "thanks", "why", "love", "awful", "ok", "great", "sad", "wow"]
    lines = []
    for index in range(rows):
        labels = sorted({index % 28, draw.randrange(28)})
        text = " ".join(draw.choice(words) for _ in range(draw.randint(2, 14)))
        lines.append(f"{text} {index}\t{','.join(map(str, labels))}\tid{seed}_{index}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_finetune_script_measures_training_and_what_it_gains(tiny_model: str, tmp_path: Path) -> None:
    for split, rows, seed in (("train", 64, 1), ("dev", 40, 2), ("test", 40, 3)):
        _goemotions_split(tmp_path / f"{split}.tsv", rows, seed)
    speed_json, quality_json = tmp_path / "speed.json", tmp_path / "quality.json"
    speed = run_script("finetune.py", "throughput", str(tmp_path / "train.tsv"), "--model", tiny_model, "--steps", "3",
                       "--batch-size", "4", "--autocasts", "bfloat16", "--json", str(speed_json))  # fmt: skip
    assert speed.returncode == 0, speed.stderr[-3000:]
    rows = json.loads(speed_json.read_text())["rows"]
    assert [row["precision"] for row in rows] == ["bfloat16 autocast"]  # float32: the quality run below trains in it
    assert all(row["examples"] == 12 and row["examples_per_s"] > 0 and row["peak_rss_mb"] > 0 for row in rows)
    quality = run_script("finetune.py", "quality", str(tmp_path), "--model", tiny_model, "--low-data", "20",
                         "--low-data-epochs", "2", "--autocast", "off", "--json", str(quality_json))  # fmt: skip
    assert quality.returncode == 0, quality.stderr[-3000:]
    result = json.loads(quality_json.read_text())
    assert [row["experiment"] for row in result["rows"]] == ["more-28", "ekman-new-set", "low-data-subset"]
    assert [row["labels"] for row in result["rows"]] == [28, 7, 5]
    for row in result["rows"]:
        for scores in (row["baseline"], row["trained"]):
            assert 0 <= scores["at_0.5"] <= 1 and 0 <= scores["tuned_on_dev"] <= 1
    assert "| one more epoch, the 28 labels | 28 | 64 |" in quality.stdout
    # the baseline is the starting model's own macro-F1 at 0.5 (scikit-learn as the oracle)
    from sklearn.metrics import f1_score

    from spacy_goemotions import EmotionClassifier

    lines = [line.split("\t") for line in (tmp_path / "test.tsv").read_text().splitlines()]
    gold = np.zeros((len(lines), 28), dtype=int)
    for row, (_, labels, _) in enumerate(lines):
        gold[row, [int(label) for label in labels.split(",")]] = 1
    scores = EmotionClassifier(tiny_model, dtype="float32", backend="torch").scores([text for text, _, _ in lines])
    expected = f1_score(gold, (scores >= 0.5).astype(int), average="macro", zero_division=0)
    assert result["rows"][0]["baseline"]["at_0.5"] == pytest.approx(expected, abs=1e-4)


def test_annotation_loop_script_times_selection_and_measures_the_loop(tiny_model: str, tmp_path: Path) -> None:
    for split, rows, seed in (("train", 40, 1), ("test", 30, 3)):
        _goemotions_split(tmp_path / f"{split}.tsv", rows, seed)
    selection_json, loop_json = tmp_path / "selection.json", tmp_path / "loop.json"
    done = run_script("annotation_loop.py", "selection", str(tmp_path / "train.tsv"), str(ROOT / "examples" / "comments.csv"),
                      "--rows", "60", "-n", "5", "--model", tiny_model, "--json", str(selection_json))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(selection_json.read_text())
    assert result["rows"] == 60 and {name: pick["picked"] for name, pick in result["pick"].items()} == {
        "uncertain": 5, "diverse": 5, "random": 5
    }  # fmt: skip
    assert "sample: 5 of 60 candidate texts" in result["sample_command_summary"]
    done = run_script("annotation_loop.py", "loop", str(tmp_path), "--model", tiny_model, "-n", "10", "--strategies",
                      "random", "--epochs", "1", "--json", str(loop_json), timeout=400)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (row,) = json.loads(loop_json.read_text())["rows"]
    assert row["strategy"] == "random" and row["reviewed_texts"] == 10
    assert all(0 <= f1 <= 1 for f1 in row["test_macro_f1_start"] + row["test_macro_f1_after"])
    assert "| random |" in done.stdout


def test_distill_script_measures_quality_speed_and_the_base_size_run(tiny_model: str, tiny_model_dir: Path, tmp_path: Path) -> None:
    for split, rows, seed in (("train", 120, 1), ("dev", 40, 2), ("test", 40, 3)):
        _goemotions_split(tmp_path / f"{split}.tsv", rows, seed)
    quality_json, speed_json, base_json = tmp_path / "quality.json", tmp_path / "speed.json", tmp_path / "base.json"
    done = run_script("distill.py", "quality", "--teacher", tiny_model, "--unlabelled", str(tmp_path / "train.tsv"),
                      "--dev", str(tmp_path / "dev.tsv"), "--test", str(tmp_path / "test.tsv"), "--epochs", "1",
                      "--speed-count", "50", "--json", str(quality_json), timeout=400)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    quality = json.loads(quality_json.read_text())
    assert quality["unlabelled_texts"] == 120 and quality["record"]["thresholds_tuned_on"] == "labelled data"
    f1 = quality["test_macro_f1"]
    assert 0 <= f1["teacher"] <= 1 and 0 <= f1["student"] <= 1
    assert quality["speed"]["texts"] == 50 and quality["speed"]["speedup"] > 0
    # speed: any student directory (here the teacher itself, as its own student) against the teacher
    done = run_script("distill.py", "speed", "--teacher", tiny_model, "--student", tiny_model, "--unlabelled",
                      str(tmp_path / "test.tsv"), "--json", str(speed_json))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    speed = json.loads(speed_json.read_text())
    assert speed["texts"] == 40 and [row["model"] for row in speed["rows"]] == ["teacher", "student"]
    assert all(0 < row["tokenizing_seconds"] < row["seconds"] for row in speed["rows"])
    done = run_script("distill.py", "base", "--skeleton", str(tiny_model_dir / "config.json"), "--tokenizer",
                      str(tiny_model_dir), "--student", "tiny", "--unlabelled", str(tmp_path / "train.tsv"), "--texts",
                      "100", "--max-steps", "3", "--json", str(base_json), timeout=400)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    base = json.loads(base_json.read_text())
    assert base["unlabelled_texts"] == 100 and base["teacher_seconds_per_10k_texts"] > 0 and base["training_seconds"] > 0


def test_gpu_script_dry_run_times_each_mode_and_says_what_ran(tmp_path: Path) -> None:
    out = tmp_path / "gpu.json"
    done = run_script("gpu.py", "--dry-run", "--texts", "60", "--pipeline-texts", "5", "--json", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    rows = {row["mode"]: row for row in result["rows"]}
    assert set(rows) == {"padded", "packed", "pipeline"} and result["dry_run"] is True
    for mode in ("padded", "packed"):
        row = rows[mode]
        assert row["texts_per_s"] > 0 and 0 < row["padding_efficiency"] <= 1 and row["engine"].startswith("torch/")
        assert 0 < row["device_s"] <= sum(row["seconds"]) and row["host_s"] >= 0
    assert rows["packed"]["packed"] is False and rows["packed"]["why_not_packed"] == "the device is cpu, not a CUDA GPU"
    assert {"torch", "transformers", "flash_attn", "device"} <= set(result["machine"])
    assert "| padded |" in done.stdout and "× pipeline bs=1" in done.stdout
