"""ddf.emotions.classify: lazy, equal to the pandas accessor, one model load per worker process."""

from __future__ import annotations

import importlib
import inspect
import json
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

dd = pytest.importorskip("dask.dataframe", reason="the Dask adapter needs the [dask] extra: pip install -e '.[dask]'")
distributed = pytest.importorskip("distributed", reason="the Dask adapter tests need the [dask] extra (distributed)")

import dask  # noqa: E402

import spacy_goemotions.core.loading as _loading  # noqa: E402
import spacy_goemotions.integrations.dask  # noqa: E402, F401  (registers ddf.emotions)
from spacy_goemotions import GOEMOTIONS_LABELS, ConfigurationError, MissingExtraError, ModelLoadError  # noqa: E402
from spacy_goemotions.integrations.pandas import EmotionsDataFrameAccessor  # noqa: E402

TIMEOUT_S = 240  # a cold worker imports torch and transformers; the machine is shared
OPTIONS = {"dtype": "float32", "threshold": "tuned", "top_k": None}

TEXTS = [
    "Thank you so much!", None, "I am so confused.", "lol", np.nan, "That is so sad.", "Ok.", pd.NA,
    "What a great day", "I hate this", "", "Wow, really?", "sure", "Ugh.", "I miss you", "Yay!!",
    "hmm", "This is fine.", "no", "Thanks, I guess", "Scary stuff", "oh no", "best news ever",
]  # fmt: skip


def frame() -> pd.DataFrame:
    """Missing texts of three kinds, an unsorted index with duplicates, an extra column to keep."""
    index = pd.Index([7, 3, 3, 100, -1, 5, 2, 2, 0, 9, 11, 1, 8, 6, 4, 12, 13, 3, 14, 15, 16, 17, 18], name="row")
    return pd.DataFrame({"text": pd.Series(TEXTS, dtype=object, index=index), "n": np.arange(len(TEXTS), dtype=np.int64)})


def added_columns(prefix: str = "", labels_column: str = "emotions") -> list[str]:
    return [f"{prefix}{name}" for name in GOEMOTIONS_LABELS] + [labels_column]


@pytest.fixture(scope="module")
def client() -> Iterator[distributed.Client]:
    """Two single-threaded worker PROCESSES: the layout on which per-process model loading shows."""
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, memory_limit=None,
        silence_logs=50, worker_dashboard_address=None,
    )  # fmt: skip
    dask_client = distributed.Client(cluster, timeout=TIMEOUT_S)
    try:
        dask_client.wait_for_workers(2, timeout=TIMEOUT_S)
        yield dask_client
    finally:
        dask_client.close(timeout=60)
        cluster.close(timeout=60)


def worker_load_counts(dask_client: distributed.Client) -> dict[str, int]:
    # A lambda travels by value (the test module is not importable on the workers).
    return dask_client.run(lambda: __import__("spacy_goemotions.core.loading", fromlist=["x"]).load_count)  # type: ignore[no-any-return]


@pytest.fixture
def no_model_in_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building the lazy frame (and computing it on the cluster) must not load a model here."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model was loaded in the client process")

    monkeypatch.setattr(_loading, "load_model", refuse)  # the one loader: the classifier looks it up when it loads


@pytest.mark.slow
@pytest.mark.parametrize("convert_string", [False, True], ids=["object-column", "arrow-strings"])
def test_cluster_result_equals_pandas_and_each_worker_loads_once(
    tiny_model: str, client: distributed.Client, no_model_in_client: None, monkeypatch: pytest.MonkeyPatch, convert_string: bool
) -> None:
    workers = sorted(worker_load_counts(client))
    lazy, results = [], []
    for i, address in enumerate(workers):
        # Each worker gets the whole frame, in 5 or 4 partitions (other task keys, so no result is
        # shared between the workers): every worker must then reuse its one model across partitions.
        with dask.config.set({"dataframe.convert-string": convert_string}):
            ddf = dd.from_pandas(frame(), npartitions=5 - i, sort=False)
            assert ddf.npartitions == 5 - i
            out = ddf.emotions.classify("text", model=tiny_model, **OPTIONS)
            source = ddf.compute(scheduler="sync")  # exactly the partitions the workers receive
        assert list(out.columns) == [*source.columns, *added_columns()]
        # The graph holds options only: pickling it must not drag torch or a classifier along.
        graph = pickle.dumps(dict(out.__dask_graph__()))
        # b"torch.": a pickled module or tensor (the option backend="torch" is only a string)
        assert b"torch." not in graph and b"_rebuild_tensor" not in graph and b"EmotionClassifier" not in graph
        assert tiny_model.encode() in graph
        lazy.append(out)
        results.append(client.compute(out, workers=[address], allow_other_workers=False).result(timeout=TIMEOUT_S))
    assert worker_load_counts(client) == dict.fromkeys(workers, 1)

    monkeypatch.undo()  # the reference below runs the pandas accessor in this process
    expected = source.emotions.classify("text", model=tiny_model, **OPTIONS)
    for result, out in zip(results, lazy, strict=True):
        # values (float32 rounding moves with the batch shape: rtol 1e-5), index, order, dtypes
        pd.testing.assert_frame_equal(result, expected, check_exact=False, rtol=1e-5, atol=1e-6)
        pd.testing.assert_series_equal(result.dtypes, out.dtypes)  # the lazy meta told the truth
    scores = expected[list(GOEMOTIONS_LABELS)].to_numpy()
    missing = [i for i, text in enumerate(TEXTS) if not isinstance(text, str)]
    assert np.isnan(scores[missing]).all() and not np.isnan(np.delete(scores, missing, axis=0)).any()
    assert [labels for i, labels in enumerate(expected["emotions"]) if i in missing] == [[]] * len(missing)
    # the same texts scored by the pandas accessor on the original frame (object column, None kept)
    direct = frame().emotions.classify("text", model=tiny_model, **OPTIONS)
    np.testing.assert_array_equal(direct[list(GOEMOTIONS_LABELS)].to_numpy(), scores)  # same batches here
    assert direct["emotions"].tolist() == expected["emotions"].tolist()


def test_empty_partitions_prefix_and_top_k(tiny_model: str) -> None:
    ddf = dd.from_pandas(frame(), npartitions=4, sort=False)
    filtered = ddf[ddf["n"] >= 12]  # the first partitions become empty
    kwargs = {"model": tiny_model, "dtype": "float32", "threshold": 0.0, "top_k": 3, "prefix": "emo_", "labels_column": "top3"}
    out = filtered.emotions.classify("text", **kwargs)
    assert list(out.columns) == ["text", "n", *added_columns("emo_", "top3")]
    result = out.compute(scheduler="sync")
    expected = filtered.compute(scheduler="sync").emotions.classify("text", **kwargs)
    pd.testing.assert_frame_equal(result, expected)
    assert [len(labels) for labels in result["top3"]] == [0 if not isinstance(t, str) else 3 for t in TEXTS[12:]]


def test_labels_override_skips_the_config(tiny_model: str, no_model_in_client: None, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("labels= was given, the config must not be read")

    monkeypatch.setattr(_loading, "model_labels", refuse)  # what declared_labels reads
    ddf = dd.from_pandas(frame(), npartitions=2, sort=False)
    out = ddf.emotions.classify("text", model=tiny_model, labels=GOEMOTIONS_LABELS, prefix="p_")
    assert list(out.columns) == ["text", "n", *added_columns("p_")]


def test_wrong_labels_override_fails_with_a_clear_error(tiny_model: str) -> None:
    ddf = dd.from_pandas(frame(), npartitions=2, sort=False)
    lazy = ddf.emotions.classify("text", model=tiny_model, labels=list(reversed(GOEMOTIONS_LABELS)), dtype="float32")
    with pytest.raises(ConfigurationError, match=r"output was built for .*Drop labels="):
        lazy.compute(scheduler="sync")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"column": "body"}, KeyError, r"'body' not found. Available columns: \['text', 'n'\]"),
        ({"prefix": "", "labels_column": "n"}, ValueError, r"\['n'\] already exist.*prefix="),
        ({"threshold": {"joyful": 0.3}}, ConfigurationError, "joyful"),
        ({"threshold": 1.5}, ConfigurationError, "1.5"),
        ({"top_k": 0}, ConfigurationError, "top_k"),
        ({"device": "gpu"}, ConfigurationError, r"Unknown device 'gpu'.*device='cuda'"),
        ({"labels": "joy"}, ConfigurationError, r"labels must be a non-empty list"),
        ({"labels": ["joy", "joy"]}, ConfigurationError, r"duplicates: \['joy'\]"),
        ({"model": "/no/such/model-dir"}, OSError, "neither an existing directory nor a hub id"),
    ],
    ids=["column", "clash", "threshold-label", "threshold-range", "top-k", "device", "labels-str", "labels-dup", "model"],
)
def test_bad_arguments_fail_while_building_the_graph(
    tiny_model: str, no_model_in_client: None, kwargs: dict, error: type, message: str
) -> None:
    ddf = dd.from_pandas(frame(), npartitions=2, sort=False)
    call = {"column": "text", "model": tiny_model, **kwargs}
    with pytest.raises(error, match=message):
        ddf.emotions.classify(call.pop("column"), **call)


def test_same_arguments_as_the_pandas_accessor() -> None:
    pandas_params = inspect.signature(EmotionsDataFrameAccessor.classify).parameters
    dask_params = inspect.signature(spacy_goemotions.integrations.dask.EmotionsDaskAccessor.classify).parameters
    assert [(p.name, p.kind, p.default) for p in pandas_params.values()] == [
        (p.name, p.kind, p.default) for p in dask_params.values() if p.name != "labels"
    ]


def test_accessor_needs_a_dask_dataframe() -> None:
    with pytest.raises(AttributeError, match="needs a dask DataFrame"):
        spacy_goemotions.integrations.dask.EmotionsDaskAccessor(pd.DataFrame({"text": ["a"]}))  # type: ignore[arg-type]


def test_model_labels_reads_the_config_only(tiny_model: str, no_model_in_client: None) -> None:
    assert _loading.model_labels(tiny_model) == GOEMOTIONS_LABELS


def test_model_labels_without_id2label_match_what_transformers_loads(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "modernbert"}), encoding="utf-8")
    assert _loading.model_labels(tmp_path) == ("LABEL_0", "LABEL_1")  # transformers' defaults


def test_model_labels_of_an_unreachable_hub_model_suggest_labels() -> None:
    with pytest.raises(ModelLoadError, match=r"(?s)'nobody/no-such-goemotions-model'.*labels=\[\.\.\.\]"):
        _loading.model_labels("nobody/no-such-goemotions-model")  # offline in tests: not in the cache


def test_missing_dask_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ["dask", "dask.dataframe", "dask.dataframe.extensions"]:
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules makes `import` fail
    monkeypatch.delitem(sys.modules, "spacy_goemotions.integrations.dask")
    with pytest.raises(MissingExtraError, match=r"ddf\.emotions.*'dask'.*pip install 'spacy-goemotions\[dask\]'") as caught:
        importlib.import_module("spacy_goemotions.integrations.dask")
    assert isinstance(caught.value, ImportError) and caught.value.extra == "dask"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import sys, spacy_goemotions; print('dask' in sys.modules, 'ray' in sys.modules)", "False False"),
        (
            "import dask.dataframe as dd, pandas as pd, spacy_goemotions; "
            "print(type(dd.from_pandas(pd.DataFrame({'text': ['a']}), npartitions=1).emotions).__name__)",
            "EmotionsDaskAccessor",
        ),
    ],
    ids=["package-import-stays-light", "registered-when-dask-came-first"],
)
def test_registration_on_package_import(code: str, expected: str) -> None:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected
