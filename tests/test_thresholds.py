from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from spacy_goemotions import GOEMOTIONS_LABELS, ConfigurationError, ThresholdPolicy, tune_thresholds
from spacy_goemotions.core.thresholds import model_card_thresholds, threshold_presets

LABELS = ("joy", "anger", "neutral")


def test_float_threshold_selects_at_or_above_highest_first() -> None:
    policy = ThresholdPolicy.from_spec(0.4, labels=LABELS)
    scores = np.array([[0.5, 0.9, 0.4], [0.1, 0.2, 0.39]], dtype=np.float32)
    assert policy.select_labels(scores, LABELS) == [["anger", "joy", "neutral"], []]


def test_dict_threshold_defaults_unlisted_labels_to_half() -> None:
    policy = ThresholdPolicy.from_spec({"joy": 0.2}, labels=LABELS)
    assert policy.cutoffs(LABELS).tolist() == pytest.approx([0.2, 0.5, 0.5])
    assert policy.select_labels(np.array([[0.3, 0.45, 0.6]]), LABELS) == [["neutral", "joy"]]


def test_top_k_keeps_highest_passing_labels() -> None:
    policy = ThresholdPolicy.from_spec(0.1, top_k=2, labels=LABELS)
    assert policy.select_labels(np.array([[0.3, 0.8, 0.5], [0.05, 0.2, 0.0]]), LABELS) == [["anger", "neutral"], ["anger"]]


def test_nan_rows_select_nothing() -> None:
    policy = ThresholdPolicy.from_spec(0.0, labels=LABELS)
    assert policy.select_labels(np.full((2, 3), np.nan), LABELS) == [[], []]


def test_model_card_preset_has_the_published_values() -> None:
    policy = ThresholdPolicy.from_spec("model_card")
    cutoffs = dict(zip(GOEMOTIONS_LABELS, policy.cutoffs(GOEMOTIONS_LABELS).tolist(), strict=True))
    assert cutoffs["grief"] == pytest.approx(0.14)
    assert cutoffs["amusement"] == pytest.approx(0.60)
    assert cutoffs["neutral"] == pytest.approx(0.40)
    assert set(model_card_thresholds()) == set(GOEMOTIONS_LABELS)


def test_json_file_round_trip(tmp_path: Path) -> None:
    file = tmp_path / "t.json"
    file.write_text(json.dumps({"thresholds": {"joy": 0.3}}))
    assert ThresholdPolicy.from_spec(str(file), labels=LABELS).cutoffs(LABELS)[0] == pytest.approx(0.3)
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({"anger": 0.7}))
    assert ThresholdPolicy.from_spec(flat, labels=LABELS).cutoffs(LABELS)[1] == pytest.approx(0.7)


def test_tuned_preset_uses_model_thresholds_and_errors_without_them() -> None:
    policy = ThresholdPolicy.from_spec("tuned", labels=LABELS)
    assert policy.cutoffs(LABELS, {"joy": 0.1}).tolist() == pytest.approx([0.1, 0.5, 0.5])
    with pytest.raises(ConfigurationError, match="thresholds.json"):
        policy.cutoffs(LABELS, None)


def test_registered_preset_is_usable(monkeypatch: pytest.MonkeyPatch) -> None:
    import catalogue

    monkeypatch.setattr(catalogue, "REGISTRY", dict(catalogue.REGISTRY))  # the preset must not outlive this test

    @threshold_presets.register("test_strict")
    def strict() -> dict[str, float]:
        return {"joy": 0.9}

    assert ThresholdPolicy.from_spec("test_strict", labels=LABELS).cutoffs(LABELS)[0] == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("threshold", "top_k", "message"),
    [
        (1.5, None, r"must be in \[0, 1\], got 1.5"),
        (-0.1, None, r"got -0.1"),
        ({"happiness": 0.3}, None, r"Unknown label\(s\) \['happiness'\]"),
        ({"joy": 2}, None, r"'joy' must be in \[0, 1\]"),
        ("no_such_preset", None, "Unknown threshold preset 'no_such_preset'"),
        ("missing/thresholds.json", None, "does not exist"),
        (0.5, 0, "top_k must be None or an integer >= 1, got 0"),
        (0.5, 1.5, "top_k must be"),
        (True, None, "got True \\(bool\\)"),
        ([0.5], None, "threshold must be a float"),
    ],
)
def test_bad_values_fail_with_the_value_and_an_example(threshold: object, top_k: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        ThresholdPolicy.from_spec(threshold, top_k, labels=LABELS)  # type: ignore[arg-type]
    assert "xample" in str(info.value) or "Choose" in str(info.value) or "Pass" in str(info.value)


def test_policy_dict_round_trip() -> None:
    for spec in (0.3, {"joy": 0.2}, "model_card", "tuned"):
        policy = ThresholdPolicy.from_spec(spec, top_k=3)
        assert ThresholdPolicy.from_dict(json.loads(json.dumps(policy.to_dict()))) == policy


def test_policy_naming_a_label_the_model_lacks_errors_when_applied() -> None:
    policy = ThresholdPolicy.from_spec({"grief": 0.3})
    with pytest.raises(ConfigurationError, match="grief"):
        policy.cutoffs(LABELS)


def test_tune_thresholds_matches_brute_force_f1() -> None:
    rng = np.random.default_rng(0)
    gold = rng.random((300, 3)) < [0.3, 0.1, 0.0]
    scores = np.clip(gold * 0.4 + rng.random((300, 3)) * 0.6, 0, 1)
    result = tune_thresholds(scores, gold, LABELS)
    from sklearn.metrics import f1_score

    for column, name in enumerate(LABELS[:2]):
        grid = np.round(np.arange(1, 100) / 100, 2)
        best = max(f1_score(gold[:, column], scores[:, column] >= t, zero_division=0) for t in grid)
        chosen = result["thresholds"][name]
        assert f1_score(gold[:, column], scores[:, column] >= chosen) == pytest.approx(best)
        assert result["f1"][name] == pytest.approx(best)
    assert result["thresholds"]["neutral"] == 0.5 and result["support"]["neutral"] == 0
    # the result is accepted as threshold= directly and as a JSON file
    assert ThresholdPolicy.from_spec(result, labels=LABELS).cutoffs(LABELS)[0] == pytest.approx(result["thresholds"]["joy"])


def test_tune_thresholds_rejects_bad_shapes_and_nan() -> None:
    with pytest.raises(ValueError, match="shape"):
        tune_thresholds(np.zeros((2, 3)), np.zeros((2, 2)), LABELS)
    with pytest.raises(ValueError, match="NaN"):
        tune_thresholds(np.full((2, 3), np.nan), np.zeros((2, 3)), LABELS)
