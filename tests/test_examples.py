"""The examples in examples/ run, on an offline model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # long: outside the contributors' fast loop (pytest -m 'not slow')

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_pandas_quickstart_runs(tiny_model: str) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "pandas_quickstart.py"), str(EXAMPLES / "comments.csv"), "--model", tiny_model, "--top-k", "2"],
        capture_output=True, text=True, timeout=300, env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 + 8  # header + every comment, none dropped
    assert "Thank you so much" in result.stdout
