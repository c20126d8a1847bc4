"""The public surface is deliberate, and importing the package is light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import spacy_goemotions

EXPECTED_PUBLIC = {
    "DEFAULT_MODEL",
    "GOEMOTIONS_LABELS",
    "ClassifierOptions",
    "ConfigurationError",
    "EmotionClassifier",
    "Explanation",
    "GoEmotionsError",
    "MissingExtraError",
    "ModelLoadError",
    "RunStats",
    "ScoringResult",
    "Taxonomy",
    "ThresholdPolicy",
    "__version__",
    "available_presets",
    "available_taxonomies",
    "bundled_model_names",
    "clear_model_cache",
    "explain",
    "get_classifier",
    "render",
    "taxonomies",
    "threshold_presets",
    "tune_thresholds",
}


def test_all_is_the_intended_surface() -> None:
    assert set(spacy_goemotions.__all__) == EXPECTED_PUBLIC
    for name in spacy_goemotions.__all__:
        assert hasattr(spacy_goemotions, name), name


@pytest.mark.slow
def test_import_loads_no_model_nor_spacy_nor_transformers() -> None:
    code = (
        "import sys, spacy_goemotions, spacy_goemotions.core.loading as l; "
        "print(l.load_count, 'spacy' in sys.modules, 'transformers' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.split() == ["0", "False", "False"]


def test_labels_are_the_28_goemotions_labels_in_id_order() -> None:
    labels = spacy_goemotions.GOEMOTIONS_LABELS
    assert len(labels) == 28 and len(set(labels)) == 28
    assert labels[0] == "admiration" and labels[15] == "gratitude" and labels[27] == "neutral"


@pytest.mark.slow
def test_cli_version_and_help() -> None:
    result = subprocess.run([sys.executable, "-m", "spacy_goemotions", "--version"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and spacy_goemotions.__version__ in result.stdout
    result = subprocess.run([sys.executable, "-m", "spacy_goemotions", "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "spacy-goemotions" in result.stdout
