"""Corpus summaries against a hand-written pandas groupby, with missing texts and a datetime column."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from spacy_goemotions import GOEMOTIONS_LABELS, ConfigurationError
from spacy_goemotions.cli import main as cli_main
from spacy_goemotions.core.summaries import cooccurrence, summarize
from spacy_goemotions.core.taxonomies import load_taxonomy

needs_matplotlib = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs the plot extra")
WORDS = ["thank", "you", "love", "angry", "sad", "why", "wow", "scared", "so", "much", "hate", "great"]


@pytest.fixture(scope="module")
def scored(tiny_model: str) -> pd.DataFrame:
    """60 scored rows over three weeks, some without a text, some without a date, in three shops."""
    rng = np.random.default_rng(7)
    texts: list[Any] = [" ".join(rng.choice(WORDS, size=int(rng.integers(1, 8)))) for _ in range(60)]
    for i in (3, 17, 40):
        texts[i] = None
    dates = pd.Series(pd.date_range("2024-03-04", periods=60, freq="8h"))
    dates[[5, 33]] = pd.NaT
    frame = pd.DataFrame({"text": texts, "created": dates, "shop": rng.choice(["a", "b", "c"], size=60)})
    frame["text"] = frame["text"].astype(object)
    return frame.emotions.classify("text", model=tiny_model, dtype="float32", threshold=0.45, taxonomy="ekman")


def by_hand(rows: pd.DataFrame, level: str, names: list[str], columns: list[str], list_column: str) -> pd.DataFrame:
    """The summary written out with plain pandas."""
    present = rows[columns].notna().any(axis=1)
    out = []
    for name, column in zip(names, columns, strict=True):
        on = rows.loc[present, list_column].apply(lambda chosen, n=name: n in chosen).sum()
        texts = int(present.sum())
        out.append({"level": level, "name": name, "texts": texts, "missing": int((~present).sum()), "on": int(on),
                    "share": on / texts if texts else np.nan, "mean_score": rows.loc[present, column].mean()})  # fmt: skip
    return pd.DataFrame(out)


def expected_summary(frame: pd.DataFrame) -> pd.DataFrame:
    groups = list(load_taxonomy("ekman").groups)
    return pd.concat([
        by_hand(frame, "label", list(GOEMOTIONS_LABELS), list(GOEMOTIONS_LABELS), "emotions"),
        by_hand(frame, "ekman", groups, [f"ekman_{g}" for g in groups], "ekman"),
    ], ignore_index=True)  # fmt: skip


def test_the_summary_equals_a_hand_written_count_with_missing_texts_apart(scored: pd.DataFrame) -> None:
    summary = scored.emotions.summary()
    pd.testing.assert_frame_equal(summary, expected_summary(scored), check_dtype=False)
    assert set(summary["missing"]) == {3} and set(summary["texts"]) == {57}
    assert summary["on"].sum() > 0  # not degenerate


def test_the_summary_per_column_value_keeps_every_row(scored: pd.DataFrame) -> None:
    summary = scored.emotions.summary(by="shop")
    for shop, rows in scored.groupby("shop"):
        part = summary[summary["shop"] == shop].drop(columns="shop").reset_index(drop=True)
        pd.testing.assert_frame_equal(part, expected_summary(rows), check_dtype=False)
    per_shop = summary[summary["name"] == "joy"]
    assert (per_shop["texts"] + per_shop["missing"]).sum() == len(scored) * 2  # label and group levels both count joy


def test_the_summary_per_week_matches_a_groupby_and_keeps_undated_rows(scored: pd.DataFrame) -> None:
    summary = scored.emotions.summary(by="created", freq="W")
    dated = scored[scored["created"].notna()]
    weeks = list(dated.groupby(pd.Grouper(key="created", freq="W")))
    assert len(weeks) == 3
    for week, rows in weeks:
        part = summary[summary["created"] == week].drop(columns="created").reset_index(drop=True)
        pd.testing.assert_frame_equal(part, expected_summary(rows), check_dtype=False)
    undated = summary[summary["created"].isna()].drop(columns="created").reset_index(drop=True)
    pd.testing.assert_frame_equal(undated, expected_summary(scored[scored["created"].isna()]), check_dtype=False)
    joy = summary[(summary["name"] == "joy") & (summary["level"] == "label")]
    assert (joy["texts"] + joy["missing"]).sum() == len(scored)  # every row in exactly one period or the undated group


def test_cooccurrence_counts_texts_with_both_on(scored: pd.DataFrame) -> None:
    matrix = scored.emotions.cooccurrence()
    assert list(matrix.index) == list(matrix.columns) == list(GOEMOTIONS_LABELS)
    for a in ("joy", "anger", "neutral"):
        for b in ("joy", "love", "sadness"):
            assert matrix.loc[a, b] == sum(a in chosen and b in chosen for chosen in scored["emotions"])
    groups = scored.emotions.cooccurrence("ekman")
    assert np.diag(groups).tolist() == [sum(g in chosen for chosen in scored["ekman"]) for g in groups.index]


def test_core_counting_and_errors() -> None:
    rows = summarize(np.array([[0.9, 0.1], [np.nan, np.nan], [0.2, 0.7]]), [["joy"], [], ["anger"]], ["joy", "anger"])
    assert [(r.texts, r.missing, r.on, r.share) for r in rows] == [(2, 1, 1, 0.5), (2, 1, 1, 0.5)]
    assert rows[0].mean_score == pytest.approx(0.55)
    empty = summarize(np.full((2, 1), np.nan), [[], []], ["joy"])[0]
    assert empty.texts == 0 and np.isnan(empty.share) and np.isnan(empty.mean_score)
    assert cooccurrence([["a", "b"], ["a"]], ["a", "b"]).tolist() == [[2, 1], [1, 1]]
    with pytest.raises(ValueError, match="shape"):
        summarize(np.zeros((2, 2)), [[]], ["a", "b"])


def test_summary_errors_say_what_to_pass(scored: pd.DataFrame) -> None:
    with pytest.raises(ConfigurationError, match="freq= needs by="):
        scored.emotions.summary(freq="W")
    with pytest.raises(ConfigurationError, match="is str|is object"):
        scored.assign(created=scored["created"].astype(str)).emotions.summary(by="created", freq="W")
    with pytest.raises(ConfigurationError, match="lacks the column"):
        scored[["text"]].emotions.summary()
    with pytest.raises(ConfigurationError, match="No columns of taxonomy 'sentiment'"):
        scored.emotions.summary(taxonomies=["sentiment"])
    with pytest.raises(KeyError, match="'when' not found"):
        scored.emotions.summary(by="when")
    unrelated = scored.assign(sentiment="whatever")  # a column that merely shares a taxonomy's name
    assert set(unrelated.emotions.summary()["level"]) == {"label", "ekman"}


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_the_summarize_command_reads_what_classify_wrote(tiny_model: str, tmp_path: Path, suffix: str) -> None:
    source = tmp_path / "in.csv"
    texts = ["Thank you so much!", "", "I hate this so much", "why?", "wow"]
    pd.DataFrame({"text": texts, "day": ["2024-01-01", "2024-01-02", "", "2024-01-15", "2024-01-16"]}).to_csv(source, index=False)
    scored = tmp_path / f"scored{suffix}"
    assert cli_main(["classify", str(source), "-o", str(scored), "--text-column", "text", "--all-columns", "--model", tiny_model,
                     "--dtype", "float32", "--taxonomy", "ekman", "--no-progress"]) == 0  # fmt: skip
    out = tmp_path / "summary.csv"
    assert cli_main(["summarize", str(scored), "--by", "day", "--freq", "W", "-o", str(out)]) == 0
    written = pd.read_csv(out)
    frame = pd.read_csv(source, keep_default_na=False, na_values=[""]).astype({"text": object})
    expected = frame.emotions.classify("text", model=tiny_model, dtype="float32", taxonomy="ekman")
    expected["day"] = pd.to_datetime(expected["day"])
    want = expected.emotions.summary(by="day", freq="W")
    assert len(written) == len(want)
    np.testing.assert_array_equal(written["on"], want["on"])
    np.testing.assert_array_equal(written["missing"], want["missing"])
    np.testing.assert_allclose(written["mean_score"], want["mean_score"], rtol=1e-5)


@needs_matplotlib
def test_the_plots_are_drawn(scored: pd.DataFrame, tmp_path: Path) -> None:
    from spacy_goemotions.visual.plots import plot_cooccurrence, plot_over_time, plot_shares

    for path in (
        plot_shares(scored.emotions.summary(), tmp_path / "shares.png"),
        plot_shares(scored.emotions.summary(), tmp_path / "groups.png", level="ekman"),
        plot_over_time(scored.emotions.summary(by="created", freq="D"), "created", tmp_path / "time.png"),
        plot_cooccurrence(scored.emotions.cooccurrence(), tmp_path / "heat.png"),
    ):
        assert path.stat().st_size > 10_000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ConfigurationError, match="no rows of level 'plutchik'"):
        plot_shares(scored.emotions.summary(), tmp_path / "x.png", level="plutchik")
