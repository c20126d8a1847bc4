"""Spark DataFrames: ``classify(sdf, "text", ...)`` adds the pandas accessor's columns, lazily, on the executors.

A thin adapter over the core: ``mapInArrow`` hands each Arrow batch of each partition to
:func:`classify_batches`, which takes the texts out (:func:`~.arrow.texts_from_arrow`), scores them with
:func:`~spacy_goemotions.core.table.table_columns`, the same call ``df.emotions.classify`` makes, and
appends the columns as Arrow arrays (:func:`~.arrow.arrow_columns`), so the score columns, the labels
column, thresholds and taxonomies are exactly the pandas ones. The input columns pass through as the
Arrow buffers Spark sent, untouched (``mapInPandas`` would turn a NaN of a double column into NULL).
The plan holds only the validated options (plain values), never a model: each Python worker loads the
model once, through the core's process-wide cache, on its first batch, and reuses it for every later
batch and task (Spark reuses Python workers by default)::

    from spacy_goemotions.integrations.spark import classify

    out = classify(spark.read.parquet("comments/"), "body", model="goemotions-small", threshold="tuned")
    out.write.parquet("comments-emotions/")

The output schema is built on the driver from the model's ``config.json`` (no model loads there) and
every argument is checked there, before any job runs. Missing (NULL) texts get NULL scores and an
empty label list, where pandas has NaN and ``[]``.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from ..core.classifier import get_classifier
from ..core.options import ClassifierOptions
from ..core.table import TableLayout, declared_layout, split_classify_kwargs, table_columns
from ..errors import ConfigurationError, MissingExtraError

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..core.table import ClassifyKwargs

try:
    from pyspark import TaskContext
    from pyspark.sql import DataFrame
    from pyspark.sql.types import ArrayType, CharType, FloatType, StringType, StructField, StructType, VarcharType
except ImportError as error:
    raise MissingExtraError("pyspark", "spark", "classify(sdf, ...) (the Spark integration)") from error
try:
    import pyarrow as pa
except ImportError as error:  # pragma: no cover - pyspark's Arrow paths need it; the [spark] extra installs it
    raise MissingExtraError("pyarrow", "spark", "classify(sdf, ...) (the Spark integration)") from error

from .arrow import arrow_columns, texts_from_arrow  # noqa: E402  (after the checks: it names another extra)

__all__ = ["classify", "classify_batches", "task_device"]


def classify(sdf: DataFrame, column: str, *, labels: Sequence[str] | None = None, **kwargs: Unpack[ClassifyKwargs]) -> DataFrame:
    """Lazily score ``column`` of a Spark DataFrame; the rows come back as ``df.emotions.classify`` returns them.

    A NEW DataFrame with the input columns (same order, values untouched), one ``FloatType`` column
    per label (``prefix + label``; NULL for a NULL text), one per taxonomy group with ``taxonomy=``,
    then ``labels_column`` and each taxonomy's list column as ``array<string>`` (the labels the policy
    selects, highest score first; empty, never NULL, for a NULL text). Every row is kept; Spark keeps
    no row order, so carry an id column.

    Nothing runs here: the schema comes from the model's ``config.json`` (or ``labels=``) and
    ``TableOptions.layout``; the executors load the model on their first batch. With
    ``device="auto"`` (or ``"cuda"``) a task that Spark assigned a GPU
    (``spark.task.resource.gpu.amount``) runs on that GPU (see :func:`task_device`).

    Args:
        sdf: the Spark DataFrame.
        column: the text column (``StringType``; cast other types first).
        labels: the model's label names in id2label order, to build the schema without reading the
            model's config on the driver (e.g. a hub model the driver cannot reach). Checked against
            the model on the executors.
        **kwargs: as in ``df.emotions.classify``: the classifier options (``model``, ``device``, ``dtype``,
            ``batch_size``, ...) or ``options=``, the table options (``threshold``, ``top_k``, ``prefix``,
            ``labels_column``, ``taxonomy``, ...) and ``progress``.

    Returns:
        a lazy Spark DataFrame with the added columns.

    Raises:
        KeyError: ``column`` is not a column of ``sdf`` (the message lists them).
        TypeError: ``column`` is not a string column (the message says how to cast it).
        ConfigurationError: a bad option, or an output column that clashes with an input column.

    Examples:
        >>> out = classify(sdf, "body", model="goemotions-small", threshold="tuned", taxonomy="ekman")  # doctest: +SKIP
        >>> out.select("id", "emotions", "ekman").show()                                              # doctest: +SKIP
    """
    schema = sdf.schema
    _check_text_column(schema, column)
    # Options are checked here, on the driver, for their form only: the executors may have a GPU it lacks.
    options, table, progress = split_classify_kwargs(kwargs)
    layout = declared_layout(table, options, labels, schema.names)  # bound once, here: executors get data, not files
    _check_case_clashes(layout, schema.names, sdf.sparkSession.conf.get("spark.sql.caseSensitive", "false"))
    out_schema = StructType([*schema.fields, *_added_fields(layout)])
    run = functools.partial(
        classify_batches, column=column, options=options, layout=layout, expected_columns=out_schema.names, progress=progress
    )
    with warnings.catch_warnings():
        # PySpark warns about pandas >= 3 whenever it builds a map UDF; this one never converts to pandas.
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        return sdf.mapInArrow(run, out_schema)


def classify_batches(
    batches: Iterator[pa.RecordBatch],
    *,
    column: str,
    options: ClassifierOptions,
    layout: TableLayout,
    expected_columns: list[str],
    progress: bool | None = None,
) -> Iterator[pa.RecordBatch]:
    """Classify each Arrow batch of one Spark partition as ``df.emotions.classify`` would (what every task runs).

    Module-level and fed only plain options, so the plan pickles it by reference and carries no model.
    Each batch comes back as its own columns (the same arrays) followed by the added ones.

    Raises:
        ConfigurationError: when the model's labels differ from those the schema was built for
            (a wrong ``labels=`` override), before scoring, rather than let Spark fail on a schema mismatch.
    """
    options = _task_options(options)
    for batch in batches:
        classifier = get_classifier(options=options)  # the process-wide cache: only a worker's first batch loads
        names = [*batch.schema.names, *layout.columns]
        if names != expected_columns:
            raise ConfigurationError(
                f"Model {options.model_name!r} produces the columns {names}, but the Spark schema was built for "
                f"{expected_columns}. Drop labels= (the labels are then read from the model's config.json) or pass "
                "the model's own labels in its id2label order."
            )
        texts = batch.column(column)
        added = arrow_columns(table_columns(texts_from_arrow(texts, column), classifier, layout, progress))
        if pa.types.is_large_string(texts.type):  # spark.sql.execution.arrow.useLargeVarTypes: Spark expects large strings back
            added |= {name: added[name].cast(pa.list_(pa.large_string())) for name in layout.list_columns}
        yield pa.RecordBatch.from_arrays([*batch.columns, *added.values()], names=names)


def task_device(device: str, gpu_addresses: Sequence[str], visible_devices: str | None) -> str:
    """The device for a Spark task: the GPU Spark assigned it, for ``device`` ``"auto"`` or ``"cuda"``.

    Spark gives each task GPU addresses (``spark.task.resource.gpu.amount``) but leaves
    ``CUDA_VISIBLE_DEVICES`` alone, so without this every task of a multi-GPU executor would pick
    ``cuda:0``. Addresses are the discovery script's physical ids: with ``CUDA_VISIBLE_DEVICES`` set,
    the address maps to its position there (or, absent from it, the device is left as it is).

    Examples:
        >>> task_device("auto", ["2"], None), task_device("cuda", ["2"], "2,3"), task_device("cpu", ["2"], None)
        ('cuda:2', 'cuda:0', 'cpu')
    """
    if device.strip().lower() not in ("auto", "cuda") or not gpu_addresses:
        return device
    address = gpu_addresses[0].strip()
    if visible_devices is not None:
        visible = [name.strip() for name in visible_devices.split(",")]
        return f"cuda:{visible.index(address)}" if address in visible else device
    return f"cuda:{address}" if address.isdigit() else device


def _task_options(options: ClassifierOptions) -> ClassifierOptions:
    """The options with the task's Spark-assigned GPU as the device, when there is one."""
    context = TaskContext.get()
    gpu = context.resources().get("gpu") if context is not None else None
    if gpu is None:
        return options
    device = task_device(options.device, gpu.addresses, os.environ.get("CUDA_VISIBLE_DEVICES"))
    return options if device == options.device else replace(options, device=device)


def _check_text_column(schema: StructType, column: str) -> None:
    """Fail on the driver, before any task, for a column that is missing, repeated or not text."""
    names = schema.names
    if column not in names:
        similar = [name for name in names if name.lower() == str(column).lower()]
        hint = f" (names are matched exactly here; did you mean {similar[0]!r}?)" if similar else ""
        raise KeyError(f"Column {column!r} not found{hint}. Available columns: {names}")
    if names.count(column) > 1:
        raise ValueError(f"Column name {column!r} is not unique in this DataFrame; rename the duplicates first.")
    kind = schema[column].dataType
    if not isinstance(kind, (StringType, VarcharType, CharType)):
        raise TypeError(
            f"Column {column!r} has type {kind.simpleString()}; emotion classification needs text (a string column). "
            f"Cast it first, e.g. sdf.withColumn({column!r}, F.col({column!r}).cast('string'))."
        )


def _check_case_clashes(layout: TableLayout, existing: Sequence[str], case_sensitive: str | None) -> None:
    """Spark resolves names ignoring case by default: an added ``joy`` would make an input ``Joy`` ambiguous."""
    if str(case_sensitive).lower() == "true":
        return
    lowered = {name.lower() for name in existing}
    clashes = [name for name in layout.columns if name.lower() in lowered]
    if clashes:
        raise ConfigurationError(
            f"The output column(s) {clashes} differ from input columns only by case, which Spark does not tell apart "
            "(spark.sql.caseSensitive is false). Pass prefix= (e.g. prefix='emo_') and/or labels_column= to use other names.",
            options=("prefix", "labels_column"),
        )


def _added_fields(layout: TableLayout) -> list[StructField]:
    """The added fields: float32 scores (NULL for a NULL text), label lists (never NULL, as ``arrow_columns`` types them)."""
    scores = [StructField(name, FloatType(), nullable=True) for name in layout.float_columns]
    lists = [StructField(name, ArrayType(StringType(), containsNull=True), nullable=False) for name in layout.list_columns]
    return [*scores, *lists]
