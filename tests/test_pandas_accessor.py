from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import spacy_goemotions  # noqa: F401  (registers the accessors)
from spacy_goemotions import GOEMOTIONS_LABELS, ConfigurationError, EmotionClassifier

TEXTS = ["Thank you so much!", "I am so confused.", "lol", "That is so sad.", "Ok."]


@pytest.fixture(scope="module")
def reference(tiny_model: str) -> np.ndarray:
    return EmotionClassifier(tiny_model, dtype="float32", progress=False).scores(TEXTS)


def classify(df: pd.DataFrame, model: str, **kwargs: object) -> pd.DataFrame:
    return df.emotions.classify("text", model=model, dtype="float32", progress=False, **kwargs)  # type: ignore[no-any-return]


def test_classify_adds_float32_scores_and_labels_without_mutating(tiny_model: str, reference: np.ndarray) -> None:
    df = pd.DataFrame({"text": TEXTS, "id": range(5)})
    before = df.copy()
    out = classify(df, tiny_model, threshold=0.5)
    pd.testing.assert_frame_equal(df, before)
    assert list(out.columns) == ["text", "id", *GOEMOTIONS_LABELS, "emotions"]
    assert all(out[name].dtype == np.float32 for name in GOEMOTIONS_LABELS)
    np.testing.assert_allclose(out[list(GOEMOTIONS_LABELS)].to_numpy(), reference, atol=1e-6)
    for row, labels in enumerate(out["emotions"]):
        expected = [GOEMOTIONS_LABELS[i] for i in np.argsort(-reference[row]) if reference[row, i] >= 0.5]
        assert labels == expected


@pytest.mark.parametrize(
    "index",
    [
        pd.Index([3, 3, 1, 0, 3]),
        pd.MultiIndex.from_tuples([("a", 1), ("a", 1), ("b", 2), ("c", 3), ("a", 0)]),
        pd.Index(["e", "d", "c", "b", "a"]),
    ],
)
def test_index_and_order_are_kept(tiny_model: str, reference: np.ndarray, index: pd.Index) -> None:
    df = pd.DataFrame({"text": TEXTS}, index=index)
    out = classify(df, tiny_model)
    assert out.index.equals(index)
    np.testing.assert_allclose(out[list(GOEMOTIONS_LABELS)].to_numpy(), reference, atol=1e-6)


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(["Thank you so much!", None, "lol", np.nan, pd.NA], dtype=object),
        pd.Series(["Thank you so much!", None, "lol", None, None], dtype="string"),
        pd.Series(["Thank you so much!", None, "lol", None, None], dtype="string[pyarrow]"),
        pd.Series(["Thank you so much!", None, "lol", None, None], dtype="category"),
    ],
    ids=["object", "string", "pyarrow", "category"],
)
def test_missing_texts_keep_their_row_with_nan_and_no_labels(tiny_model: str, reference: np.ndarray, column: pd.Series) -> None:
    out = classify(pd.DataFrame({"text": column}), tiny_model, threshold=0.0)
    scores = out[list(GOEMOTIONS_LABELS)].to_numpy()
    assert np.isnan(scores[[1, 3, 4]]).all()
    np.testing.assert_allclose(scores[[0, 2]], reference[[0, 2]], atol=1e-6)
    assert [len(x) for x in out["emotions"]] == [28, 0, 28, 0, 0]


def test_non_string_values_name_the_index_label(tiny_model: str) -> None:
    df = pd.DataFrame({"text": ["ok", 42, "fine"]}, index=["a", "b", "c"])
    with pytest.raises(TypeError, match=r"int \(42\) at index 'b'.*astype\('string'\)"):
        classify(df, tiny_model)


def test_unknown_column_lists_the_columns(tiny_model: str) -> None:
    with pytest.raises(KeyError, match=r"'body' not found. Available columns: \['text'\]"):
        pd.DataFrame({"text": ["a"]}).emotions.classify("body", model=tiny_model)


def test_overwriting_columns_is_refused_with_prefix_hint(tiny_model: str) -> None:
    df = pd.DataFrame({"text": ["a"], "joy": [1]})
    with pytest.raises(ValueError, match=r"\['joy'\].*prefix="):
        classify(df, tiny_model)
    out = classify(df, tiny_model, prefix="emo_", labels_column="emo_labels")
    assert "emo_joy" in out and "emo_labels" in out and out["joy"].tolist() == [1]


def test_empty_frame_gives_all_columns(tiny_model: str) -> None:
    out = classify(pd.DataFrame({"text": pd.Series([], dtype=object)}), tiny_model)
    assert len(out) == 0 and list(out.columns) == ["text", *GOEMOTIONS_LABELS, "emotions"]


def test_top_k_and_presets(tiny_model: str, reference: np.ndarray) -> None:
    out = classify(pd.DataFrame({"text": TEXTS}), tiny_model, threshold="tuned", top_k=2)
    cutoffs = np.full(28, 0.5)
    cutoffs[GOEMOTIONS_LABELS.index("joy")] = 0.25
    cutoffs[GOEMOTIONS_LABELS.index("anger")] = 0.75
    for row, labels in enumerate(out["emotions"]):
        expected = [GOEMOTIONS_LABELS[i] for i in np.argsort(-reference[row]) if reference[row, i] >= cutoffs[i]][:2]
        assert labels == expected


def test_bad_threshold_fails_before_scoring(tiny_model: str) -> None:
    with pytest.raises(ConfigurationError, match="1.5"):
        classify(pd.DataFrame({"text": TEXTS}), tiny_model, threshold=1.5)


def test_series_accessor_scores_and_labels(tiny_model: str, reference: np.ndarray) -> None:
    series = pd.Series(TEXTS, index=[10, 11, 12, 13, 14])
    scores = series.emotions.scores(model=tiny_model, dtype="float32", progress=False)
    assert list(scores.columns) == list(GOEMOTIONS_LABELS) and scores.index.equals(series.index)
    np.testing.assert_allclose(scores.to_numpy(), reference, atol=1e-6)
    labels = series.emotions.labels(model=tiny_model, dtype="float32", top_k=1, threshold=0.0, progress=False)
    assert labels.index.equals(series.index)
    assert labels.tolist() == [[GOEMOTIONS_LABELS[int(np.argmax(r))]] for r in reference]


def test_accessor_rejects_wrong_object() -> None:
    from spacy_goemotions.integrations.pandas import EmotionsDataFrameAccessor

    with pytest.raises(AttributeError, match="DataFrame"):
        EmotionsDataFrameAccessor(pd.Series([1]))  # type: ignore[arg-type]


@pytest.mark.slow
def test_classify_memory_beyond_its_output_is_flat_in_rows(tiny_model: str) -> None:
    """Peak traced memory (numpy and Python objects) minus the added columns grows by a few bytes a
    row (the list of texts handed to the core): the scores are written once, into the block the
    result adopts, never copied by a concat. One more copy of the scores would add 112 bytes a row."""
    import tracemalloc

    def overhead(rows: int) -> float:
        df = pd.DataFrame({"text": [f"text {i % 40}" for i in range(rows)]})  # 40 distinct: scoring is cheap
        tracemalloc.start()
        try:
            out = classify(df, tiny_model, threshold=0.0, top_k=1)  # one label per row
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        added = out.memory_usage(deep=True, index=False).drop("text").sum()
        return float(peak - added)

    classify(pd.DataFrame({"text": TEXTS}), tiny_model)  # load the model outside the measurement
    small, large = 20_000, 140_000  # both beyond the core's and the selection's fixed windows' warm-up
    per_row = (overhead(large) - overhead(small)) / (large - small)
    assert per_row < 56, f"{per_row:.0f} bytes per row beyond the output columns"


def test_core_fills_a_caller_owned_array_of_any_layout(tiny_model: str, reference: np.ndarray) -> None:
    classifier = EmotionClassifier(tiny_model, dtype="float32", progress=False)
    block = np.zeros((len(GOEMOTIONS_LABELS), len(TEXTS) + 1), dtype=np.float32)
    returned = classifier.scores([*TEXTS, None], out=block.T)
    assert returned is not None and np.shares_memory(returned, block)
    np.testing.assert_allclose(block.T[:-1], reference, atol=1e-6)
    assert np.isnan(block.T[-1]).all()
    with pytest.raises(ValueError, match=r"out must be a float32 numpy array of shape \(5, 28\)"):
        classifier.scores(TEXTS, out=np.zeros((5, 28), dtype=np.float64))
    with pytest.raises(ValueError, match="np.empty"):
        classifier.scores(TEXTS, out=np.zeros((4, 28), dtype=np.float32))


def test_labels_column_may_not_shadow_a_score_column(tiny_model: str) -> None:
    with pytest.raises(ValueError, match="labels_column='joy'"):
        classify(pd.DataFrame({"text": TEXTS}), tiny_model, labels_column="joy")
