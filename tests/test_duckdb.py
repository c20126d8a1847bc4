"""goemotions(text) in DuckDB SQL: a STRUCT per row, equal to the pandas accessor, over Parquet files."""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

duckdb = pytest.importorskip("duckdb", reason="the DuckDB integration needs the [duckdb] extra: pip install -e '.[duckdb]'")
pq = pytest.importorskip("pyarrow.parquet", reason="the DuckDB integration needs the [duckdb] extra: pip install -e '.[duckdb]'")

import pyarrow as pa  # noqa: E402

import spacy_goemotions.core.loading as _loading  # noqa: E402
import spacy_goemotions.integrations.duckdb as goemotions_duckdb  # noqa: E402
from spacy_goemotions import GOEMOTIONS_LABELS, ConfigurationError, MissingExtraError  # noqa: E402
from spacy_goemotions.integrations.duckdb import register  # noqa: E402
from spacy_goemotions.integrations.pandas import EmotionsDataFrameAccessor  # noqa: E402

BASE = [
    "Thank you so much!", None, "I am so confused.", "lol", "", "That is so sad.", "Ok.", "What a great day",
    "I hate this", None, "Wow, really?", "Ugh.", "I miss you", "Yay!!", "This is fine.", "Thanks, I guess",
]  # fmt: skip
N_FILES, ROWS_PER_FILE, ROW_GROUP = 3, 1500, 400  # 4 row groups a file; 4,500 rows: several vectors of 2,048


def comments_frame() -> pd.DataFrame:
    """Distinct texts (so deduplication does not hide a row), NULLs, empty strings; ids shuffled."""
    n = N_FILES * ROWS_PER_FILE
    texts = [
        None if BASE[i % len(BASE)] is None else f"{BASE[i % len(BASE)]} {i}" if i % 5 else BASE[i % len(BASE)] for i in range(n)
    ]
    ids = np.random.default_rng(0).permutation(n).astype(np.int64)
    return pd.DataFrame({"id": ids, "body": pd.Series(texts, dtype=object)})


@pytest.fixture(scope="module")
def comments(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, pd.DataFrame]:
    """A glob over several Parquet files of several row groups each, and the same rows as a frame."""
    folder = tmp_path_factory.mktemp("comments")
    frame = comments_frame()
    for part in range(N_FILES):
        rows = frame.iloc[part * ROWS_PER_FILE : (part + 1) * ROWS_PER_FILE]
        pq.write_table(
            pa.Table.from_pandas(rows, preserve_index=False), folder / f"part-{part}.parquet", row_group_size=ROW_GROUP
        )
    assert pq.ParquetFile(folder / "part-0.parquet").num_row_groups == 4
    return f"{folder.as_posix()}/*.parquet", frame


@pytest.fixture
def con() -> Iterator[Any]:
    connection = duckdb.connect()
    connection.execute("SET threads = 4")  # several DuckDB threads call the function at once
    yield connection
    connection.close()


@pytest.fixture
def scored_rows(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many texts each call of the SQL function scored (the core's entry point, counted)."""
    counts: list[int] = []
    original = goemotions_duckdb.table_columns

    def counting(texts: Any, *args: Any, **kwargs: Any) -> Any:
        counts.append(len(texts))
        return original(texts, *args, **kwargs)

    monkeypatch.setattr(goemotions_duckdb, "table_columns", counting)
    return counts


def expected_frame(frame: pd.DataFrame, tiny_model: str, **kwargs: Any) -> pd.DataFrame:
    return frame.emotions.classify("body", model=tiny_model, dtype="float32", progress=False, **kwargs).sort_values("id")


def assert_same(result: pd.DataFrame, expected: pd.DataFrame, float_columns: list[str], list_columns: list[str]) -> None:
    """Scores to 1e-5 (float32 rounding moves with the batch shape), label lists equal, ids in order."""
    assert result["id"].tolist() == expected["id"].tolist()
    assert all(result[name].dtype == np.float32 for name in float_columns)
    np.testing.assert_allclose(result[float_columns].to_numpy(), expected[float_columns].to_numpy(), atol=1e-5)
    for name in list_columns:
        assert [list(labels) for labels in result[name]] == expected[name].tolist(), name


def query(con: Any, sql: str) -> pd.DataFrame:
    frame: pd.DataFrame = con.sql(sql).df()
    return frame


def test_struct_fields_equal_the_pandas_accessor_over_a_parquet_glob(
    tiny_model: str, con: Any, comments: tuple[str, pd.DataFrame], scored_rows: list[int]
) -> None:
    glob, frame = comments
    register(con, model=tiny_model, dtype="float32", threshold="tuned")
    scored = f"SELECT id, goemotions(body) AS e FROM read_parquet('{glob}')"
    assert (
        str(con.sql(scored).types[1]) == f"STRUCT({', '.join(f'{name} FLOAT' for name in GOEMOTIONS_LABELS)}, emotions VARCHAR[])"
    )
    assert not scored_rows  # describing the query runs nothing
    result = query(con, f"SELECT id, UNNEST(e) FROM ({scored}) ORDER BY id")
    expected = expected_frame(frame, tiny_model, threshold="tuned")
    assert_same(result, expected, list(GOEMOTIONS_LABELS), ["emotions"])
    # NULL text: NULL scores and no labels, as NaN and [] in pandas; "" is a text and gets scores
    missing = frame.sort_values("id")["body"].isna().to_numpy()
    assert result.loc[missing, list(GOEMOTIONS_LABELS)].isna().all().all()
    assert not result.loc[~missing, list(GOEMOTIONS_LABELS)].isna().any().any()
    assert (result.loc[missing, "emotions"].map(len) == 0).all() and 0 < missing.sum() < len(frame)
    # DuckDB handed the texts over in vectors (at most 2,048 rows), each row exactly once
    assert sum(scored_rows) == len(frame) and max(scored_rows) <= 2048 and len(scored_rows) >= 3


def test_fields_of_one_call_in_one_select_list_score_each_row_once(
    tiny_model: str, con: Any, comments: tuple[str, pd.DataFrame], scored_rows: list[int]
) -> None:
    glob, frame = comments
    register(con, model=tiny_model, dtype="float32")
    sql = f"SELECT id, goemotions(body).joy AS joy, goemotions(body).emotions AS emotions FROM read_parquet('{glob}') ORDER BY id"
    result = query(con, sql)
    assert sum(scored_rows) == len(frame)  # DuckDB's common subexpression elimination: one model run per row
    assert_same(result, expected_frame(frame, tiny_model), ["joy"], ["emotions"])


def test_filtering_on_scores_through_a_materialized_cte_scores_each_row_once(
    tiny_model: str, con: Any, comments: tuple[str, pd.DataFrame], scored_rows: list[int]
) -> None:
    glob, frame = comments
    register(con, model=tiny_model, dtype="float32")
    expected = expected_frame(frame, tiny_model)
    cut = float(np.nanmedian(expected["joy"]))
    sql = (
        f"WITH scored AS MATERIALIZED (SELECT id, goemotions(body) AS e FROM read_parquet('{glob}')) "
        f"SELECT id, e.joy AS joy, e.emotions AS emotions FROM scored WHERE e.joy > {cut!r} ORDER BY id"
    )
    result = query(con, sql)
    assert sum(scored_rows) == len(frame)
    kept = expected[expected["joy"] > cut]
    assert 0 < len(kept) < len(expected)
    assert_same(result, kept, ["joy"], ["emotions"])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"threshold": 0.0, "top_k": 2, "prefix": "emo_", "labels_column": "top"},
        {"taxonomy": "ekman", "group_threshold": 0.4},
        {"threshold": "tuned", "taxonomy": ["ekman", "sentiment"], "prefix": "p_", "group_top_k": 1},
    ],
    ids=["top-k-prefix", "ekman", "two-taxonomies"],
)
def test_table_options_pass_through(
    tiny_model: str, con: Any, comments: tuple[str, pd.DataFrame], kwargs: dict[str, Any]
) -> None:
    glob, frame = comments
    part = frame.iloc[:ROWS_PER_FILE]  # the first file
    register(con, model=tiny_model, dtype="float32", **kwargs)
    result = query(con, f"SELECT id, UNNEST(goemotions(body)) FROM read_parquet('{glob.replace('*', 'part-0')}') ORDER BY id")
    expected = expected_frame(part, tiny_model, **kwargs)
    added = [name for name in expected.columns if name not in part.columns]
    assert list(result.columns) == ["id", *added]  # same names, same order as the pandas columns
    list_columns = [name for name in added if expected[name].dtype == object]
    assert_same(result, expected, [name for name in added if name not in list_columns], list_columns)
    if "top_k" in kwargs:
        assert set(result["top"].map(len)) == {0, 2}


def test_null_empty_enum_and_cast_arguments(tiny_model: str, con: Any) -> None:
    register(con, model=tiny_model, dtype="float32")
    con.execute("CREATE TYPE mood AS ENUM ('Thank you so much!', 'lol')")
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, 'lol'::mood, 42), (2, NULL, 7)) v(id, m, n)")
    result = query(con, "SELECT id, UNNEST(goemotions(m)) FROM t ORDER BY id")
    expected = expected_frame(pd.DataFrame({"id": [1, 2], "body": pd.Series(["lol", None], dtype=object)}), tiny_model)
    assert_same(result, expected, list(GOEMOTIONS_LABELS), ["emotions"])
    constants = query(con, "SELECT k, UNNEST(goemotions(t)) FROM (VALUES (1, NULL), (2, '')) v(k, t) ORDER BY k")
    assert constants[list(GOEMOTIONS_LABELS)].iloc[0].isna().all() and list(constants["emotions"][0]) == []
    direct = expected_frame(pd.DataFrame({"id": [0], "body": [""]}), tiny_model)
    np.testing.assert_allclose(
        constants[list(GOEMOTIONS_LABELS)].iloc[1].to_numpy(), direct[list(GOEMOTIONS_LABELS)].iloc[0], atol=1e-5
    )
    # A number is no text: DuckDB does not cast it implicitly and names the signature; an explicit CAST works.
    with pytest.raises(duckdb.BinderException, match=r"(?s)goemotions\(INTEGER\).*goemotions\(VARCHAR\)"):
        con.sql("SELECT goemotions(n) FROM t").fetchall()
    assert len(con.sql("SELECT goemotions(CAST(n AS VARCHAR)).emotions FROM t").fetchall()) == 2


def test_registering_a_name_twice_is_refused_until_removed(tiny_model: str, con: Any) -> None:
    register(con, model=tiny_model, dtype="float32", prefix="a_")
    with pytest.raises(
        ConfigurationError, match=r"already has a function named 'GoEmotions'.*con\.remove_function\('GoEmotions'\)"
    ):
        register(con, "GoEmotions", model=tiny_model)  # SQL names ignore case
    with pytest.raises(ConfigurationError, match=r"named 'lower' \(registered before, or built in\)"):
        register(con, "lower", model=tiny_model)
    assert query(con, "SELECT UNNEST(goemotions('lol'))").columns[0] == "a_admiration"
    con.remove_function("goemotions")
    register(con, model=tiny_model, dtype="float32", prefix="b_")
    assert query(con, "SELECT UNNEST(goemotions('lol'))").columns[0] == "b_admiration"
    register(con, "emotions_of", model=tiny_model, dtype="float32")  # other names live side by side
    assert query(con, "SELECT emotions_of('lol').joy AS joy")["joy"].notna().all()


def test_register_loads_no_model_and_labels_skip_the_config(tiny_model: str, con: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("register must not load a model or read the config when labels= is given")

    monkeypatch.setattr(_loading, "load_model", refuse)
    monkeypatch.setattr(_loading, "model_labels", refuse)  # what declared_labels reads
    register(con, model=tiny_model, labels=GOEMOTIONS_LABELS, prefix="emo_")
    assert [field for field, _ in con.sql("SELECT goemotions('x') AS e").types[0].children][:2] == [
        "emo_admiration",
        "emo_amusement",
    ]


def test_wrong_labels_override_fails_on_the_first_call(tiny_model: str, con: Any) -> None:
    register(con, model=tiny_model, dtype="float32", labels=list(reversed(GOEMOTIONS_LABELS)))
    with pytest.raises(duckdb.Error, match=r"ConfigurationError: .*registered for \['neutral'.*without labels="):
        con.sql("SELECT goemotions('lol').joy").fetchall()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"threshold": {"joyful": 0.3}}, ConfigurationError, "joyful"),
        ({"threshold": 1.5}, ConfigurationError, "1.5"),
        ({"top_k": 0}, ConfigurationError, "top_k"),
        ({"device": "gpu"}, ConfigurationError, r"Unknown device 'gpu'.*device='cuda'"),
        ({"labels": "joy"}, ConfigurationError, r"labels must be a non-empty list"),
        ({"labels": ["joy", "joy"]}, ConfigurationError, r"duplicates: \['joy'\]"),
        ({"labels_column": "joy"}, ConfigurationError, r"labels_column='joy' is also the name of a score column"),
        ({"labels_column": "Joy"}, ConfigurationError, r"'joy' and 'Joy' differ only by case.*labels_column="),
        ({"name": ""}, ConfigurationError, r"name must be a non-empty string"),
        ({"batch_sise": 8}, TypeError, "batch_size"),
        ({"model": "/no/such/model-dir"}, OSError, "neither an existing directory nor a hub id"),
    ],
    ids=[
        "threshold-label",
        "threshold-range",
        "top-k",
        "device",
        "labels-str",
        "labels-dup",
        "clash",
        "case",
        "name",
        "typo",
        "model",
    ],
)
def test_bad_arguments_fail_at_registration(
    tiny_model: str, con: Any, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    call = {"model": tiny_model, **kwargs}
    with pytest.raises(error, match=message):
        register(con, **call)
    assert not con.sql("SELECT * FROM duckdb_functions() WHERE function_name = 'goemotions'").fetchall()


def test_needs_a_connection(tiny_model: str) -> None:
    with pytest.raises(TypeError, match=r"needs a DuckDB connection, got str.*register\(duckdb\.connect\(\)\)"):
        register("memory", model=tiny_model)  # type: ignore[arg-type]


def test_same_options_as_the_pandas_accessor() -> None:
    pandas_params = list(inspect.signature(EmotionsDataFrameAccessor.classify).parameters.values())[2:]  # past self, column
    duckdb_params = [p for p in inspect.signature(register).parameters.values() if p.name not in {"con", "name", "labels"}]
    assert [(p.name, p.kind) for p in pandas_params] == [(p.name, p.kind) for p in duckdb_params]


@pytest.mark.parametrize("missing", ["duckdb", "pyarrow"])
def test_missing_duckdb_names_the_extra(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # None in sys.modules makes `import` fail
    monkeypatch.delitem(sys.modules, "spacy_goemotions.integrations.duckdb")
    if missing == "pyarrow":
        monkeypatch.delitem(sys.modules, "spacy_goemotions.integrations.arrow", raising=False)
    with pytest.raises(
        MissingExtraError, match=rf"goemotions\(\) in DuckDB.*'{missing}'.*pip install 'spacy-goemotions\[duckdb\]'"
    ) as caught:
        importlib.import_module("spacy_goemotions.integrations.duckdb")
    assert isinstance(caught.value, ImportError) and caught.value.extra == "duckdb"
