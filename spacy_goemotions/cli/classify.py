"""``spacy-goemotions classify``: score a text column of a file of any size, resumably.

A thin argparse layer over :func:`spacy_goemotions.files.classify_file`: it parses flags into a
:class:`~spacy_goemotions.files.FileJob`, the classifier options and the table options, stops after the
current chunk on Ctrl-C (SIGINT) or SIGTERM (:mod:`.stopping`), and prints the summary and, when stopped
or stopped by a bad line, the command that resumes. Errors go to :func:`spacy_goemotions.cli.main`.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from ..errors import BadLineError
from ..files.formats import FORMATS, STDIO
from ..files.job import DEFAULT_CHUNK_ROWS, FileJob, is_folder_output
from ..files.run import classify_file
from ..files.summary import BatchSummary, Interrupted
from .options import add_classifier_arguments, add_group_arguments, add_policy_arguments, classifier_options, table_options

EXAMPLE = "spacy-goemotions classify comments.csv.gz -o scored.parquet --text-column body --id-column id"
FOLDER_EXAMPLE = "spacy-goemotions classify 'spark-out/**/*.parquet' -o scored/ --text-column body --all-columns"
#: Library option values that the command line says with a flag of its own (see :class:`.options.Flags`).
OPTION_ALIASES: dict[str, dict[Any, str]] = {"keep_columns": {None: "--all-columns"}}
#: Flags that never go into the printed resume command (it adds --resume itself).
_NOT_RESUMED = {"help", "input", "output", "resume", "func"}


def add_parser(subparsers: Any) -> None:
    """Register ``classify`` on the main parser's sub-parsers."""
    parser = subparsers.add_parser(
        "classify",
        help="add emotion score and label columns to a CSV/TSV/JSONL/Parquet file of any size (resumable)",
        description=(
            "Stream INPUT in chunks, score its text column with the GoEmotions model and write OUTPUT with the kept "
            "columns, one float score column per label and a labels column. OUTPUT appears complete or not at all; "
            "an interrupted run continues with --resume. Formats come from the extensions (.csv, .tsv, .jsonl, "
            ".parquet; text formats may end in .gz); '-' is JSONL on stdin/stdout. INPUT may be a folder of parts "
            "(Spark, Dask, Ray; read recursively) or a quoted glob ('data/**/*.parquet'): its files, in the order of "
            "their relative paths, are read as one input, skipping names that start with '_' or '.' (_SUCCESS, "
            "_metadata, .crc). OUTPUT ending in '/' (or an existing folder) gets one output file per input part."
        ),
        epilog=f"Example: {EXAMPLE}. A folder of Spark parts, one output file per part: {FOLDER_EXAMPLE}",
    )
    parser.add_argument(
        "input", metavar="INPUT", help="input file, folder of parts, quoted glob ('parts/*.csv.gz'), or '-' for JSONL on stdin"
    )
    output_help = "output file, folder ending in '/' (one output file per input part), or '-' for JSONL on stdout"
    parser.add_argument("-o", "--output", required=True, metavar="OUTPUT", help=output_help)
    files = parser.add_argument_group("input and output")
    files.add_argument("--text-column", required=True, metavar="COL", help="the column holding the texts")
    files.add_argument("--id-column", metavar="ID", help="a column to copy first into the output (e.g. a row id)")
    columns = files.add_mutually_exclusive_group()
    columns.add_argument("--keep-columns", metavar="A,B", help="input columns to copy to the output (default: the text column)")
    columns.add_argument("--all-columns", action="store_true", help="copy every input column to the output")
    files.add_argument("--prefix", default="", help="put before each label to name its score column (e.g. emo_)")
    files.add_argument("--labels-column", default="emotions", help="name of the labels column (default: emotions)")
    format_help = "output format (default: from OUTPUT's extension; for a folder OUTPUT, each input part's format)"
    files.add_argument("--format", dest="output_format", choices=FORMATS, help=format_help)
    input_format_help = "input format (default: from INPUT's extension; for a folder or glob, every part's)"
    files.add_argument("--input-format", choices=FORMATS, help=input_format_help)
    chunk_help = f"rows per chunk: the unit of scoring, checkpoints and stopping (default: {DEFAULT_CHUNK_ROWS})"
    files.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS, metavar="N", help=chunk_help)
    files.add_argument("--resume", action="store_true", help="continue an interrupted run from its checkpoint")
    bad_lines_help = "a malformed line stops the run naming its line number (error), or is skipped and counted"
    files.add_argument("--on-bad-lines", choices=("error", "skip"), default="error", help=bad_lines_help)
    files.add_argument("--no-progress", action="store_true", help="no progress bar (default: shown when stderr is a terminal)")
    labels = parser.add_argument_group("labels and groups")
    add_policy_arguments(labels)
    add_group_arguments(labels, "also add each text's emotion groups")
    add_classifier_arguments(parser.add_argument_group("model and inference"))
    parser.set_defaults(func=run, stops_between_steps=True, advice=advice, option_aliases=OPTION_ALIASES)


def resume_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
    """The command line that continues this run: its flags that differ from their defaults, then ``--resume``."""
    words = ["spacy-goemotions", "classify", args.input, "-o", args.output]
    for action in parser._actions:
        if not action.option_strings or action.dest in _NOT_RESUMED:
            continue
        value = getattr(args, action.dest)
        if value == action.default or value is None or value is False:
            continue
        flag = action.option_strings[-1]
        if isinstance(action, argparse._StoreTrueAction):
            words.append(flag)
        else:  # a repeatable flag (--taxonomy) once per value
            words += [part for item in (value if isinstance(value, list) else [value]) for part in (flag, str(item))]
    return shlex.join([*words, "--resume"])


def _summary_line(summary: BatchSummary) -> str:
    counts = summary.counts
    parts = [] if summary.parts is None else [f"{summary.parts:,} part{'s' if summary.parts != 1 else ''} read"]
    parts += [
        f"{counts.rows_in:,} rows in",
        f"{counts.rows_out:,} rows out",
        f"{counts.missing:,} missing",
        f"{counts.repaired:,} repaired",
        f"{counts.replaced:,} undecodable bytes replaced",
        f"{counts.skipped:,} skipped",
    ]
    if counts.blank_lines:
        parts.append(f"{counts.blank_lines:,} blank lines ignored")
    parts.append(f"{summary.seconds:.1f} s, {summary.rows_per_second:,.0f} rows/s")
    if summary.resumed_from_row is not None:
        parts.append(f"resumed at row {summary.resumed_from_row:,}")
    return "classify: " + ", ".join(parts)


def _job(args: argparse.Namespace) -> FileJob:
    keep: list[str] | None
    if args.all_columns:
        keep = None
    elif args.keep_columns is not None:
        keep = [name.strip() for name in args.keep_columns.split(",") if name.strip()]
    else:
        keep = []
    return FileJob(
        args.input,
        args.output,
        text_column=args.text_column,
        id_column=args.id_column,
        keep_columns=keep,
        input_format=args.input_format,
        output_format=args.output_format,
        chunk_rows=args.chunk_rows,
        on_bad_lines=args.on_bad_lines,
    )


def run(args: argparse.Namespace) -> int:
    """Run the command: score the file, then print the summary on stderr."""
    from ..core.classifier import EmotionClassifier

    job = _job(args)
    classifier = EmotionClassifier(options=classifier_options(args), progress=False)
    summary = classify_file(
        job,
        classifier=classifier,
        table=table_options(args),
        resume=args.resume,
        progress=False if args.no_progress else None,
        should_stop=args.should_stop,
    )
    print(f"{_summary_line(summary)}, scored by {classifier.engine.describe()}", file=sys.stderr, flush=True)
    return 0


def advice(args: argparse.Namespace, parser: argparse.ArgumentParser, error: BaseException) -> str | None:
    """What to do after a stop or a bad line: the command that resumes from the last finished chunk."""
    if isinstance(error, Interrupted):
        if not error.resumable:
            return _summary_line(error.summary)
        written = "the finished parts' outputs are written" if is_folder_output(args.output) else "the output is not written yet"
        return (
            f"{_summary_line(error.summary)}\nStopped after {error.summary.counts.rows_out:,} rows; {written}. "
            f"Resume with:\n  {resume_command(args, parser)}"
        )
    if isinstance(error, KeyboardInterrupt):
        if STDIO in (args.input, args.output):
            return "Stopped at once; stdin/stdout runs cannot be resumed."
        return f"Stopped at once. Resume from the last finished chunk with:\n  {resume_command(args, parser)}"
    if isinstance(error, BadLineError):
        return (
            "Fix the line, or skip malformed lines and count them with --on-bad-lines skip. Rows before it are kept: "
            f"add --on-bad-lines skip --resume to continue from the last finished chunk:\n  "
            f"{resume_command(args, parser)} --on-bad-lines skip"
        )
    return None
