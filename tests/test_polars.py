"""The Polars namespaces: eager and lazy (default and streaming collect) equal the pandas accessor."""

from __future__ import annotations

import importlib
import inspect
import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pl = pytest.importorskip("polars", reason="the Polars integration needs the [polars] extra: pip install -e '.[polars]'")
pytest.importorskip("pyarrow", reason="the Polars integration needs the [polars] extra: pip install -e '.[polars]'")

import spacy_goemotions.core.loading as _loading  # noqa: E402
import spacy_goemotions.integrations.polars as polars_integration  # noqa: E402  (registers the namespaces)
from spacy_goemotions import GOEMOTIONS_LABELS, ConfigurationError, MissingExtraError  # noqa: E402
from spacy_goemotions.integrations.pandas import EmotionsDataFrameAccessor  # noqa: E402

TEXTS = ["Thank you so much!", None, "I am so confused.", "", "lol", None, "That is so sad.", "Ok.", "I hate this", "Yay!!"]
MISSING = [i for i, text in enumerate(TEXTS) if text is None]
EKMAN_COLUMNS = [f"ekman_{group}" for group in ("anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral")]

MODES = ["eager", "lazy-default", "lazy-in-memory", "lazy-streaming"]


def classify(df: pl.DataFrame, mode: str, model: str, column: str = "text", **kwargs: Any) -> pl.DataFrame:
    """``df.emotions.classify`` eagerly, or lazily collected by the default, the in-memory or the streaming engine."""
    call = {"model": model, "dtype": "float32", "progress": False, **kwargs}
    if mode == "eager":
        out: pl.DataFrame = df.emotions.classify(column, **call)
        return out
    lazy = df.lazy().emotions.classify(column, **call)
    collected: pl.DataFrame = lazy.collect() if mode == "lazy-default" else lazy.collect(engine=mode.removeprefix("lazy-"))
    assert collected.schema == lazy.collect_schema()  # the declared schema told the truth
    return collected


def pandas_reference(texts: list[str | None], model: str, **kwargs: Any) -> pd.DataFrame:
    frame = pd.DataFrame({"text": pd.Series(texts, dtype=object)})  # object keeps None as None
    out: pd.DataFrame = frame.emotions.classify("text", model=model, dtype="float32", progress=False, **kwargs)
    return out


def assert_equals_pandas(out: pl.DataFrame, expected: pd.DataFrame, input_columns: list[str]) -> None:
    """Same columns in the same order, Float32 scores (null where pandas has NaN) to 1e-5, equal label lists."""
    added = [name for name in expected.columns if name != "text"]
    assert out.columns == [*input_columns, *added]
    floats = [name for name in added if expected[name].dtype == np.float32]
    lists = [name for name in added if name not in floats]
    assert floats and lists
    assert all(out.schema[name] == pl.Float32 for name in floats)
    assert all(out.schema[name] == pl.List(pl.String) for name in lists)
    scores = expected[floats].to_numpy()
    for name in floats:
        np.testing.assert_array_equal(out[name].is_null().to_numpy(), np.isnan(expected[name].to_numpy()))
    np.testing.assert_allclose(out.select(floats).to_numpy(), scores, atol=1e-5)  # polars gives NaN for null here
    for name in lists:
        assert out[name].to_list() == expected[name].tolist()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"threshold": "tuned", "top_k": 2},
        {"threshold": 0.0, "top_k": 3, "prefix": "emo_", "labels_column": "top3"},
        {"taxonomy": "ekman", "threshold": 0.4},
    ],
    ids=["defaults", "tuned-top2", "prefix-top3", "ekman"],
)
def test_classify_equals_the_pandas_accessor(tiny_model: str, mode: str, kwargs: dict[str, Any]) -> None:
    df = pl.DataFrame({"id": range(len(TEXTS)), "text": TEXTS})
    out = classify(df, mode, tiny_model, **kwargs)
    expected = pandas_reference(TEXTS, tiny_model, **kwargs)
    assert_equals_pandas(out, expected, ["id", "text"])
    assert out["id"].to_list() == list(range(len(TEXTS))) and out["text"].to_list() == TEXTS
    prefix = kwargs.get("prefix", "")
    assert out.columns[2:30] == [f"{prefix}{name}" for name in GOEMOTIONS_LABELS]
    if "taxonomy" in kwargs:
        assert out.columns[30:] == [*EKMAN_COLUMNS, "emotions", "ekman"]
        assert out.schema["ekman"] == pl.List(pl.String)
    if "top_k" in kwargs:
        assert max(len(labels) for labels in out[kwargs.get("labels_column", "emotions")]) <= kwargs["top_k"]


@pytest.mark.parametrize("mode", MODES)
def test_null_text_gets_null_scores_and_an_empty_list_and_empty_text_is_scored(tiny_model: str, mode: str) -> None:
    out = classify(pl.DataFrame({"text": TEXTS}), mode, tiny_model, threshold=0.0)
    scores = out.select(GOEMOTIONS_LABELS)
    null_rows = scores.select(pl.all_horizontal(pl.all().is_null())).to_series().to_list()
    any_null = scores.select(pl.any_horizontal(pl.all().is_null())).to_series().to_list()
    assert null_rows == any_null == [text is None for text in TEXTS]
    assert [len(labels) for labels in out["emotions"]] == [0 if text is None else 28 for text in TEXTS]
    assert out["emotions"].null_count() == 0  # an empty list, never a null list


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [pl.Categorical, pl.Enum(sorted({t for t in TEXTS if t is not None})), pl.Utf8])
def test_categorical_enum_and_utf8_columns_score_as_strings(tiny_model: str, mode: str, dtype: Any) -> None:
    df = pl.DataFrame({"text": TEXTS}).with_columns(pl.col("text").cast(dtype))
    assert_equals_pandas(classify(df, mode, tiny_model), pandas_reference(TEXTS, tiny_model), ["text"])


@pytest.mark.parametrize("mode", MODES)
def test_an_all_null_column_gives_null_scores(tiny_model: str, mode: str) -> None:
    df = pl.DataFrame({"text": [None, None]})
    assert df.schema["text"] == pl.Null
    out = classify(df, mode, tiny_model)
    assert out.select(GOEMOTIONS_LABELS).null_count().row(0) == (2,) * 28
    assert out["emotions"].to_list() == [[], []]


def test_many_rows_across_batches_keep_their_order(tiny_model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    vocabulary = [f"{word} number {k}" for k in range(60) for word in ("great", "sad", "wow")] + [None]
    texts = [vocabulary[i] for i in rng.integers(0, len(vocabulary), size=6000)]
    big = pl.DataFrame({"row": np.arange(len(texts)), "text": texts})
    # several frames and slices of one, concatenated: a lazy frame whose batches come from different sources
    parts = [big.slice(0, 1500), big.slice(1500, 1000), big.slice(2500, 3500).rechunk()]
    lazy = pl.concat([part.lazy() for part in parts]).emotions.classify("text", model=tiny_model, dtype="float32", progress=False)
    expected = pandas_reference(texts, tiny_model)
    batches: list[int] = []
    scoring = polars_integration.table_columns

    def counted(texts: Any, *args: Any, **kwargs: Any) -> Any:
        batches.append(len(texts))
        return scoring(texts, *args, **kwargs)

    monkeypatch.setattr(polars_integration, "table_columns", counted)
    for engine in ["auto", "in-memory", "streaming"]:  # auto: what collect() does
        batches.clear()
        out = lazy.collect(engine=engine)
        assert len(batches) > 1 and sum(batches) == len(texts), (engine, batches)
        assert out["row"].to_list() == list(range(len(texts)))
        assert_equals_pandas(out, expected, ["row", "text"])


def test_filters_and_slices_after_classify_run_before_the_model(tiny_model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    batches: list[list[str | None]] = []
    scoring = polars_integration.table_columns

    def recorded(texts: Any, *args: Any, **kwargs: Any) -> Any:
        batches.append(list(texts))
        return scoring(texts, *args, **kwargs)

    monkeypatch.setattr(polars_integration, "table_columns", recorded)
    lazy = pl.LazyFrame({"id": range(len(TEXTS)), "text": TEXTS}).emotions.classify("text", model=tiny_model, dtype="float32")
    for engine in ["in-memory", "streaming"]:
        batches.clear()
        assert lazy.filter(pl.col("id") >= 6).head(2).collect(engine=engine)["id"].to_list() == [6, 7]
        assert [text for batch in batches for text in batch] == TEXTS[6:8]


def test_lazy_schema_needs_no_model_load(tiny_model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model was loaded before collect")

    cached, loads = dict(_loading._CACHE), _loading.load_count
    monkeypatch.setattr(_loading, "load_model", refuse)  # the one loader: the classifier looks it up when it loads
    # batch_size=7: options no other test uses, so no classifier of this process has loaded a model for them yet
    options = {"model": tiny_model, "batch_size": 7, "taxonomy": "ekman", "prefix": "p_"}
    lf = pl.LazyFrame({"id": [1], "text": ["hi"]}).emotions.classify("text", **options)
    schema = lf.collect_schema()
    assert schema == pl.Schema(
        {"id": pl.Int64, "text": pl.String}
        | {f"p_{name}": pl.Float32 for name in [*GOEMOTIONS_LABELS, *EKMAN_COLUMNS]}
        | {"emotions": pl.List(pl.String), "ekman": pl.List(pl.String)}
    )
    assert cached == _loading._CACHE and _loading.load_count == loads
    with pytest.raises(Exception, match="a model was loaded before collect"):
        lf.collect()  # the model loads when the query runs, not before
    monkeypatch.undo()
    assert lf.collect().schema == schema


def test_lazy_query_built_for_other_labels_fails_at_collect(tiny_model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from spacy_goemotions.core import loading

    monkeypatch.setattr(loading, "model_labels", lambda model, revision: tuple(reversed(GOEMOTIONS_LABELS)))
    lazy = pl.LazyFrame({"text": ["hi"]}).emotions.classify("text", model=tiny_model, dtype="float32")
    with pytest.raises(ConfigurationError, match=r"lazy query was built for \['neutral', 'surprise'"):
        lazy.collect()


def test_sink_parquet_streams_the_same_rows(tiny_model: str, tmp_path: Path) -> None:
    lazy = pl.LazyFrame({"text": TEXTS}).emotions.classify("text", model=tiny_model, dtype="float32", top_k=2)
    lazy.sink_parquet(tmp_path / "out.parquet")
    assert_equals_pandas(pl.read_parquet(tmp_path / "out.parquet"), pandas_reference(TEXTS, tiny_model, top_k=2), ["text"])


def eager(df: pl.DataFrame, column: str, **kwargs: Any) -> Any:
    return df.emotions.classify(column, **kwargs)


def lazy(df: pl.DataFrame, column: str, **kwargs: Any) -> Any:
    return df.lazy().emotions.classify(column, **kwargs)


def series_scores(df: pl.DataFrame, column: str, **kwargs: Any) -> Any:
    return df[column].emotions.scores(**kwargs)


def series_labels(df: pl.DataFrame, column: str, **kwargs: Any) -> Any:
    return df[column].emotions.labels(**kwargs)


@pytest.mark.parametrize("call", [eager, lazy, series_scores, series_labels])
@pytest.mark.parametrize("values", [[1, 2], [b"hi", b"ho"], [["a"], ["b"]]], ids=["Int64", "Binary", "List"])
def test_a_non_text_column_names_its_dtype_and_the_cast(tiny_model: str, call: Callable[..., Any], values: list[Any]) -> None:
    df = pl.DataFrame({"text": values})
    dtype = re.escape(str(df.schema["text"]))
    with pytest.raises(TypeError, match=rf"Column 'text' has dtype {dtype};.*pl\.col\('text'\)\.cast\(pl\.String\)"):
        call(df, "text", model=tiny_model)


@pytest.mark.parametrize("call", [eager, lazy])
def test_a_missing_column_lists_the_columns(tiny_model: str, call: Callable[..., Any]) -> None:
    with pytest.raises(KeyError, match=r"'body' not found. Available columns: \['id', 'text'\]"):
        call(pl.DataFrame({"id": [1], "text": ["a"]}), "body", model=tiny_model)


@pytest.mark.parametrize("call", [eager, lazy])
@pytest.mark.parametrize(
    ("kwargs", "clashing"),
    [({}, "joy"), ({"labels_column": "id"}, "id"), ({"prefix": "emo_", "labels_column": "emo_joy"}, "emo_joy")],
    ids=["score-column", "labels-column", "labels-vs-score"],
)
def test_output_names_that_exist_are_refused(
    tiny_model: str, call: Callable[..., Any], kwargs: dict[str, Any], clashing: str
) -> None:
    df = pl.DataFrame({"id": [1], "text": ["a"], "joy": [0.3]})
    with pytest.raises(ConfigurationError, match=rf"{clashing}.*(already exist|also the name).*(prefix=|pick another)"):
        call(df, "text", model=tiny_model, **kwargs)
    out = call(df, "text", model=tiny_model, dtype="float32", prefix="emo_")  # the way out
    assert (out.collect_schema() if isinstance(out, pl.LazyFrame) else out.schema).names()[3] == "emo_admiration"


@pytest.mark.parametrize("call", [eager, lazy])
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 1.5}, "1.5"),
        ({"top_k": 0}, "top_k"),
        ({"batchsize": 8}, "Did you mean .batch_size."),
        ({"device": "gpu"}, "device"),
    ],
    ids=["threshold", "top-k", "typo", "device"],
)
def test_bad_options_fail_when_the_query_is_built(
    tiny_model: str, call: Callable[..., Any], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises((ConfigurationError, TypeError), match=message):
        call(pl.DataFrame({"text": ["a"]}), "text", model=tiny_model, **kwargs)


def test_series_scores_and_labels_equal_the_pandas_series_accessor(tiny_model: str) -> None:
    series = pl.Series("body", TEXTS)
    reference = pd.Series(TEXTS, dtype=object)
    options = {"model": tiny_model, "dtype": "float32", "progress": False}
    scores = series.emotions.scores(**options)
    assert scores.columns == list(GOEMOTIONS_LABELS) and set(scores.dtypes) == {pl.Float32}
    expected = reference.emotions.scores(**options)
    np.testing.assert_allclose(scores.to_numpy(), expected.to_numpy(), atol=1e-5)
    assert scores.select(pl.all_horizontal(pl.all().is_null())).to_series().to_list() == [t is None for t in TEXTS]
    for kwargs in [{}, {"threshold": "tuned", "top_k": 2}, {"threshold": 0.0, "top_k": 1}]:
        labels = series.emotions.labels(**options, **kwargs)
        assert labels.name == "emotions" and labels.dtype == pl.List(pl.String)
        assert labels.to_list() == reference.emotions.labels(**options, **kwargs).tolist()
    assert [len(x) for x in series.emotions.labels(**options, threshold=0.0)] == [0 if t is None else 28 for t in TEXTS]


def test_same_arguments_as_the_pandas_accessor() -> None:
    pandas_params = list(inspect.signature(EmotionsDataFrameAccessor.classify).parameters.values())
    for namespace in [polars_integration.EmotionsFrameNamespace, polars_integration.EmotionsLazyFrameNamespace]:
        params = list(inspect.signature(namespace.classify).parameters.values())
        assert [(p.name, p.kind, p.default) for p in params] == [(p.name, p.kind, p.default) for p in pandas_params]


def test_importing_again_registers_again_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        module = importlib.reload(polars_integration)
    assert pl.DataFrame.emotions is module.EmotionsFrameNamespace
    assert pl.LazyFrame.emotions is module.EmotionsLazyFrameNamespace and pl.Series.emotions is module.EmotionsSeriesNamespace
    assert type(pl.DataFrame({"text": ["a"]}).emotions).__name__ == "EmotionsFrameNamespace"


def test_replacing_another_libraries_emotions_namespace_still_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pl.Series, "emotions", type("EmotionsSeriesNamespace", (), {}))  # someone else's; undo restores ours
    register = polars_integration._namespace(pl.api.register_series_namespace, pl.Series)
    with pytest.warns(UserWarning, match="overriding existing custom namespace 'emotions'"):
        register(polars_integration.EmotionsSeriesNamespace)


def test_missing_polars_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "polars", None)  # None in sys.modules makes `import` fail
    monkeypatch.delitem(sys.modules, "spacy_goemotions.integrations.polars")
    with pytest.raises(MissingExtraError, match=r"pl\.DataFrame\.emotions.*'polars'.*pip install 'spacy-goemotions\[polars\]'"):
        importlib.import_module("spacy_goemotions.integrations.polars")
