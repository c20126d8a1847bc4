"""Evaluation: metrics in the model card's layout, threshold tuning, labelled datasets, DocBin conversion, plots.

Builds on the core's scores and threshold policies; imports neither the integrations nor the CLI.
"""

from __future__ import annotations

from .metrics import EvaluationTable, MetricsRow, describe_policy, evaluate_scores, format_tables
from .tuning import tune_thresholds

__all__ = ["EvaluationTable", "MetricsRow", "describe_policy", "evaluate_scores", "format_tables", "tune_thresholds"]
