"""``spacy-goemotions classify``: score a text column of a file of any size, resumably.

A thin argparse layer over :func:`spacy_goemotions.batch_io.classify_file`: it parses options,
builds one :class:`~spacy_goemotions.core.EmotionClassifier`, turns Ctrl-C (SIGINT) and SIGTERM into
"stop after the current chunk", and prints the summary and, when stopped, the command that resumes.
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

from .batch_io import DEFAULT_CHUNK_ROWS, FORMATS, BadLineError, BatchSummary, InputError, Interrupted, classify_file
from .errors import GoEmotionsError
from .labels import DEFAULT_MODEL

EXAMPLE = "spacy-goemotions classify comments.csv.gz -o scored.parquet --text-column body --id-column id"

#: Options whose values go into the printed resume command, in this order (dest, flag).
_RESUME_OPTIONS = (
    ("text_column", "--text-column"), ("id_column", "--id-column"), ("model", "--model"), ("revision", "--revision"),
    ("threshold", "--threshold"), ("top_k", "--top-k"), ("keep_columns", "--keep-columns"), ("all_columns", "--all-columns"),
    ("prefix", "--prefix"), ("labels_column", "--labels-column"), ("input_format", "--input-format"),
    ("format", "--format"), ("chunk_rows", "--chunk-rows"), ("on_bad_lines", "--on-bad-lines"), ("device", "--device"),
    ("dtype", "--dtype"), ("backend", "--backend"), ("batch_size", "--batch-size"), ("max_tokens", "--max-tokens"),
    ("max_length", "--max-length"),
    ("long_text", "--long-text"), ("aggregate", "--aggregate"), ("no_progress", "--no-progress"),
)  # fmt: skip


def add_parser(subparsers: Any) -> None:
    """Register ``classify`` on the main parser's sub-parsers."""
    parser = subparsers.add_parser(
        "classify",
        help="add emotion score and label columns to a CSV/TSV/JSONL/Parquet file of any size (resumable)",
        description=(
            "Stream INPUT in chunks, score its text column with the GoEmotions model and write OUTPUT with the kept "
            "columns, one float score column per label and a labels column. OUTPUT appears complete or not at all; "
            "an interrupted run continues with --resume. Formats come from the extensions (.csv, .tsv, .jsonl, "
            ".parquet; text formats may end in .gz); '-' is JSONL on stdin/stdout."
        ),
        epilog=f"Example: {EXAMPLE}",
    )
    parser.add_argument("input", metavar="INPUT", help="input file, or '-' for JSONL on stdin")
    parser.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="output file, or '-' for JSONL on stdout")
    parser.add_argument("--text-column", required=True, metavar="COL", help="the column holding the texts")
    parser.add_argument("--id-column", metavar="ID", help="a column to copy first into the output (e.g. a row id)")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"hub id, local directory or bundled name (default {DEFAULT_MODEL})"
    )
    parser.add_argument("--revision", help="hub revision (branch, tag or commit) to pin")
    threshold_help = "a float in [0, 1], a preset (model_card, tuned) or a thresholds JSON file (default 0.5)"
    parser.add_argument("--threshold", default="0.5", help=threshold_help)
    parser.add_argument("--top-k", type=int, metavar="K", help="keep at most K labels per row, highest first")
    columns = parser.add_mutually_exclusive_group()
    columns.add_argument("--keep-columns", metavar="A,B", help="input columns to copy to the output (default: the text column)")
    columns.add_argument("--all-columns", action="store_true", help="copy every input column to the output")
    parser.add_argument("--prefix", default="", help="put before each label to name its score column (e.g. emo_)")
    parser.add_argument("--labels-column", default="emotions", help="name of the labels column (default emotions)")
    parser.add_argument("--format", choices=FORMATS, help="output format (default: from OUTPUT's extension)")
    parser.add_argument("--input-format", choices=FORMATS, help="input format (default: from INPUT's extension)")
    chunk_help = f"rows per chunk: the unit of scoring, checkpoints and stopping (default {DEFAULT_CHUNK_ROWS})"
    parser.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS, metavar="N", help=chunk_help)
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run from its checkpoint")
    bad_lines_help = "a malformed line stops the run naming its line number (error), or is skipped and counted"
    parser.add_argument("--on-bad-lines", choices=("error", "skip"), default="error", help=bad_lines_help)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps (default auto)")
    parser.add_argument("--dtype", default="auto", help="auto, float32, bfloat16, float16 (default auto)")
    parser.add_argument("--backend", default="torch", choices=("torch", "openvino"),
                        help="torch (default), or openvino: the fastest CPU path (pip install 'spacy-goemotions[openvino]')")
    parser.add_argument("--batch-size", type=int, default=256, help="most sequences per batch (default 256)")
    parser.add_argument("--max-tokens", type=int, help="token budget per batch (default per device)")
    parser.add_argument("--max-length", type=int, default=512, help="most tokens per sequence (default 512)")
    parser.add_argument("--long-text", choices=("truncate", "chunk"), default="truncate", help="what to do with longer texts")
    parser.add_argument(
        "--aggregate", choices=("max", "mean"), default="max", help="how chunk scores combine (--long-text chunk)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (default: shown when stderr is a terminal)")
    parser.set_defaults(func=lambda args: run(args, parser))


def _threshold(value: str) -> float | str:
    try:
        return float(value)
    except ValueError:
        return value  # a preset name or a JSON file, validated by ThresholdPolicy.from_spec


def resume_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
    """The command line that continues this run: its options, then ``--resume``."""
    words = ["spacy-goemotions", "classify", args.input, "-o", args.output]
    for dest, flag in _RESUME_OPTIONS:
        value = getattr(args, dest)
        if value == parser.get_default(dest) or value is None or value is False:
            continue
        words += [flag] if value is True else [flag, str(value)]
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
    parts = [
        f"{counts.rows_in:,} rows in", f"{counts.rows_out:,} rows out", f"{counts.missing:,} missing",
        f"{counts.repaired:,} repaired", f"{counts.replaced:,} undecodable bytes replaced", f"{counts.skipped:,} skipped",
    ]  # fmt: skip
    if counts.blank_lines:
        parts.append(f"{counts.blank_lines:,} blank lines ignored")
    parts.append(f"{summary.seconds:.1f} s, {summary.rows_per_second:,.0f} rows/s")
    if summary.resumed_from_row is not None:
        parts.append(f"resumed at row {summary.resumed_from_row:,}")
    return "classify: " + ", ".join(parts)


def _error(message: str) -> None:
    print(f"spacy-goemotions classify: error: {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the command; returns the exit code (0 done, 1 bad input, 2 bad options, 130/143 stopped)."""
    from .core import EmotionClassifier

    keep: list[str] | None
    if args.all_columns:
        keep = None
    elif args.keep_columns is not None:
        keep = [name.strip() for name in args.keep_columns.split(",") if name.strip()]
    else:
        keep = []
    stop = _StopRequest()
    try:
        classifier = EmotionClassifier(
            args.model, revision=args.revision, device=args.device, dtype=args.dtype, batch_size=args.batch_size,
            max_tokens=args.max_tokens, max_length=args.max_length, long_text=args.long_text, aggregate=args.aggregate,
            progress=False, backend=args.backend,
        )  # fmt: skip
        policy = classifier.policy(_threshold(args.threshold), args.top_k)
        with _signals_stop(stop):
            summary = classify_file(
                args.input, args.output, classifier=classifier, policy=policy, text_column=args.text_column,
                id_column=args.id_column, keep_columns=keep, input_format=args.input_format, output_format=args.format,
                chunk_rows=args.chunk_rows, resume=args.resume, on_bad_lines=args.on_bad_lines, prefix=args.prefix,
                labels_column=args.labels_column, progress=False if args.no_progress else None, should_stop=stop.requested,
            )  # fmt: skip
    except Interrupted as interrupted:
        print(_summary_line(interrupted.summary), file=sys.stderr)
        if interrupted.resumable:
            print(f"Stopped after {interrupted.summary.counts.rows_out:,} rows; the output is not written yet. "
                  f"Resume with:\n  {resume_command(args, parser)}", file=sys.stderr, flush=True)  # fmt: skip
        return 128 + (stop.signal or signal.SIGINT)
    except KeyboardInterrupt:
        print(
            "\nStopped at once. Resume from the last finished chunk with:\n  " + resume_command(args, parser),
            file=sys.stderr,
            flush=True,
        )
        return 130
    except BadLineError as error:
        _error(str(error))
        print("Fix the line, or skip malformed lines and count them with --on-bad-lines skip. Rows before it are kept: "
              f"add --on-bad-lines skip --resume to continue from the last finished chunk:\n  "
              f"{resume_command(args, parser)} --on-bad-lines skip", file=sys.stderr, flush=True)  # fmt: skip
        return 1
    except InputError as error:
        _error(str(error))
        return 1
    except GoEmotionsError as error:  # options: threshold, model, device, columns, formats, checkpoint
        _error(str(error))
        return 2
    except OSError as error:  # disk full, permissions, ...: the checkpoint of the last chunk is kept
        _error(f"{error}")
        return 1
    print(_summary_line(summary), file=sys.stderr, flush=True)
    return 0
