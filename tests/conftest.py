"""Shared fixtures: tiny offline models built once per test session (no network, no ../shared)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a test that reaches for the hub fails fast
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Converted models go to a folder of this test session, never the user's ~/.cache (a warm cache there
# would also change which backend "auto" picks).
os.environ["SPACY_GOEMOTIONS_CACHE_DIR"] = tempfile.mkdtemp(prefix="spacy-goemotions-test-cache-")

from spacy_goemotions.testing import build_tiny_model  # noqa: E402

SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"

#: Thresholds shipped with the tiny model, so threshold="tuned" has something to load.
TINY_SHIPPED_THRESHOLDS = {"joy": 0.25, "anger": 0.75}


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-init ModernBERT with the 28 GoEmotions labels and a small tokenizer."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", thresholds=TINY_SHIPPED_THRESHOLDS)


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: Path) -> str:
    return str(tiny_model_dir)


#: Set by .ci/run: there every test must run, so a skip (no Java, no Chromium, no ../shared, a missing extra)
#: is a failure that names what is missing, instead of a green run that tested less. A user's run still skips.
NO_SKIPS = os.environ.get("SPACY_GOEMOTIONS_NO_SKIPS") == "1"


def _skip_as_failure(report: pytest.TestReport | pytest.CollectReport) -> None:
    if NO_SKIPS and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped where every test must run (SPACY_GOEMOTIONS_NO_SKIPS=1): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    outcome = yield
    _skip_as_failure(outcome.get_result())  # type: ignore[attr-defined]
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> object:
    outcome = yield  # a module that skips itself at import (Spark without Java)
    _skip_as_failure(outcome.get_result())  # type: ignore[attr-defined]
    return None


def shared_file(*parts: str) -> Path:
    """A file of ../shared, or skip: users and some CI runs do not have that folder."""
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs the project's reference data at {path} (not shipped to users)")
    return path
