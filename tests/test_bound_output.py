"""Outputs bound once, on the caller's side: the resolved policy and taxonomies travel to workers as data.

A thresholds file and a taxonomy file given to a lazy or distributed job are read once, where the job is
built; deleting them before the job runs changes nothing, and the result is the pandas accessor's. (The
Spark case is in ``test_spark.py``, next to its session.)
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import spacy_goemotions  # noqa: F401  (registers the accessors)
from spacy_goemotions import GOEMOTIONS_LABELS, ConfigurationError
from spacy_goemotions.core.options import ClassifierOptions
from spacy_goemotions.core.table import TableLayout, TableOptions, declared_layout

TEXTS = ["Thank you so much!", None, "I am so confused and a bit annoyed.", "lol", "", "That is so sad.", "What a great day"]
OPTIONS = {"device": "cpu", "dtype": "float32", "backend": "torch"}
#: Thresholds near the tiny random model's scores (about 0.5), so that the file decides labels.
THRESHOLDS = {"joy": 0.45, "anger": 0.55, "neutral": 0.49}
WARM = ["admiration", "amusement", "approval", "caring", "excitement", "gratitude", "joy", "love", "optimism", "pride", "relief"]
TAXONOMY = {"warm": WARM, "cold": [label for label in GOEMOTIONS_LABELS if label not in WARM]}


@pytest.fixture
def policy_files(tmp_path: Path) -> tuple[Path, Path]:
    thresholds, taxonomy = tmp_path / "thresholds.json", tmp_path / "tone.json"
    thresholds.write_text(json.dumps({"thresholds": THRESHOLDS}), encoding="utf-8")
    taxonomy.write_text(json.dumps(TAXONOMY), encoding="utf-8")
    return thresholds, taxonomy


def _kwargs(tiny_model: str, files: tuple[Path, Path]) -> dict[str, object]:
    return {"model": tiny_model, "threshold": str(files[0]), "taxonomy": str(files[1]), "group_threshold": 0.52, **OPTIONS}


def _pandas_reference(tiny_model: str, files: tuple[Path, Path]) -> pd.DataFrame:
    return pd.DataFrame({"text": pd.Series(TEXTS, dtype=object)}).emotions.classify("text", **_kwargs(tiny_model, files))


def _assert_frames_equal(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.columns) == list(expected.columns)
    floats = [name for name in expected.columns if expected[name].dtype == np.float32]
    np.testing.assert_allclose(got[floats].to_numpy(dtype=np.float64), expected[floats].to_numpy(dtype=np.float64), atol=1e-6)
    for name in ("emotions", "tone"):
        assert [list(value) for value in got[name]] == [list(value) for value in expected[name]]
    assert any(expected["emotions"].map(len)) and any(expected["tone"].map(len))  # the policy decided something


def test_the_bound_layout_is_data_that_pickles_with_tuned_resolved(tiny_model: str, policy_files: tuple[Path, Path]) -> None:
    table = TableOptions(threshold="tuned", taxonomy=str(policy_files[1]), group_threshold=0.52)
    layout = declared_layout(table, ClassifierOptions(tiny_model, **OPTIONS))
    assert layout.policy.thresholds is not None and layout.policy.source == "tuned"  # no sentinel left to resolve
    assert layout.policy.cutoffs(layout.labels)[GOEMOTIONS_LABELS.index("joy")] == pytest.approx(0.25)  # the tiny model's file
    restored = pickle.loads(pickle.dumps(layout))
    assert isinstance(restored, TableLayout) and restored == layout
    policy_files[1].unlink()
    assert pickle.loads(pickle.dumps(layout)).groups[0].taxonomy.groups == layout.groups[0].taxonomy.groups


def test_tuned_without_shipped_thresholds_fails_where_the_job_is_built(tmp_path: Path) -> None:
    from spacy_goemotions.testing import build_tiny_model

    model = build_tiny_model(tmp_path / "plain")  # ships no thresholds.json
    with pytest.raises(ConfigurationError, match="thresholds.json"):
        declared_layout(TableOptions(threshold="tuned"), ClassifierOptions(str(model), **OPTIONS))


def test_a_worker_with_other_labels_refuses(tiny_model: str) -> None:
    from spacy_goemotions.integrations.pandas import classify_frame

    layout = TableOptions().layout(tuple(reversed(GOEMOTIONS_LABELS)))
    with pytest.raises(ConfigurationError, match="output was built for"):
        classify_frame(pd.DataFrame({"text": ["hi"]}), "text", ClassifierOptions(tiny_model, **OPTIONS), layout)


def test_dask_job_after_its_policy_files_are_deleted(tiny_model: str, policy_files: tuple[Path, Path]) -> None:
    dd = pytest.importorskip("dask.dataframe", reason="needs the dask extra")
    expected = _pandas_reference(tiny_model, policy_files)
    ddf = dd.from_pandas(pd.DataFrame({"text": pd.Series(TEXTS, dtype=object)}), npartitions=3, sort=False)
    lazy = ddf.emotions.classify("text", **_kwargs(tiny_model, policy_files))
    for file in policy_files:
        file.unlink()
    _assert_frames_equal(lazy.compute(scheduler="processes", num_workers=2), expected)


def test_lazy_polars_query_after_its_policy_files_are_deleted(tiny_model: str, policy_files: tuple[Path, Path]) -> None:
    pl = pytest.importorskip("polars", reason="needs the polars extra")
    expected = _pandas_reference(tiny_model, policy_files)
    lazy = pl.LazyFrame({"text": TEXTS}).emotions.classify("text", **_kwargs(tiny_model, policy_files))
    for file in policy_files:
        file.unlink()
    _assert_frames_equal(lazy.collect().to_pandas(), expected)
