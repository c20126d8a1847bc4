"""DuckDB: ``goemotions(text)`` as a SQL function returning one STRUCT of scores and labels per row.

::

    import duckdb
    from spacy_goemotions.integrations.duckdb import register

    con = duckdb.connect()
    register(con, model="goemotions-small", threshold="tuned")
    con.sql(
        "SELECT id, e.joy, e.emotions "
        "FROM (SELECT id, goemotions(body) AS e FROM read_parquet('comments/*.parquet'))"
    )

A thin adapter: :func:`register` builds the STRUCT type from the model's label names (read from its
config, no model loads) and registers a vectorized (Arrow) scalar function. DuckDB hands it a vector
of texts (up to 2048 rows) at a time; each call goes through the core (:func:`table_columns`), which
batches inside the vector, so the fields are exactly the pandas accessor's columns: one FLOAT per label
(``prefix + label``) and per taxonomy group, then ``LIST(VARCHAR)`` fields (``labels_column``, and one
per taxonomy). NULL text gives NULL scores and an empty list, as NaN and ``[]`` do in pandas.

DuckDB calls the function from several of its threads at once; they share the process-wide
classifier, which is thread-safe (runs that cannot go side by side take turns in the backend), and the
model loads once, on the first call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..core.classifier import get_classifier
from ..core.options import ClassifierOptions
from ..core.table import TableLayout, declared_layout, split_classify_kwargs, table_columns
from ..errors import ConfigurationError, MissingExtraError

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..core.table import ClassifyKwargs

try:
    import duckdb
    import pyarrow as pa
except ImportError as error:
    raise MissingExtraError(
        getattr(error, "name", None) or "duckdb", "duckdb", "goemotions() in DuckDB SQL (spacy_goemotions.integrations.duckdb)"
    ) from error

from .arrow import arrow_columns, texts_from_arrow  # noqa: E402  (after the check that names the duckdb extra)

__all__ = ["EmotionFunction", "register"]


class EmotionFunction:
    """What DuckDB calls for ``goemotions(text)``: a vector of texts in, a STRUCT array out.

    One argument exactly (DuckDB counts the parameters of what it is given), plain options only: the
    classifier comes from the core's process-wide cache on each call, so every DuckDB thread shares it.

    Args:
        options: the validated classifier options.
        layout: the output fields, built from the label names the STRUCT type was declared with.
        progress: show the core's progress bar for each vector (off unless True).
    """

    def __init__(self, options: ClassifierOptions, layout: TableLayout, progress: bool | None = None) -> None:
        self.options = options
        self.layout = layout
        self.progress = progress is True  # a bar per 2048-row vector is noise; DuckDB has its own for the query

    def __call__(self, values: pa.Array | pa.ChunkedArray) -> pa.StructArray:
        """Score one vector; rows in input order.

        Raises:
            ConfigurationError: when the loaded model's labels differ from those the STRUCT was declared with.
        """
        texts = texts_from_arrow(values, "goemotions()'s argument")
        classifier = get_classifier(options=self.options)
        if classifier.labels != self.layout.labels:
            raise ConfigurationError(
                f"Model {self.options.model_name!r} has the labels {list(classifier.labels)}, but the DuckDB function "
                f"was registered for {list(self.layout.labels)}. Call con.remove_function(...) and register it again "
                "without labels= (they are then read from the model's config.json), or with the model's own labels "
                "in its id2label order."
            )
        columns = arrow_columns(table_columns(texts, classifier, self.layout, self.progress))
        return pa.StructArray.from_arrays(list(columns.values()), names=list(columns))


def register(
    con: duckdb.DuckDBPyConnection,
    name: str = "goemotions",
    *,
    labels: Sequence[str] | None = None,
    **kwargs: Unpack[ClassifyKwargs],
) -> None:
    """Create the SQL function ``name(text VARCHAR)`` on ``con``: emotion scores and labels as a STRUCT.

    The STRUCT has one FLOAT field per label (``prefix + label``) and per taxonomy group (``taxonomy=``),
    then LIST(VARCHAR) fields: ``labels_column`` ("emotions": the labels the threshold policy selects,
    highest score first) and one per taxonomy. NULL text gives NULL scores and empty lists. Values equal
    what ``df.emotions.classify`` gives for the same texts. No model loads here: the label names come
    from the model's ``config.json`` (or the hub config), and the model loads on the first call.

    DuckDB computes the function once per row for all the fields one SELECT list reads from it
    (``goemotions(body).joy, goemotions(body).emotions``: common subexpressions are shared), but a
    WHERE on a field computes it again for the rows that pass, even through a subquery or a plain CTE
    (the filter is pushed down to the scan). To filter on scores, compute the STRUCT once:
    ``WITH s AS MATERIALIZED (SELECT id, goemotions(body) AS e FROM ...) SELECT ... FROM s WHERE e.joy > 0.5``,
    or ``CREATE TABLE scored AS ...``.

    Args:
        con: the DuckDB connection (the function is visible to its cursors too).
        name: the SQL function's name (case-insensitive in SQL, as all DuckDB names).
        labels: the model's label names in id2label order, to declare the STRUCT without reading the
            model's config (e.g. a hub model not reachable yet). Checked against the model on the first call.
        **kwargs: what ``df.emotions.classify`` takes: the classifier options (``model``, ``device``,
            ``dtype``, ``batch_size``, ...), ``options=``, the table options (``threshold``, ``top_k``,
            ``prefix``, ``labels_column``, ``taxonomy``, ``group_threshold``, ``group_top_k``) and
            ``progress`` (default off here: True shows a bar per vector of up to 2048 rows).

    Raises:
        TypeError: when ``con`` is not a DuckDB connection.
        ConfigurationError: for a bad option, field names that DuckDB would confuse (its names ignore
            case), or a ``name`` the connection already has a function of (remove it first or pick another).

    Examples:
        >>> con = duckdb.connect()                                                            # doctest: +SKIP
        >>> register(con, model="goemotions-small", threshold="tuned", taxonomy="ekman")    # doctest: +SKIP
        >>> con.sql("SELECT goemotions('Thank you so much!').emotions").fetchall()          # doctest: +SKIP
        [(['gratitude'],)]
    """
    if not isinstance(con, duckdb.DuckDBPyConnection):
        raise TypeError(f"register needs a DuckDB connection, got {type(con).__name__}. Example: register(duckdb.connect())")
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"name must be a non-empty string, got {name!r}. Example: name='goemotions'")
    _check_name_is_free(con, name)
    options, table, progress = split_classify_kwargs(kwargs)
    get_classifier(options=options)  # fails now for a device or backend this machine lacks; loads nothing
    layout = declared_layout(table, options, labels)  # bound once: every call applies this policy
    _check_case_insensitive_names(layout)
    real, texts = con.type("FLOAT"), con.list_type(con.type("VARCHAR"))
    fields = {field: real for field in layout.float_columns} | {field: texts for field in layout.list_columns}
    # The options as strings: every duckdb>=1.0 takes them, while its enums moved (duckdb.functional, then duckdb.func).
    con.create_function(  # type: ignore[call-overload]
        name,
        EmotionFunction(options, layout, progress),
        [con.type("VARCHAR")],
        con.struct_type(fields),
        type="arrow",
        null_handling="special",  # NULL text still gets a row: NULL scores and empty lists, not a NULL struct
        side_effects=False,  # same text, same scores: DuckDB may compute it once for several fields
    )


def _check_name_is_free(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """A clear error for a name in use (DuckDB's own says "not supported yet" or names a catalog)."""
    # On a cursor: a query on `con` itself would drop a result the caller has not fetched yet.
    cursor = con.cursor()
    try:
        found = cursor.execute("SELECT count(*) FROM duckdb_functions() WHERE lower(function_name) = lower(?)", [name]).fetchone()
    finally:
        cursor.close()
    if found and found[0]:
        raise ConfigurationError(
            f"This DuckDB connection already has a function named {name!r} (registered before, or built in). "
            f"Pick another name=, or, to register it again with other options, call con.remove_function({name!r}) first."
        )


def _check_case_insensitive_names(layout: TableLayout) -> None:
    """DuckDB accepts STRUCT fields differing only by case, then reads the first for both: refuse them."""
    seen: dict[str, str] = {}
    for field in layout.columns:
        other = seen.setdefault(field.lower(), field)
        if other != field:
            raise ConfigurationError(
                f"The output fields {other!r} and {field!r} differ only by case, and DuckDB's names ignore case. "
                "Pick another labels_column= or prefix=, e.g. labels_column='emotions'.",
                options=("labels_column", "prefix"),
            )
