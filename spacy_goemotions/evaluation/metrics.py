"""Per-label evaluation tables in the model card's layout (pure numpy).

The model card of ``cirimus/modernbert-base-go-emotions`` publishes, per label, Accuracy, Precision,
Recall, F1, MCC, Support and Threshold, with a "macro avg" row on top. :func:`evaluate` computes
the same table from predictions and gold labels, plus a "micro avg" row, and
:func:`format_tables` prints it as markdown, CSV or JSON.

Conventions (pinned to scikit-learn by the tests):

- Every label is a binary problem over all texts: TP, FP, FN, TN counted per column.
- Precision, recall and F1 follow scikit-learn's ``zero_division=0``: a ratio whose denominator is 0
  is 0 (a label never predicted has precision 0; a label with no gold example has recall 0 and F1 0).
- MCC is 0 when it is undefined (a column of the predictions or of the gold labels is constant),
  as in scikit-learn's ``matthews_corrcoef``. No value of a table is ever NaN.
- "macro avg": the unweighted mean over labels of each column (Accuracy, Precision, Recall, F1,
  MCC). Its Support is the number of texts, as in the model card; its Threshold is the common
  threshold, or "various".
- "micro avg": the same formulas on the counts pooled over all labels (TP, FP, FN, TN summed),
  i.e. scikit-learn's ``average="micro"`` for precision/recall/F1 and ``matthews_corrcoef`` on the
  flattened matrices. Its Support is the number of gold label assignments (TP + FN summed).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from ..core.thresholds import ThresholdPolicy
from ..errors import ConfigurationError

OutputFormat = Literal["markdown", "csv", "json"]
OUTPUT_FORMATS: tuple[str, ...] = get_args(OutputFormat)

#: Column titles, in the model card's order.
COLUMNS: tuple[str, ...] = ("Label", "Accuracy", "Precision", "Recall", "F1", "MCC", "Support", "Threshold")
MACRO_AVG = "macro avg"
MICRO_AVG = "micro avg"


@dataclass(frozen=True)
class MetricsRow:
    """One row of an evaluation table: a label, or an average over labels.

    Args:
        label: the label, or ``"macro avg"`` / ``"micro avg"``.
        accuracy: share of texts whose decision for the label is right.
        precision: of the texts predicted, the share that are gold (0 when none is predicted).
        recall: of the gold texts, the share predicted (0 when none is gold).
        f1: harmonic mean of precision and recall (0 when both are 0).
        mcc: Matthews correlation coefficient (0 where undefined).
        support: gold texts of the label (for macro avg: the number of texts; for micro avg: gold label assignments).
        threshold: the label's threshold, the common one, or ``"various"`` in the averages.

    Examples:
        >>> import numpy as np
        >>> table = evaluate_scores(np.array([[0.9], [0.2]]), np.array([[1], [1]]), ["joy"], ThresholdPolicy.from_spec(0.5))
        >>> row = table.row("joy")
        >>> row.precision, row.recall, row.support
        (1.0, 0.5, 2)
    """

    label: str
    accuracy: float
    precision: float
    recall: float
    f1: float
    mcc: float
    support: int
    #: The label's threshold; for the average rows the common threshold, or "various".
    threshold: float | str


@dataclass(frozen=True)
class EvaluationTable:
    """Per-label metrics of one threshold policy on one labelled data set.

    Attributes:
        name: a title, e.g. ``"threshold 0.5"`` or ``"tuned (thresholds.json)"``.
        rows: one row per label, in the model's label order.
        macro: the unweighted mean of every column over ``rows``.
        micro: the metrics of the counts pooled over all labels.
        n_texts: number of texts evaluated.
        policy: the policy's :meth:`ThresholdPolicy.to_dict`, when it came from one.

    Examples:
        >>> import numpy as np
        >>> table = evaluate_scores(np.array([[0.9, 0.1], [0.2, 0.7]]), np.array([[1, 0], [0, 1]]), ["joy", "anger"],
        ...                         ThresholdPolicy.from_spec(0.5))
        >>> table.n_texts, table.row("macro avg").f1
        (2, 1.0)
    """

    name: str
    rows: tuple[MetricsRow, ...]
    macro: MetricsRow
    micro: MetricsRow
    n_texts: int
    policy: dict[str, Any] | None = field(default=None)

    def row(self, label: str) -> MetricsRow:
        """The row of ``label`` (or of ``"macro avg"`` / ``"micro avg"``).

        Args:
            label: a label of the table, ``"macro avg"`` or ``"micro avg"``.

        Returns:
            its metrics.
        """
        for candidate in (self.macro, self.micro, *self.rows):
            if candidate.label == label:
                return candidate
        raise KeyError(f"No row {label!r}; rows: {[r.label for r in self.rows]}")

    def all_rows(self) -> tuple[MetricsRow, ...]:
        """The rows in the model card's order: macro avg, micro avg, then the labels.

        Returns:
            macro avg, micro avg, then one row per label.
        """
        return (self.macro, self.micro, *self.rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable form (what ``--format json`` prints).

        Returns:
            ``{"name", "n_texts", "policy", "rows"}``, rows as plain dicts in the model card's order.
        """
        return {
            "name": self.name,
            "n_texts": self.n_texts,
            "policy": self.policy,
            "macro_avg": asdict(self.macro),
            "micro_avg": asdict(self.micro),
            "labels": [asdict(row) for row in self.rows],
        }


def _ratio(numerator: npt.NDArray[np.float64], denominator: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """numerator / denominator, 0 where the denominator is 0 (scikit-learn's zero_division=0)."""
    out = np.zeros(np.broadcast(numerator, denominator).shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _metrics_from_counts(
    tp: npt.NDArray[np.float64], fp: npt.NDArray[np.float64], fn: npt.NDArray[np.float64], tn: npt.NDArray[np.float64]
) -> dict[str, npt.NDArray[np.float64]]:
    """Accuracy, precision, recall, F1 and MCC from confusion counts (vectorized over labels)."""
    total = tp + fp + fn + tn
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    # F1 from counts (2TP / (2TP + FP + FN)), as scikit-learn computes it; 0 when nothing is
    # predicted and nothing is gold.
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    # MCC = (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)); 0 when a marginal is empty.
    denominator = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    mcc = _ratio(tp * tn - fp * fn, denominator)
    return {"accuracy": _ratio(tp + tn, total), "precision": precision, "recall": recall, "f1": f1, "mcc": mcc}


def _as_binary(matrix: npt.ArrayLike, what: str) -> npt.NDArray[np.bool_]:
    array = np.asarray(matrix)
    if array.ndim != 2:
        raise ValueError(f"{what} must be a 2-D (n_texts, n_labels) array, got shape {array.shape}")
    if array.dtype != np.bool_:
        if array.size and not np.isin(array, (0, 1)).all():
            raise ValueError(f"{what} must hold only 0/1 (or booleans); threshold scores first")
        array = array.astype(bool)
    return array


def _common_threshold(thresholds: Sequence[float | str]) -> float | str:
    values = set(thresholds)
    return thresholds[0] if len(values) == 1 else "various"


def evaluate(
    predicted: npt.ArrayLike,
    gold: npt.ArrayLike,
    labels: Sequence[str],
    *,
    thresholds: Sequence[float | str] | float | str = "",
    name: str = "",
    policy: Mapping[str, Any] | None = None,
) -> EvaluationTable:
    """Per-label metrics of 0/1 predictions against 0/1 gold labels.

    Args:
        predicted: (n, L) 0/1 or boolean predictions.
        gold: (n, L) 0/1 or boolean gold labels, same column order.
        labels: the L column names.
        thresholds: the threshold of each label (a sequence of L), or one value for all, shown
            in the Threshold column only.
        name: the table's title.
        policy: the policy's dict form, kept in the JSON output.

    Returns:
        An :class:`EvaluationTable` (see the module docstring for the conventions).

    Examples:
        >>> table = evaluate([[1, 0], [1, 1]], [[1, 0], [0, 1]], ["joy", "anger"], thresholds=0.5)
        >>> table.row("joy").precision, table.row("anger").recall, table.micro.f1
        (0.5, 1.0, 0.8)
    """
    predicted_matrix = _as_binary(predicted, "predicted")
    gold_matrix = _as_binary(gold, "gold")
    if predicted_matrix.shape != gold_matrix.shape or predicted_matrix.shape[1] != len(labels):
        raise ValueError(
            f"predicted {predicted_matrix.shape} and gold {gold_matrix.shape} must both have shape "
            f"(n, {len(labels)}) for {len(labels)} labels"
        )
    per_label = (
        list(thresholds) if isinstance(thresholds, Sequence) and not isinstance(thresholds, str) else [thresholds] * len(labels)
    )
    if len(per_label) != len(labels):
        raise ValueError(f"thresholds has {len(per_label)} values for {len(labels)} labels")
    per_label = [round(float(t), 4) if not isinstance(t, str) else t for t in per_label]

    # Counts as float64: products in the MCC denominator overflow int64 beyond ~55k texts.
    tp = (predicted_matrix & gold_matrix).sum(axis=0).astype(np.float64)
    fp = (predicted_matrix & ~gold_matrix).sum(axis=0).astype(np.float64)
    fn = (~predicted_matrix & gold_matrix).sum(axis=0).astype(np.float64)
    tn = (~predicted_matrix & ~gold_matrix).sum(axis=0).astype(np.float64)
    metrics = _metrics_from_counts(tp, fp, fn, tn)
    support = (tp + fn).astype(np.int64)
    rows = tuple(
        MetricsRow(
            label=str(label),
            accuracy=float(metrics["accuracy"][i]),
            precision=float(metrics["precision"][i]),
            recall=float(metrics["recall"][i]),
            f1=float(metrics["f1"][i]),
            mcc=float(metrics["mcc"][i]),
            support=int(support[i]),
            threshold=per_label[i],
        )
        for i, label in enumerate(labels)
    )
    common = _common_threshold(per_label) if per_label else ""
    n_texts = int(predicted_matrix.shape[0])

    def mean(column: str) -> float:
        return float(np.mean(metrics[column])) if len(labels) else 0.0

    macro = MetricsRow(MACRO_AVG, mean("accuracy"), mean("precision"), mean("recall"), mean("f1"), mean("mcc"), n_texts, common)
    pooled_counts = (np.array([counts.sum()]) for counts in (tp, fp, fn, tn))
    pooled = {name: float(value[0]) for name, value in _metrics_from_counts(*pooled_counts).items()}
    micro = MetricsRow(MICRO_AVG, **pooled, support=int(support.sum()), threshold=common)
    return EvaluationTable(name, rows, macro, micro, n_texts, dict(policy) if policy is not None else None)


def predictions_from_scores(
    scores: npt.ArrayLike,
    policy: ThresholdPolicy,
    labels: Sequence[str],
    model_thresholds: Mapping[str, float] | None = None,
) -> npt.NDArray[np.bool_]:
    """The (n, L) boolean matrix of labels a policy selects (``score >= threshold``, then top-k)."""
    matrix = np.asarray(scores, dtype=np.float32)
    selected = policy.select(matrix, labels, model_thresholds)
    predicted = np.zeros(matrix.shape, dtype=bool)
    for row, columns in enumerate(selected):
        predicted[row, columns] = True
    return predicted


def evaluate_scores(
    scores: npt.ArrayLike,
    gold: npt.ArrayLike,
    labels: Sequence[str],
    policy: ThresholdPolicy,
    *,
    model_thresholds: Mapping[str, float] | None = None,
    name: str | None = None,
) -> EvaluationTable:
    """Apply a threshold policy to scores and evaluate the result against gold labels.

    Args:
        scores: (n, L) scores, e.g. from :meth:`EmotionClassifier.scores`.
        gold: (n, L) 0/1 gold labels in the same column order.
        labels: the column names (the model's labels).
        policy: the decision rule, e.g. ``ThresholdPolicy.from_spec("model_card")``.
        model_thresholds: the thresholds shipped with the model (needed by ``"tuned"``).
        name: the table's title (default: :func:`describe_policy`).

    Returns:
        the per-label table with its macro and micro averages.

    Examples:
        >>> import numpy as np
        >>> table = evaluate_scores(np.array([[0.9], [0.2]]), np.array([[1], [1]]), ["joy"],
        ...                         ThresholdPolicy.from_spec(0.5))
        >>> table.row("joy").recall
        0.5
    """
    predicted = predictions_from_scores(scores, policy, labels, model_thresholds)
    cutoffs = policy.cutoffs(labels, model_thresholds)
    return evaluate(
        predicted,
        gold,
        labels,
        thresholds=[float(t) for t in cutoffs],
        name=describe_policy(policy) if name is None else name,
        policy=policy.to_dict(),
    )


def describe_policy(policy: ThresholdPolicy) -> str:
    """A short title for a policy: ``"threshold 0.5"``, ``"threshold preset model_card, top-3"``, ..."""
    if policy.source == "float" and not policy.thresholds:
        text = f"threshold {policy.default:g}"
    elif policy.source == "dict":
        text = "per-label thresholds"
    elif policy.thresholds is None:
        text = "tuned thresholds shipped with the model"
    elif policy.source.endswith(".json") or os.sep in policy.source:
        text = f"thresholds from {policy.source}"
    else:
        text = f"threshold preset {policy.source}"
    return text if policy.top_k is None else f"{text}, top-{policy.top_k}"


# --- formatting ------------------------------------------------------------------------------


def _format_number(value: float, digits: int = 3) -> str:
    # "-0.000" reads as a sign error; a metric that rounds to zero prints as 0.000.
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _format_threshold(value: float | str) -> str:
    # 0.5 and 0.39, as the model card prints them.
    return value if isinstance(value, str) else f"{round(value, 4):g}"


def _cells(row: MetricsRow, digits: int) -> list[str]:
    return [
        row.label,
        *(_format_number(getattr(row, name), digits) for name in ("accuracy", "precision", "recall", "f1", "mcc")),
        str(row.support),
        _format_threshold(row.threshold),
    ]


def format_markdown(table: EvaluationTable, *, digits: int = 3) -> str:
    """The table as GitHub markdown, in the model card's layout (averages first)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join(["---"] + ["---:"] * (len(COLUMNS) - 2) + ["---:"]) + "|"]
    lines += ["| " + " | ".join(_cells(row, digits)) + " |" for row in table.all_rows()]
    return "\n".join(lines)


def format_tables(
    tables: Sequence[EvaluationTable], fmt: str = "markdown", *, digits: int = 3, meta: Mapping[str, Any] | None = None
) -> str:
    """Render one or more tables.

    Args:
        tables: the tables, e.g. the 0.5 table and the tuned table.
        fmt: ``"markdown"`` (a heading per table), ``"csv"`` (one header, a ``Policy`` column
            first; full precision) or ``"json"`` (``{"meta": ..., "tables": [...]}``, full precision).
        digits: decimals of the markdown output.
        meta: extra information for the JSON output and the markdown headings (data, model, ...).

    Returns:
        The text, ending with a newline.

    Examples:
        >>> import numpy as np
        >>> table = evaluate_scores(np.array([[0.9], [0.2]]), np.array([[1], [0]]), ["joy"], ThresholdPolicy.from_spec(0.5))
        >>> print(format_tables([table], "csv").splitlines()[0])
        Policy,Label,Accuracy,Precision,Recall,F1,MCC,Support,Threshold
    """
    if fmt not in OUTPUT_FORMATS:
        raise ConfigurationError(
            f"format must be one of {OUTPUT_FORMATS}, got {fmt!r}. Example: format='markdown'", options=("format",)
        )
    if fmt == "json":
        return json.dumps({"meta": dict(meta or {}), "tables": [t.to_dict() for t in tables]}, indent=2) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["Policy", *COLUMNS])
        for table in tables:
            for row in table.all_rows():
                metrics = (repr(getattr(row, name)) for name in ("accuracy", "precision", "recall", "f1", "mcc"))
                writer.writerow([table.name, row.label, *metrics, row.support, _format_threshold(row.threshold)])
        return buffer.getvalue()
    blocks = []
    for table in tables:
        heading = f"### {table.name[:1].upper()}{table.name[1:]} ({table.n_texts} texts)"
        blocks.append(f"{heading}\n\n{format_markdown(table, digits=digits)}\n")
    return "\n".join(blocks)
