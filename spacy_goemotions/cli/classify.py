"""``spacy-goemotions classify``: score a text column of a file of any size, resumably.

A thin argparse layer over :func:`spacy_goemotions.files.classify_file`: it parses flags into a
:class:`~spacy_goemotions.files.FileJob`, the classifier options and the table options, turns Ctrl-C
(SIGINT) and SIGTERM into "stop after the current chunk", and prints the summary and, when stopped,
the command that resumes.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from ..errors import BadLineError, GoEmotionsError, InputError
from ..files.formats import FORMATS
from ..files.run import DEFAULT_CHUNK_ROWS, FileJob, classify_file
from ..files.summary import BatchSummary, Interrupted
from .options import (
    add_classifier_arguments,
    add_group_arguments,
    add_policy_arguments,
    classifier_options,
    command_line_message,
    print_error,
    table_options,
)

EXAMPLE = "spacy-goemotions classify comments.csv.gz -o scored.parquet --text-column body --id-column id"
FOLDER_EXAMPLE = "spacy-goemotions classify 'spark-out/**/*.parquet' -o scored/ --text-column body --all-columns"
#: Library spellings that the command line says with a flag of its own.
ALIASES = {"keep_columns=None": "--all-columns"}
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
    parser.set_defaults(func=lambda args: run(args, parser))


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


class _StopRequest:
    """SIGINT/SIGTERM handler: the first signal asks the run to stop after the current chunk; a
    second SIGINT stops at once (the last checkpoint is kept either way)."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal = signum
        print(
            f"\n{signal.Signals(signum).name}: stopping after the current chunk (Ctrl-C again to stop now; "
            "finished chunks are kept).",
            file=sys.stderr,
            flush=True,
        )

    def requested(self) -> bool:
        return self.signal is not None


@contextmanager
def _signals_stop(stop: _StopRequest) -> Iterator[None]:
    """Install ``stop`` for SIGINT and SIGTERM while the run lasts (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


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


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the command; returns the exit code (0 done, 1 bad input, 2 bad options, 130/143 stopped)."""
    from ..core.classifier import EmotionClassifier

    stop = _StopRequest()
    try:
        job = _job(args)
        classifier = EmotionClassifier(options=classifier_options(args), progress=False)
        table = table_options(args)
        with _signals_stop(stop):
            summary = classify_file(
                job,
                classifier=classifier,
                table=table,
                resume=args.resume,
                progress=False if args.no_progress else None,
                should_stop=stop.requested,
            )
    except Interrupted as interrupted:
        print(_summary_line(interrupted.summary), file=sys.stderr)
        if interrupted.resumable:
            written = "the finished parts' outputs are written" if job.output_dir else "the output is not written yet"
            print(
                f"Stopped after {interrupted.summary.counts.rows_out:,} rows; {written}. "
                f"Resume with:\n  {resume_command(args, parser)}",
                file=sys.stderr,
                flush=True,
            )
        return 128 + (stop.signal or signal.SIGINT)
    except KeyboardInterrupt:
        print(
            "\nStopped at once. Resume from the last finished chunk with:\n  " + resume_command(args, parser),
            file=sys.stderr,
            flush=True,
        )
        return 130
    except BadLineError as error:
        print_error("classify", str(error))
        print(
            "Fix the line, or skip malformed lines and count them with --on-bad-lines skip. Rows before it are kept: "
            f"add --on-bad-lines skip --resume to continue from the last finished chunk:\n  "
            f"{resume_command(args, parser)} --on-bad-lines skip",
            file=sys.stderr,
            flush=True,
        )
        return 1
    except InputError as error:
        print_error("classify", command_line_message(error, parser, ALIASES))
        return 1
    except GoEmotionsError as error:  # options: threshold, model, device, columns, formats, checkpoint
        print_error("classify", command_line_message(error, parser, ALIASES))
        return 2
    except OSError as error:  # disk full, permissions, ...: the checkpoint of the last chunk is kept
        print_error("classify", str(error))
        return 1
    print(_summary_line(summary), file=sys.stderr, flush=True)
    return 0
