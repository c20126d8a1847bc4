"""classify(sdf, ...) on a local Spark: the pandas accessor's columns, NULL for missing text, checked on the driver."""

from __future__ import annotations

import contextlib
import datetime
import functools
import importlib
import inspect
import itertools
import json
import math
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

pytest.importorskip("pyspark", reason="the Spark integration needs the [spark] extra: pip install -e '.[spark]'")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip(
        "the Spark integration tests need Java (17 or 21) and the [spark] extra: pip install -e '.[spark]'",
        allow_module_level=True,
    )

from pyspark.errors import PythonException  # noqa: E402
from pyspark.sql import DataFrame, SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402
from pyspark.sql import types as T  # noqa: E402

import spacy_goemotions.core.loading as _loading  # noqa: E402
import spacy_goemotions.integrations.spark as spark_integration  # noqa: E402
from spacy_goemotions import GOEMOTIONS_LABELS, ConfigurationError, MissingExtraError  # noqa: E402
from spacy_goemotions.integrations.pandas import EmotionsDataFrameAccessor  # noqa: E402
from spacy_goemotions.core.table import TableOptions  # noqa: E402
from spacy_goemotions.integrations.spark import classify, task_device  # noqa: E402

pytestmark = pytest.mark.slow  # long: outside the contributors' fast loop (pytest -m 'not slow')

TEXTS = [
    "Thank you so much!", None, "I am so confused.", "lol", "", "That is so sad.", "Ok.", None, "What a great day",
    "I hate this", "Wow, really?", "sure", "Ugh.", "I miss you", "Yay!!", "hmm", "This is fine.", "no",
]  # fmt: skip
SCHEMA = T.StructType(
    [
        T.StructField("id", T.LongType(), False),
        T.StructField("text", T.StringType(), True),
        T.StructField("n", T.IntegerType(), True),  # with a NULL: pandas would make it float on the way
        T.StructField("x", T.DoubleType(), True),  # with a NaN, which Spark tells apart from NULL
        T.StructField("at", T.TimestampType(), True),
    ]
)
ROWS = [
    (100 - i, text, None if i == 3 else i, math.nan if i == 5 else i / 4, datetime.datetime(2024, 1, 1 + i, 12, 30))
    for i, text in enumerate(TEXTS)
]
PARTITION_ROWS = (12, 2, 1, 3)  # one partition holds most rows
MISSING_IDS = {row[0] for row in ROWS if row[1] is None}
GROUPS = itertools.count()


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    """One local Spark for the module (the JVM takes ~10 s to start): two task slots, small Arrow batches."""
    with pytest.MonkeyPatch.context() as env:
        # The Python workers must be this interpreter (the package and torch are installed here), and
        # stay offline: they inherit the JVM's environment, which inherits ours.
        env.setenv("PYSPARK_PYTHON", sys.executable)
        env.setenv("PYSPARK_DRIVER_PYTHON", sys.executable)
        env.setenv("HF_HUB_OFFLINE", "1")
        session = (
            SparkSession.builder.master("local[2]")
            .appName("spacy-goemotions-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.execution.arrow.maxRecordsPerBatch", "4")  # several batches per partition
            .config("spark.executorEnv.HF_HUB_OFFLINE", "1")
            # A union of one-partition frames stays that many partitions (Spark 4 would zip them into one).
            .config("spark.sql.unionOutputPartitioning", "false")
            .config("spark.driver.host", "127.0.0.1")
            .getOrCreate()
        )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()


def skewed(spark: SparkSession) -> DataFrame:
    """The rows in partitions of 12, 2, 1 and 3 rows, in that order, with the partition of each row."""
    starts = np.cumsum([0, *PARTITION_ROWS])
    parts = [spark.createDataFrame(ROWS[a:b], SCHEMA).coalesce(1) for a, b in zip(starts[:-1], starts[1:], strict=True)]
    return functools.reduce(DataFrame.union, parts).withColumn("part", F.spark_partition_id())


def source_frame() -> pd.DataFrame:
    """The rows as a pandas frame in id order, with an object text column (so None stays None)."""
    rows = sorted(ROWS)
    frame = pd.DataFrame(rows, columns=SCHEMA.names)
    frame["text"] = pd.Series([row[1] for row in rows], dtype=object)
    return frame


def same(a: object, b: object) -> bool:
    """Equal, NaN included (Spark keeps NaN and NULL apart)."""
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


@contextlib.contextmanager
def no_job_started(spark: SparkSession) -> Iterator[None]:
    """Fails if the block starts a Spark job (its own exception, if any, propagates)."""
    context = spark.sparkContext
    group = f"plan-only-{next(GROUPS)}"
    context.setJobGroup(group, "building a plan must not run anything")
    try:
        yield
    finally:
        context.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
        assert context.statusTracker().getJobIdsForGroup(group) == []


def test_the_job_probe_sees_a_job(spark: SparkSession) -> None:
    with pytest.raises(AssertionError), no_job_started(spark):
        spark.range(3).count()


@pytest.fixture
def no_model_on_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building the plan must not load a model on the driver (the executors load it)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model was loaded on the driver")

    monkeypatch.setattr(_loading, "load_model", refuse)


@pytest.fixture
def worker_log(spark: SparkSession, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Wrap the function classify() hands to mapInArrow: per batch, each worker appends its partition,
    the batch's rows and how many models its process had loaded by then to ``<pid>.log``."""
    cls = type(spark.range(1))
    original = cls.mapInArrow
    folder = str(tmp_path)

    def recording_map(self: DataFrame, func: Any, schema: Any, *args: Any, **kwargs: Any) -> DataFrame:
        def recording(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            # A closure, so cloudpickle ships it by value: the test module is not importable on the workers.
            import os

            from pyspark import TaskContext

            from spacy_goemotions.core import loading

            for out in func(batches):
                with open(os.path.join(folder, f"{os.getpid()}.log"), "a", encoding="utf-8") as log:
                    log.write(f"{TaskContext.get().partitionId()} {out.num_rows} {loading.load_count}\n")
                yield out

        return original(self, recording, schema, *args, **kwargs)

    monkeypatch.setattr(cls, "mapInArrow", recording_map)
    return tmp_path


def scores_of(rows: list[Any], columns: list[str]) -> np.ndarray:
    """The score columns of collected rows as float32, NULL as NaN, after checking that exactly the
    rows without text have NULL scores (NULL, not NaN)."""
    values = [[row[name] for name in columns] for row in rows]
    for row, scores in zip(rows, values, strict=True):
        nulls = [value is None for value in scores]
        assert all(nulls) if row["id"] in MISSING_IDS else not any(nulls), (row["id"], scores)
        assert not any(value is not None and math.isnan(value) for value in scores)
    return np.array([[math.nan if v is None else v for v in scores] for scores in values], dtype=np.float32)


def test_spark_equals_pandas_on_skewed_partitions_and_each_worker_loads_once(
    spark: SparkSession, tiny_model: str, no_model_on_driver: None, worker_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sdf = skewed(spark)
    with no_job_started(spark):  # lazy: the schema comes from the config, on the driver
        out = classify(sdf, "text", model=tiny_model, dtype="float32")
    assert out.columns == [*sdf.columns, *GOEMOTIONS_LABELS, "emotions"]
    kinds = {field.name: field.dataType for field in out.schema.fields}
    assert {kinds[name] for name in GOEMOTIONS_LABELS} == {T.FloatType()}
    assert kinds["emotions"] == T.ArrayType(T.StringType(), containsNull=True)

    rows = sorted(out.collect(), key=lambda row: row["id"])
    assert [row["part"] for row in rows if row["id"] in MISSING_IDS]  # (the NULL texts are spread out)
    assert pd.Series([row["part"] for row in rows]).value_counts().sort_index().tolist() == list(PARTITION_ROWS)
    # Every row once, the input columns unchanged: a NULL int, a NaN double (not NULL), timestamps.
    assert len(rows) == len(ROWS)
    for row, source in zip(rows, sorted(ROWS), strict=True):
        assert all(same(a, b) for a, b in zip(tuple(row)[: len(source)], source, strict=True)), (row, source)

    # One model per worker process, reused for every later batch and task.
    logs = sorted(worker_log.glob("*.log"))
    batches = [line.split() for log in logs for line in log.read_text(encoding="utf-8").splitlines()]
    assert sum(int(rows_in_batch) for _, rows_in_batch, _ in batches) == len(ROWS)
    assert {loaded for _, _, loaded in batches} == {"1"}, batches
    assert len({part for part, _, _ in batches}) == len(PARTITION_ROWS) > len(logs)  # more tasks than workers
    assert len(batches) > len(PARTITION_ROWS)  # the large partition came in several Arrow batches

    monkeypatch.undo()  # the reference below loads the model here
    expected = source_frame().emotions.classify("text", model=tiny_model, dtype="float32")
    np.testing.assert_allclose(scores_of(rows, list(GOEMOTIONS_LABELS)), expected[list(GOEMOTIONS_LABELS)], atol=1e-5)
    assert [row["emotions"] for row in rows] == expected["emotions"].tolist()
    assert [row["emotions"] for row in rows if row["id"] in MISSING_IDS] == [[]] * len(MISSING_IDS)


def test_options_pass_through(spark: SparkSession, tiny_model: str) -> None:
    kwargs: dict[str, Any] = {
        "model": tiny_model, "dtype": "float32", "threshold": "tuned", "top_k": 2, "prefix": "emo_", "labels_column": "top",
        "taxonomy": "ekman",
    }  # fmt: skip
    out = classify(spark.createDataFrame(ROWS, SCHEMA).repartition(3), "text", **kwargs)
    expected = source_frame().emotions.classify("text", **kwargs)
    assert out.columns == list(expected.columns)
    ekman = [name for name in out.columns if name.startswith("emo_ekman_")]
    assert len(ekman) == 7 and out.columns[-2:] == ["top", "ekman"]
    assert out.schema["ekman"].dataType == T.ArrayType(T.StringType(), containsNull=True)

    rows = sorted(out.collect(), key=lambda row: row["id"])
    float_columns = [f"emo_{name}" for name in GOEMOTIONS_LABELS] + ekman
    np.testing.assert_allclose(scores_of(rows, float_columns), expected[float_columns], atol=1e-5)
    for name in ("top", "ekman"):
        assert [row[name] for row in rows] == expected[name].tolist()
    assert max(len(row["top"]) for row in rows) == 2
    assert [row["ekman"] for row in rows if row["id"] in MISSING_IDS] == [[]] * len(MISSING_IDS)


def test_large_arrow_strings(spark: SparkSession, tiny_model: str) -> None:
    """With useLargeVarTypes Spark sends and expects large strings: the label lists must follow."""
    spark.conf.set("spark.sql.execution.arrow.useLargeVarTypes", "true")
    try:
        out = classify(spark.createDataFrame(ROWS[:6], SCHEMA), "text", model=tiny_model, dtype="float32", taxonomy="sentiment")
        rows = sorted(out.collect(), key=lambda row: row["id"])
    finally:
        spark.conf.unset("spark.sql.execution.arrow.useLargeVarTypes")
    texts = pd.DataFrame({"text": pd.Series([row[1] for row in sorted(ROWS[:6])], dtype=object)})
    expected = texts.emotions.classify("text", model=tiny_model, dtype="float32", taxonomy="sentiment")
    np.testing.assert_allclose(scores_of(rows, list(GOEMOTIONS_LABELS)), expected[list(GOEMOTIONS_LABELS)], atol=1e-5)
    assert [(row["emotions"], row["sentiment"]) for row in rows] == list(
        zip(expected["emotions"], expected["sentiment"], strict=True)
    )


def test_a_labels_override_is_checked_on_the_workers(spark: SparkSession, tiny_model: str) -> None:
    sdf = spark.createDataFrame(ROWS[:4], SCHEMA)
    out = classify(sdf, "text", model=tiny_model, dtype="float32", labels=list(reversed(GOEMOTIONS_LABELS)))
    assert out.columns[5] == "neutral"  # the schema follows the override...
    with pytest.raises(PythonException, match=r"(?s)ConfigurationError.*output was built for.*Drop labels="):
        out.collect()  # ...and the workers refuse a model whose labels differ


def test_a_labels_override_skips_the_config(
    spark: SparkSession, tiny_model: str, no_model_on_driver: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("labels= was given, the config must not be read")

    monkeypatch.setattr(_loading, "model_labels", refuse)  # what declared_labels reads
    out = classify(spark.createDataFrame(ROWS[:2], SCHEMA), "text", model=tiny_model, labels=GOEMOTIONS_LABELS, prefix="p_")
    assert out.columns == [*SCHEMA.names, *(f"p_{name}" for name in GOEMOTIONS_LABELS), "emotions"]


@pytest.mark.parametrize(
    ("column", "kwargs", "error", "message"),
    [
        ("body", {}, KeyError, r"'body' not found. Available columns: \['id', 'text', 'n', 'x', 'at', 'Joy'\]"),
        ("Text", {}, KeyError, r"did you mean 'text'"),
        ("n", {}, TypeError, r"Column 'n' has type int.*F\.col\('n'\)\.cast\('string'\)"),
        ("at", {}, TypeError, r"Column 'at' has type timestamp"),
        ("text", {"prefix": "", "labels_column": "id"}, ConfigurationError, r"\['id'\] already exist.*prefix="),
        ("text", {"prefix": "emo_", "labels_column": "ID"}, ConfigurationError, r"\['ID'\] differ .* only by case"),
        ("text", {}, ConfigurationError, r"\['joy'\] differ from input columns only by case.*prefix="),
        ("text", {"prefix": "emo_", "threshold": 1.5}, ConfigurationError, "1.5"),
        ("text", {"prefix": "emo_", "device": "gpu"}, ConfigurationError, r"Unknown device 'gpu'"),
        ("text", {"prefix": "emo_", "labels": "joy"}, ConfigurationError, r"labels must be a non-empty list"),
        ("text", {"prefix": "emo_", "labels": ["joy", "joy"]}, ConfigurationError, r"duplicates: \['joy'\]"),
        ("text", {"prefix": "emo_", "model": "/no/such/model-dir"}, OSError, "neither an existing directory nor a hub id"),
    ],
    ids=[
        "missing",
        "case",
        "int",
        "timestamp",
        "clash",
        "clash-case",
        "label-case",
        "threshold",
        "device",
        "labels-str",
        "labels-dup",
        "model",
    ],  # fmt: skip
)
def test_bad_arguments_fail_on_the_driver_before_any_job(
    spark: SparkSession, tiny_model: str, no_model_on_driver: None, column: str, kwargs: dict[str, Any], error: type, message: str
) -> None:
    sdf = spark.createDataFrame(ROWS[:2], SCHEMA).withColumn("Joy", F.lit(1))
    call = {"model": tiny_model, **kwargs}
    with pytest.raises(error, match=message), no_job_started(spark):
        classify(sdf, column, **call)


def test_text_types_and_case_sensitive_names() -> None:
    fields = [T.StructField("a", T.VarcharType(10)), T.StructField("b", T.CharType(3)), T.StructField("c", T.BinaryType())]
    schema = T.StructType(fields)
    spark_integration._check_text_column(schema, "a")
    spark_integration._check_text_column(schema, "b")
    with pytest.raises(TypeError, match=r"'c' has type binary.*cast\('string'\)"):
        spark_integration._check_text_column(schema, "c")
    with pytest.raises(ValueError, match="'a' is not unique"):
        spark_integration._check_text_column(T.StructType([*fields, T.StructField("a", T.StringType())]), "a")
    layout = TableOptions().layout(GOEMOTIONS_LABELS, ["Joy"])
    spark_integration._check_case_clashes(layout, ["Joy"], "true")  # Spark then tells them apart
    with pytest.raises(ConfigurationError, match="only by case"):
        spark_integration._check_case_clashes(layout, ["Joy"], "false")


@pytest.mark.parametrize(
    ("device", "addresses", "visible", "expected"),
    [
        ("auto", ["1"], None, "cuda:1"),
        ("cuda", ["3", "4"], None, "cuda:3"),
        ("auto", ["3"], "2,3", "cuda:1"),  # logical index under CUDA_VISIBLE_DEVICES
        ("auto", ["5"], "2,3", "auto"),  # not visible here: leave it to the environment
        ("auto", ["GPU-a1b2"], None, "auto"),
        ("cuda:1", ["0"], None, "cuda:1"),  # an explicit device wins
        ("cpu", ["0"], None, "cpu"),
        ("auto", [], None, "auto"),
    ],
)
def test_task_device_is_the_gpu_spark_assigned(device: str, addresses: list[str], visible: str | None, expected: str) -> None:
    assert task_device(device, addresses, visible) == expected


def test_same_arguments_as_the_pandas_accessor() -> None:
    pandas_params = list(inspect.signature(EmotionsDataFrameAccessor.classify).parameters.values())[1:]  # past self
    spark_params = list(inspect.signature(classify).parameters.values())[1:]  # past sdf
    assert [(p.name, p.kind, p.default) for p in pandas_params] == [
        (p.name, p.kind, p.default) for p in spark_params if p.name != "labels"
    ]


def test_missing_pyspark_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in sys.modules if name == "pyspark" or name.startswith("pyspark.")]:
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules makes `import` fail
    monkeypatch.delitem(sys.modules, "spacy_goemotions.integrations.spark")
    message = r"Spark integration.*'pyspark'.*pip install 'spacy-goemotions\[spark\]'"
    with pytest.raises(MissingExtraError, match=message) as caught:
        importlib.import_module("spacy_goemotions.integrations.spark")
    assert isinstance(caught.value, ImportError) and caught.value.extra == "spark"


def test_a_job_whose_policy_files_are_deleted_before_the_action_gives_the_pandas_result(
    spark: SparkSession, tiny_model: str, tmp_path: Path
) -> None:
    """The thresholds and taxonomy files are read on the driver, once: executors get the bound output as data."""
    thresholds, taxonomy = tmp_path / "thresholds.json", tmp_path / "tone.json"
    thresholds.write_text(json.dumps({"thresholds": {"joy": 0.45, "anger": 0.55, "neutral": 0.49}}), encoding="utf-8")
    warm = ["admiration", "amusement", "approval", "caring", "excitement", "gratitude", "joy", "love", "optimism", "pride"]
    taxonomy.write_text(json.dumps({"warm": warm, "cold": [x for x in GOEMOTIONS_LABELS if x not in warm]}), encoding="utf-8")
    options = {"model": tiny_model, "dtype": "float32", "backend": "torch", "threshold": str(thresholds), "taxonomy": str(taxonomy)}
    texts = [text for text in TEXTS if text is not None]
    expected = pd.DataFrame({"text": texts}).emotions.classify("text", **options)
    out = classify(spark.createDataFrame([(i, t) for i, t in enumerate(texts)], "id long, text string"), "text", **options)
    thresholds.unlink()
    taxonomy.unlink()
    rows = sorted(out.collect(), key=lambda row: row["id"])
    assert [list(row["emotions"]) for row in rows] == [list(labels) for labels in expected["emotions"]]
    assert [list(row["tone"]) for row in rows] == [list(groups) for groups in expected["tone"]]
    got = np.array([[row[label] for label in GOEMOTIONS_LABELS] for row in rows], dtype=np.float32)
    np.testing.assert_allclose(got, expected[list(GOEMOTIONS_LABELS)].to_numpy(dtype=np.float32), atol=1e-6)
