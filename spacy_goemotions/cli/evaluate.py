"""Sub-commands ``evaluate`` and ``tune-thresholds``: a thin layer over the core and :mod:`spacy_goemotions.evaluation`.

- ``evaluate``: score labelled data and print the model card's per-label table for the 0.5
  threshold and, when another policy is asked for, for that policy too.
- ``tune-thresholds``: per-label F1-maximizing thresholds, written as JSON that ``threshold=``
  (and ``--threshold``) load.

Both take every classifier option as a flag (:func:`.options.add_classifier_arguments`).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ConfigurationError, InputError
from ..labels import GOEMOTIONS_LABELS
from .options import (
    add_classifier_arguments,
    add_group_arguments,
    add_policy_arguments,
    classifier_options,
    positive_int,
    taxonomy_names,
)

PREDICTION_FORMATS = (".csv", ".jsonl")


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument(
        "--data",
        required=True,
        help="GoEmotions .tsv (text, label ids, id; no header), .csv / .jsonl with text and labels (names or ids; .gz too), "
        "or a .spacy DocBin with gold doc.cats",
    )
    group.add_argument("--text-column", default="text", help="CSV column / JSONL key of the text (default: text)")
    group.add_argument("--labels-column", default="labels", help="CSV column / JSONL key of the labels (default: labels)")
    group.add_argument("--id-column", default="id", help="CSV column / JSONL key of the id (default: id; else the row number)")
    group.add_argument("--limit", type=positive_int, default=None, metavar="N", help="use only the first N rows (quick runs)")


def add_parser(subparsers: Any) -> None:
    """Register ``evaluate`` and ``tune-thresholds``."""
    evaluate = subparsers.add_parser(
        "evaluate",
        help="per-label Accuracy/Precision/Recall/F1/MCC table on labelled data",
        description="Score labelled data and print per-label Accuracy, Precision, Recall, F1, MCC, Support and "
        "Threshold with macro-avg and micro-avg rows (the model card's layout). The 0.5 table is always shown; "
        "a different --threshold/--top-k or --tuned-thresholds adds its own table.",
    )
    _add_data_options(evaluate)
    policy = evaluate.add_argument_group("policy and output")
    add_policy_arguments(policy)
    add_group_arguments(policy, "evaluate at the level of these emotion groups instead of the labels")
    policy.add_argument(
        "--tuned-thresholds",
        default=None,
        metavar="FILE",
        help="also show the table of this thresholds JSON (from tune-thresholds)",
    )
    policy.add_argument(
        "--format", choices=("markdown", "csv", "json"), default="markdown", help="output format (default: markdown)"
    )
    policy.add_argument("-o", "--output", default=None, metavar="FILE", help="write the tables to FILE instead of stdout")
    policy.add_argument("--predictions-out", default=None, metavar="FILE", help="save raw scores with ids (.csv or .jsonl)")
    policy.add_argument(
        "--plot", default=None, metavar="FILE.png", help="bar chart of per-label F1 per policy (needs the plot extra)"
    )
    add_classifier_arguments(evaluate.add_argument_group("model and inference"))
    evaluate.set_defaults(func=run_evaluate)

    tune = subparsers.add_parser(
        "tune-thresholds",
        help="per-label F1-maximizing thresholds, saved as JSON for threshold=",
        description="Score labelled (dev) data and pick, per label, the threshold on a 0.01 grid that maximizes F1 "
        "(rule: score >= threshold). The JSON loads with threshold='FILE' / --threshold FILE.",
    )
    _add_data_options(tune)
    tune.add_argument("-o", "--output", required=True, metavar="FILE", help="thresholds JSON to write")
    tune.add_argument("--taxonomy", metavar="NAME", help="tune the thresholds of this taxonomy's groups instead of the labels")
    add_classifier_arguments(tune.add_argument_group("model and inference"))
    tune.set_defaults(func=run_tune_thresholds)


def _classifier(args: argparse.Namespace) -> Any:
    from ..core.classifier import EmotionClassifier

    return EmotionClassifier(options=classifier_options(args))


def _read(args: argparse.Namespace, model_labels: Sequence[str]) -> tuple[Any, npt.NDArray[np.uint8]]:
    """The data, and its gold matrix in the model's column order."""
    from ..evaluation.datasets import read_dataset

    # Numeric ids in GoEmotions files are GoEmotions ids, whatever order the model's head uses.
    id_labels = GOEMOTIONS_LABELS if set(model_labels) <= set(GOEMOTIONS_LABELS) else tuple(model_labels)
    data = read_dataset(
        args.data, labels=id_labels, text_column=args.text_column, labels_column=args.labels_column, id_column=args.id_column
    )
    if args.limit is not None:
        from ..evaluation.datasets import LabelledData

        data = LabelledData(data.texts[: args.limit], data.ids[: args.limit], data.gold[: args.limit], data.labels)
    if not len(data):
        raise InputError(f"{args.data!r} has no rows to evaluate")
    return data, data.select_labels(model_labels)


def _score(classifier: Any, texts: list[str]) -> npt.NDArray[np.float32]:
    result = classifier.run(texts)
    stats = result.stats
    rate = stats.rows / stats.seconds if stats.seconds else float("inf")
    engine = stats.engine  # what computed the scores, as the run recorded it (None: every text was missing)
    print(
        f"Scored {stats.rows} texts in {stats.seconds:.1f}s ({rate:.0f} texts/s) with {classifier.model_name} "
        f"({engine.describe() if engine is not None else 'nothing to score'})",
        file=sys.stderr,
    )
    scores: npt.NDArray[np.float32] = result.scores
    return scores


def write_predictions(path: str | Path, ids: Sequence[str], scores: npt.NDArray[np.floating[Any]], labels: Sequence[str]) -> None:
    """Save raw scores with ids: CSV (``id`` + one column per label) or JSONL (``{"id", "scores"}``).

    Scores are written with 9 significant digits, which round-trips float32 exactly.
    """
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    cells = [[format(float(value), ".9g") for value in row] for row in np.asarray(scores)]
    with file.open("w", encoding="utf-8", newline="") as handle:
        if file.suffix.lower() == ".csv":
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["id", *labels])
            writer.writerows([identifier, *row] for identifier, row in zip(ids, cells, strict=True))
        else:
            for identifier, row in zip(ids, cells, strict=True):
                # Numbers spliced in as text to keep the 9-digit form (json.dumps would print 17).
                body = ", ".join(f"{json.dumps(name)}: {value}" for name, value in zip(labels, row, strict=True))
                handle.write(f'{{"id": {json.dumps(identifier, ensure_ascii=False)}, "scores": {{{body}}}}}\n')


def _label_policies(args: argparse.Namespace, labels: Sequence[str], shipped: Any) -> list[Any]:
    """The 0.5 policy, then --threshold/--top-k and --tuned-thresholds where they differ from it."""
    from ..core.thresholds import ThresholdPolicy

    policies = [ThresholdPolicy.from_spec(0.5, labels=labels)]
    requested = [ThresholdPolicy.from_spec(args.threshold, args.top_k, labels=labels)]
    if args.tuned_thresholds:
        requested.append(ThresholdPolicy.from_spec(args.tuned_thresholds, args.top_k, labels=labels))
    for policy in requested:
        policy.cutoffs(labels, shipped)  # "tuned" on a model without thresholds.json fails here
        if all(policy.to_dict() != known.to_dict() for known in policies):
            policies.append(policy)
    return policies


def _group_levels(args: argparse.Namespace, labels: Sequence[str]) -> list[tuple[Any, list[Any]]]:
    """With --taxonomy: each taxonomy, with the 0.5 policy and --group-threshold/--group-top-k where they differ."""
    from ..core.table import TableOptions
    from ..core.thresholds import ThresholdPolicy

    layout = TableOptions(taxonomy=taxonomy_names(args), group_threshold=args.group_threshold, group_top_k=args.group_top_k)
    levels = []
    for output in layout.layout(labels).groups:
        policies = [ThresholdPolicy.from_spec(0.5, labels=output.taxonomy.group_names)]
        if output.policy.to_dict() != policies[0].to_dict():
            policies.append(output.policy)
        levels.append((output.taxonomy, policies))
    return levels


def _tables(args: argparse.Namespace, classifier: Any, scores: Any, gold: Any) -> list[Any]:
    """The label-level tables, or with --taxonomy the group-level ones (scores: the members' maximum;
    gold: any member gold)."""
    from ..evaluation.metrics import describe_policy, evaluate_scores

    labels, shipped = classifier.labels, classifier.loaded.shipped_thresholds
    levels = _group_levels(args, labels)
    if not levels:
        return [
            evaluate_scores(scores, gold, labels, policy, model_thresholds=shipped, name=describe_policy(policy))
            for policy in _label_policies(args, labels, shipped)
        ]
    return [
        evaluate_scores(
            taxonomy.scores(scores, labels),
            taxonomy.gold(gold, labels),
            taxonomy.group_names,
            policy,
            name=f"{taxonomy.name} groups, {describe_policy(policy)}",
        )
        for taxonomy, policies in levels
        for policy in policies
    ]


def run_evaluate(args: argparse.Namespace) -> int:
    """Print (or write) the tables; every option that can fail is checked before the scoring run."""
    from ..evaluation.metrics import format_tables

    # Check every option that can fail before the (long) scoring run.
    if args.predictions_out and Path(args.predictions_out).suffix.lower() not in PREDICTION_FORMATS:
        raise ConfigurationError(f"--predictions-out must end in {' or '.join(PREDICTION_FORMATS)}, got {args.predictions_out!r}")
    if args.plot:
        from ..extras import require_matplotlib

        require_matplotlib()
    classifier = _classifier(args)
    labels = classifier.labels
    _label_policies(args, labels, classifier.loaded.shipped_thresholds)
    levels = _group_levels(args, labels)
    data, gold = _read(args, labels)
    scores = _score(classifier, data.texts)
    if args.predictions_out:
        write_predictions(args.predictions_out, data.ids, scores, labels)
    tables = _tables(args, classifier, scores, gold)
    meta = {
        "data": str(args.data),
        "model": classifier.model_name,
        "revision": classifier.options.revision,
        "n_texts": len(data),
        "labels": list(labels),
        "taxonomies": [taxonomy.to_dict() for taxonomy, _ in levels],
    }
    text = format_tables(tables, args.format, meta=meta)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"Wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    if args.plot:
        from ..evaluation.plotting import plot_f1_comparison

        level = "group" if levels else "label"
        plot_f1_comparison(
            tables, args.plot, title=f"Per-{level} F1: {classifier.model_name} on {Path(args.data).name} ({len(data)} texts)"
        )
        print(f"Wrote {args.plot}", file=sys.stderr)
    return 0


def run_tune_thresholds(args: argparse.Namespace) -> int:
    """Write the tuned thresholds' JSON and print them as a table."""
    from ..core.taxonomies import load_taxonomy
    from ..evaluation.tuning import tune_thresholds

    classifier = _classifier(args)
    labels = classifier.labels
    taxonomy = load_taxonomy(args.taxonomy, labels) if args.taxonomy else None  # before the scoring run
    data, gold = _read(args, labels)
    scores = _score(classifier, data.texts)
    names = list(labels)
    if taxonomy is not None:  # group level: a group's score is its members' maximum, gold when any member is
        scores, gold, names = taxonomy.scores(scores, labels), taxonomy.gold(gold, labels), list(taxonomy.group_names)
    result = tune_thresholds(scores, gold, names)
    result["tuned_on"] = {
        "data": str(args.data),
        "n_texts": len(data),
        "model": classifier.model_name,
        "revision": classifier.options.revision,
        "taxonomy": taxonomy.to_dict() if taxonomy is not None else None,
    }
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    lines = [f"| {'Group' if taxonomy else 'Label'} | Threshold | F1 | Support |", "|---|---:|---:|---:|"]
    lines += [
        f"| {name} | {result['thresholds'][name]:g} | {result['f1'][name]:.3f} | {result['support'][name]} |" for name in names
    ]
    print("\n".join(lines))
    use = f"--taxonomy {args.taxonomy} --group-threshold {output}" if taxonomy else f"--threshold {output}"
    print(f"Wrote {output}: use it with {use}", file=sys.stderr)
    return 0
