"""Picking texts to annotate: reproducible, each strategy as documented, bad input refused."""

from __future__ import annotations

import numpy as np
import pytest

from spacy_goemotions import ConfigurationError
from spacy_goemotions.evaluation.selection import select_for_review


def scores_with_a_rare_label(rows: int = 200, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scores = rng.uniform(0.0, 1.0, size=(rows, 3))
    scores[:, 2] = 0.01  # a rare label: far below its threshold everywhere
    scores[17, 2] = 0.48  # but one text near it
    return scores


def test_the_same_seed_gives_the_same_picks_and_another_seed_others() -> None:
    scores = scores_with_a_rare_label()
    for strategy in ("uncertain", "diverse", "random"):
        first = select_for_review(scores, [0.5, 0.5, 0.5], 20, strategy, seed=1)  # type: ignore[arg-type]
        assert first.tolist() == select_for_review(scores, [0.5, 0.5, 0.5], 20, strategy, seed=1).tolist()  # type: ignore[arg-type]
        assert len(set(first.tolist())) == 20
    random_picks = [select_for_review(scores, [0.5] * 3, 20, "random", seed=s).tolist() for s in (1, 2)]
    assert random_picks[0] != random_picks[1]


def test_uncertain_takes_the_closest_to_each_threshold_with_labels_taking_turns() -> None:
    scores = scores_with_a_rare_label()
    thresholds = np.array([0.5, 0.3, 0.5])
    picks = select_for_review(scores, thresholds, 3, "uncertain")
    distance = np.abs(scores - thresholds)
    assert picks[0] == np.argmin(distance[:, 0])
    assert picks[1] == np.argmin(np.where(np.arange(200) == picks[0], np.inf, distance[:, 1]))
    assert picks[2] == 17  # the rare label gets its turn: the one text near its threshold


def test_duplicates_missing_scores_and_excluded_rows_are_never_picked() -> None:
    scores = np.array([[0.5], [0.5], [np.nan], [0.49], [0.9]])
    texts = ["Same text", "same   TEXT", "", "other", "far"]
    picks = select_for_review(scores, [0.5], 10, "uncertain", texts=texts, exclude=[False, False, False, True, False])
    assert sorted(picks.tolist()) in ([0, 4], [1, 4])  # one of the duplicates, never the NaN row or the excluded one
    assert select_for_review(scores, [0.5], 0).tolist() == []


def test_diverse_spreads_over_top_labels_and_lengths() -> None:
    rng = np.random.default_rng(0)
    scores = rng.uniform(size=(400, 4))
    texts = ["x" * int(length) for length in rng.integers(1, 400, size=400)]
    picks = select_for_review(scores, [0.5] * 4, 16, "diverse", texts=texts)
    top = np.argmax(scores[picks], axis=1)
    assert set(top.tolist()) == {0, 1, 2, 3}
    lengths = np.array([len(texts[i]) for i in picks])
    assert lengths.min() < np.quantile([len(t) for t in texts], 0.25) < np.quantile([len(t) for t in texts], 0.75) < lengths.max()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"strategy": "entropy"}, ConfigurationError, "Unknown strategy 'entropy'"),
        ({"n": -1}, ConfigurationError, "n must be a whole number"),
        ({"thresholds": [0.5, 0.5]}, ValueError, "thresholds one per label"),
        ({"texts": ["a"]}, ValueError, "1 texts for 2 score rows"),
        ({"exclude": [True]}, ValueError, "exclude must be one boolean per row"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs: dict, error: type[Exception], message: str) -> None:
    arguments = {"scores": [[0.1], [0.9]], "thresholds": [0.5], "n": 1, **kwargs}
    with pytest.raises(error, match=message):
        select_for_review(**arguments)
