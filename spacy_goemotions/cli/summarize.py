"""``spacy-goemotions summarize``: how often each emotion (and group) is on in a scored file, overall or per period."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError, InputError, InputNotFoundError
from ..files.formats import FORMATS, detect_format
from .options import taxonomy_names

EXAMPLE = "spacy-goemotions summarize scored.parquet --by created --freq W -o weekly.csv --plot weekly.png"


def add_parser(subparsers: Any) -> None:
    """Register ``summarize``."""
    parser = subparsers.add_parser(
        "summarize",
        help="label (and group) frequencies of a file `classify` wrote, overall or per column value or period",
        description=(
            "Read SCORED_FILE (what `spacy-goemotions classify` wrote: CSV, TSV, JSONL or Parquet) and print or write one "
            "row per emotion (and per group of each taxonomy present): texts, missing texts, texts with it on, share on "
            "and mean score; with --by, the same per value of a column, and with --freq per period of a date column. "
            "Missing texts are counted apart, never as texts without emotion."
        ),
        epilog=f"Example: {EXAMPLE}",
    )
    parser.add_argument("input", metavar="SCORED_FILE", help="a file written by `spacy-goemotions classify`")
    parser.add_argument("-o", "--output", metavar="FILE.csv", help="write the summary as CSV (default: print it)")
    parser.add_argument("--by", metavar="COL", help="summarize per value of this column")
    parser.add_argument("--freq", metavar="F", help="with --by a date column: per period (D, W, MS, QS, ...; pandas offsets)")
    parser.add_argument("--input-format", choices=FORMATS, help="input format (default: from the extension)")
    parser.add_argument("--prefix", default="", help="the prefix of the score columns, as given to classify")
    parser.add_argument("--labels-column", default="emotions", help="the labels column, as given to classify (default: emotions)")
    parser.add_argument("--taxonomy", action="append", metavar="NAME", help="the taxonomies to summarize (default: those found)")
    parser.add_argument("--plot", metavar="FILE.png", help="chart the shares (over time with --freq); needs the plot extra")
    parser.add_argument("--heatmap", metavar="FILE.png", help="chart how often two emotions are on together (plot extra)")
    parser.set_defaults(func=run)


def read_scored(path: str, input_format: str | None) -> Any:
    """The scored file as a DataFrame (every column as written; list columns as the format stores them).

    Raises:
        InputNotFoundError: for a path that is no file.
        InputError: for a file that cannot be read as its format.
    """
    import pandas as pd

    fmt, _ = detect_format(path, input_format, option="input_format")
    if not Path(path).is_file():
        raise InputNotFoundError(f"Input file {path!r} does not exist (or is not a file).")
    try:
        if fmt == "parquet":
            return pd.read_parquet(path)
        if fmt == "jsonl":
            return pd.read_json(path, lines=True, dtype=False)
        return pd.read_csv(path, sep="\t" if fmt == "tsv" else ",", keep_default_na=False, na_values=[""])
    except ValueError as error:  # pandas' and pyarrow's parse errors, bad UTF-8: all ValueErrors
        raise InputError(f"{path}: cannot be read as {fmt.upper()}: {error}") from error


def run(args: argparse.Namespace) -> int:
    """Print or write the summary, and draw the charts asked for."""
    import pandas as pd

    from ..integrations import pandas as _pandas  # noqa: F401  (registers df.emotions)

    if args.freq and not args.by:
        raise ConfigurationError("--freq needs --by (a date column). Example: --by created --freq W")
    frame = read_scored(args.input, args.input_format)
    if args.by is not None and args.by not in frame.columns:
        raise InputError(f"{args.input}: no column {args.by!r} to summarize by (--by). Its columns: {list(frame.columns)}")
    if args.freq and not pd.api.types.is_datetime64_any_dtype(frame[args.by]):
        frame[args.by] = pd.to_datetime(frame[args.by], errors="coerce", utc=True).dt.tz_localize(None)
    options = {"prefix": args.prefix, "labels_column": args.labels_column, "taxonomies": taxonomy_names(args)}
    summary = frame.emotions.summary(by=args.by, freq=args.freq, **options)
    _charts(args, frame, summary, options)
    if args.output:
        summary.to_csv(args.output, index=False)
        print(f"Wrote {args.output}: {len(summary):,} rows", file=sys.stderr)
    else:
        sys.stdout.write(summary.to_string(index=False) + "\n")
    return 0


def _charts(args: argparse.Namespace, frame: Any, summary: Any, options: dict[str, Any]) -> None:
    from ..visual.plots import plot_cooccurrence, plot_over_time, plot_shares

    if args.plot:
        if args.freq:
            plot_over_time(summary, args.by, args.plot)
        else:
            overall = summary if not args.by else frame.emotions.summary(**options)
            plot_shares(overall, args.plot)
        print(f"Wrote {args.plot}", file=sys.stderr)
    if args.heatmap:
        matrix = frame.emotions.cooccurrence(prefix=options["prefix"], labels_column=options["labels_column"])
        plot_cooccurrence(matrix, args.heatmap)
        print(f"Wrote {args.heatmap}", file=sys.stderr)
