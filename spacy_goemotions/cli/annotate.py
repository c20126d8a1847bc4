"""Sub-commands ``sample`` and ``import-annotations``: the annotation loop's two ends, thin over :mod:`..annotation`.

- ``sample``: score a file, pick the texts worth annotating (uncertain, diverse or random), write them as Label
  Studio tasks (with the labelling config), Prodigy choice tasks, or plain JSONL/CSV, pre-filled with the
  model's labels.
- ``import-annotations``: a tool's export -> ``.spacy`` DocBins with the reviewed labels in ``doc.cats``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from .options import (
    add_classifier_arguments,
    add_group_arguments,
    add_policy_arguments,
    classifier_options,
    positive_int,
    table_options,
)

#: Rows read from the input per chunk (the reader's unit; the whole input is scored before picking).
READ_CHUNK_ROWS = 65_536


def add_parser(subparsers: Any) -> None:
    """Register ``sample`` and ``import-annotations``."""
    from ..annotation.importing import EXPORT_FORMATS
    from ..annotation.reviewed import CONFLICT_POLICIES
    from ..annotation.sampling import TASK_FORMATS
    from ..evaluation.selection import STRATEGIES
    from ..files.formats import FORMATS

    sample = subparsers.add_parser(
        "sample",
        help="pick texts worth annotating and write them as Label Studio / Prodigy / JSONL tasks",
        description="Score INPUT, pick N texts to annotate and write them pre-filled with the model's labels. "
        "uncertain: for each label in turn, the texts whose score sits closest to its threshold (rare labels get "
        "their share); diverse: a spread over the top labels and text lengths; random: a seeded control. "
        "Duplicates (up to case and whitespace) are picked once; --exclude never picks texts already labelled.",
    )
    sample.add_argument("input", help="CSV, TSV, JSONL, Parquet or text file (.gz too) of texts")
    sample.add_argument("-o", "--output", required=True, metavar="TASKS", help="the tasks file to write")
    picking = sample.add_argument_group("picking")
    picking.add_argument("-n", type=positive_int, default=500, metavar="N", help="how many texts (default: 500)")
    picking.add_argument("--strategy", choices=STRATEGIES, default="uncertain", help="how to pick (default: uncertain)")
    picking.add_argument("--seed", type=int, default=0, help="seeds the pick: the same seed, the same texts (default: 0)")
    picking.add_argument(
        "--exclude", metavar="FILE", help="texts already labelled (a tasks file or export, or a CSV with id/text): never picked"
    )
    files = sample.add_argument_group("files")
    files.add_argument("--text-column", default="text", help="the column (JSONL key) of the texts (default: text)")
    files.add_argument("--id-column", help="the column of stable ids (default: each text's content hash)")
    files.add_argument("--input-format", choices=FORMATS, help="input format (default: from INPUT's extension)")
    files.add_argument("--format", dest="task_format", choices=TASK_FORMATS, default="label-studio", help="default: label-studio")
    files.add_argument("--config", metavar="XML", help="Label Studio: also write the labelling config here")
    files.add_argument("--no-progress", action="store_true", help="no progress bar (default: shown when stderr is a terminal)")
    labels = sample.add_argument_group("labels and groups")
    add_policy_arguments(labels)
    add_group_arguments(labels, "annotate this taxonomy's groups instead of the labels (one taxonomy)")
    add_classifier_arguments(sample.add_argument_group("model and inference"))
    sample.set_defaults(func=run_sample)

    importing = subparsers.add_parser(
        "import-annotations",
        help="an annotation tool's export -> .spacy training data with the reviewed labels",
        description="Read a Label Studio JSON export, a `prodigy db-out` JSONL file, or plain JSONL/CSV (id, text, "
        "labels) and write .spacy DocBins whose doc.cats hold every label of the set (1.0 reviewed on, 0.0 off). "
        "Annotations win over the model's predictions; skipped, cancelled, rejected and unannotated tasks are left out "
        "and counted. Conflicts between annotators of one task: majority (a label is on when more than half chose it), "
        "latest (the last annotation wins) or drop (the task is left out).",
    )
    importing.add_argument("export", help="the export file")
    importing.add_argument("--format", dest="export_format", choices=EXPORT_FORMATS, required=True)
    importing.add_argument("-o", "--output", required=True, metavar="TRAIN", help="the .spacy file of the reviewed texts")
    importing.add_argument("--dev", metavar="DEV", help="also hold out a share of them in this .spacy file")
    importing.add_argument("--dev-share", type=float, default=0.2, metavar="F", help="the share for --dev (default: 0.2)")
    importing.add_argument("--seed", type=int, default=0, help="seeds the dev split (default: 0)")
    importing.add_argument("--conflicts", choices=CONFLICT_POLICIES, default="majority", help="default: majority")
    label_set = importing.add_argument_group("label set (default: the GoEmotions model's 28 labels)")
    label_set.add_argument("--model", help="the label set of this model (its config.json)")
    label_set.add_argument("--taxonomy", help="the groups of this taxonomy (as annotated with sample --taxonomy)")
    label_set.add_argument("--labels", metavar="A,B,...", help="your own label set, comma-separated")
    label_set.add_argument(
        "--allow-new-labels", action="store_true", help="labels outside the set are added after it (a new label set)"
    )
    importing.add_argument("--lang", default="en", help="language of the blank tokenizer (default: en)")
    importing.set_defaults(func=run_import)


def run_sample(args: argparse.Namespace) -> int:
    """Score the input, pick, write the tasks (and the config); report on stderr."""
    from ..annotation.sampling import read_exclusions, sample_tasks, write_tasks
    from ..core.classifier import EmotionClassifier

    if args.config is not None and args.task_format != "label-studio":
        raise ConfigurationError("--config writes Label Studio's labelling config; use it with --format label-studio.")
    for target in (args.output, args.config):
        if target is not None and not Path(target).resolve().parent.is_dir():
            raise ConfigurationError(f"The folder of {target!r} does not exist; create it first (nothing was scored).")
    table = table_options(args)
    exclude = read_exclusions(args.exclude) if args.exclude else None
    texts, ids = _read_input(args)
    classifier = EmotionClassifier(options=classifier_options(args), progress=False)
    batch = sample_tasks(
        texts,
        classifier,
        n=args.n,
        strategy=args.strategy,
        seed=args.seed,
        ids=ids,
        table=table,
        exclude=exclude,
        progress=False if args.no_progress else None,
    )
    write_tasks(batch, args.output, args.task_format, config=args.config)
    space = f"groups of {batch.taxonomy}" if batch.taxonomy else "labels"
    config = f"; labelling config -> {args.config}" if args.config else ""
    print(
        f"sample: {len(batch.tasks):,} of {batch.candidates:,} candidate texts ({len(texts):,} read) picked by "
        f"{args.strategy} (seed {args.seed}), {len(batch.names)} {space} -> {args.output}{config}; "
        f"scored by {classifier.engine.describe()}",
        file=sys.stderr,
    )
    return 0


def _read_input(args: argparse.Namespace) -> tuple[list[str | None], list[object] | None]:
    from ..files.formats import detect_format
    from ..files.run import open_reader

    fmt, gz = detect_format(args.input, args.input_format, option="input_format")
    keep = [args.id_column] if args.id_column else []
    reader = open_reader(args.input, fmt, gz, text_column=args.text_column, keep=keep, required=keep)
    texts: list[str | None] = []
    ids: list[object] = []
    try:
        for chunk in reader.chunks(READ_CHUNK_ROWS):
            texts += chunk.texts
            if args.id_column:
                ids += list(chunk.columns[args.id_column])
    finally:
        reader.close()
    return texts, (ids if args.id_column else None)


def run_import(args: argparse.Namespace) -> int:
    """Read, check and report the export, then write the DocBin(s)."""
    from ..annotation.importing import import_annotations, write_training_files
    from .convert import check_lang

    given = [name for name in ("model", "taxonomy", "labels") if getattr(args, name)]
    if len(given) > 1:
        raise ConfigurationError(f"Give one of --model, --taxonomy and --labels, not {' and '.join('--' + n for n in given)}.")
    check_lang(args.lang)
    imported = import_annotations(
        args.export, args.export_format, _label_set(args), conflicts=args.conflicts, allow_new_labels=args.allow_new_labels
    )
    print(imported.report, end="", file=sys.stderr)
    written = write_training_files(
        imported.data, args.output, dev=args.dev, dev_share=args.dev_share, seed=args.seed, lang=args.lang
    )
    for path, count in written.items():
        print(f"Wrote {count:,} docs with {len(imported.data.labels)} labels to {path}", file=sys.stderr)
    return 0


def _label_set(args: argparse.Namespace) -> tuple[str, ...]:
    from ..core.loading import model_labels
    from ..core.taxonomies import load_taxonomy
    from ..labels import GOEMOTIONS_LABELS

    if args.labels:
        names = [name.strip() for name in args.labels.split(",") if name.strip()]
        if not names or len(set(names)) < len(names):
            raise ConfigurationError(
                f"--labels needs distinct comma-separated names, got {args.labels!r}. Example: --labels joy,anger"
            )
        return tuple(names)
    base = model_labels(args.model) if args.model else GOEMOTIONS_LABELS
    if args.taxonomy:
        return load_taxonomy(args.taxonomy, base).group_names
    return tuple(base)
