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
