"""Sub-command ``distill``: a small student trained on a teacher's scores over your texts, thin over
:mod:`..distillation`."""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from ..errors import ConfigurationError
from .options import add_classifier_arguments, classifier_options, positive_int


def add_parser(subparsers: Any) -> None:
    """Register ``distill``."""
    from ..distillation.students import STUDENT_PRESETS
    from ..files.formats import FORMATS

    parser = subparsers.add_parser(
        "distill",
        help="train a small fast student on a teacher's scores over your own unlabelled texts",
        description="Score TEXTS with the teacher (cached as Parquet: an interrupted run resumes), train a student "
        "on the teacher's scores (binary cross-entropy on its probabilities, optionally softened by --temperature), "
        "tune its thresholds on --labelled data (else on the teacher's own decisions on held-out texts), measure its "
        "agreement with the teacher and its speed, and write STUDENT_DIR: a model directory with its model card "
        "(README.md), usable as model=STUDENT_DIR everywhere.",
    )
    parser.add_argument("--teacher", help="the teacher model: hub id, directory or bundled name (default: --model)")
    parser.add_argument("--texts", required=True, metavar="INPUT", help="CSV, TSV, JSONL or Parquet file (.gz too) of texts")
    parser.add_argument("--text-column", default="text", help="the column (JSONL key) of the texts (default: text)")
    parser.add_argument("--input-format", choices=FORMATS, help="input format (default: from INPUT's extension)")
    parser.add_argument(
        "--student",
        default="tiny",
        metavar="SIZE_OR_CONFIG",
        help=f"a preset ({', '.join(STUDENT_PRESETS)}) or a ModernBERT config.json (default: tiny)",
    )
    parser.add_argument("-o", "--output", required=True, metavar="STUDENT_DIR", help="the student directory to write")
    parser.add_argument(
        "--labelled", metavar="DEV", help="labelled data (.spacy, TSV, CSV, JSONL, Parquet): tunes thresholds, gives macro-F1"
    )
    parser.add_argument(
        "--scores-cache", metavar="PARQUET", help="the teacher's scores (default: STUDENT_DIR.teacher-scores.parquet)"
    )
    training = parser.add_argument_group("training")
    training.add_argument("--epochs", type=positive_int, default=3, help="passes over the texts (default: 3)")
    training.add_argument(
        "--max-steps", type=positive_int, metavar="N", help="stop after N optimizer steps (default: all epochs)"
    )
    training.add_argument("--train-batch-size", type=positive_int, default=32, metavar="N", help="default: 32")
    training.add_argument("--learning-rate", type=float, default=1e-3, help="AdamW's peak rate (default: 1e-3)")
    training.add_argument("--temperature", type=float, default=1.0, help="softens teacher and student in the loss (default: 1)")
    training.add_argument(
        "--train-max-length", type=positive_int, default=128, metavar="N", help="tokens per text in training (default: 128)"
    )
    training.add_argument("--held-out-share", type=float, default=0.05, metavar="F", help="default: 0.05")
    training.add_argument("--seed", type=int, default=0, help="the same seed, the same student (default: 0)")
    training.add_argument("--speed-texts", type=int, default=1000, metavar="N", help="distinct texts that time both (0: none)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (default: shown on a terminal)")
    add_classifier_arguments(parser.add_argument_group("the teacher's inference (the student is timed on the same)"))
    parser.set_defaults(func=run_distill, stops_between_steps=True)


def run_distill(args: argparse.Namespace) -> int:
    """Distil, then say where the student is and how closely it follows the teacher."""
    from ..distillation import DistillSettings, distill
    from ..labels import DEFAULT_MODEL

    if args.teacher is not None and str(args.model) not in (str(DEFAULT_MODEL), args.teacher):
        raise ConfigurationError("--teacher and --model name two models; give the teacher once, as --teacher.")
    options = classifier_options(args)
    if args.teacher is not None:
        options = options.replace(model=args.teacher)
    settings = DistillSettings(
        student=args.student,
        epochs=args.epochs,
        max_steps=args.max_steps,
        batch_size=args.train_batch_size,
        learning_rate=args.learning_rate,
        temperature=args.temperature,
        max_length=args.train_max_length,
        held_out_share=args.held_out_share,
        seed=args.seed,
        speed_texts=args.speed_texts,
    )
    result = distill(
        options.model_name,
        args.texts,
        args.output,
        text_column=args.text_column,
        input_format=args.input_format,
        labelled=args.labelled,
        settings=settings,
        teacher_options=options,
        scores_cache=args.scores_cache,
        progress=False if args.no_progress else None,
        command=shlex.join(args.command_line),
        should_stop=args.should_stop,
    )
    record = result.record
    followed = record["agreement"]
    lines = [
        f"distill: student ({record['student']['parameters']:,} parameters) -> {result.student_dir} "
        f"(model card: {result.student_dir / 'README.md'})",
        f"  agreement with the teacher on {followed['texts']:,} held-out texts: {100 * followed['decisions']:.1f}% of "
        f"(text, label) decisions equal, Spearman {followed['spearman']:.3f}",
    ]
    if "labelled" in record:
        labelled = record["labelled"]
        lines.append(
            f"  macro-F1 on {labelled['data']}: student {labelled['student_macro_f1']:.3f}, teacher "
            f"{labelled['teacher_macro_f1']:.3f}"
        )
    if "speed" in record:
        speed = record["speed"]
        lines.append(
            f"  speed on {speed['engine']}: student {speed['student_texts_per_s']:,.0f} texts/s, teacher "
            f"{speed['teacher_texts_per_s']:,.0f} ({speed['speedup']}x)"
        )
    print("\n".join(lines), file=sys.stderr)
    return 0
