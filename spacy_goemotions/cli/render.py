"""``spacy-goemotions render``: one self-contained HTML report of a file's texts, their emotions and their words."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..files.atomic import write_atomic
from ..files.formats import FORMATS, detect_format
from ..files.run import open_reader
from .options import add_classifier_arguments, add_policy_arguments, classifier_options, positive_int

EXAMPLE = "spacy-goemotions render comments.csv --text-column body -o report.html --limit 50 --explain"


def add_parser(subparsers: Any) -> None:
    """Register ``render``."""
    parser = subparsers.add_parser(
        "render",
        help="an HTML report of a file's first rows: emotions per text, words that drive them, label frequencies",
        description=(
            "Score the first --limit rows of INPUT (CSV, TSV, JSONL or Parquet; text formats may be gzipped) and write "
            "OUTPUT: one HTML page that works offline (no external scripts, fonts or images), with how often each "
            "emotion is on, and per text its emotions as bars and, with --explain, each word coloured by how much it "
            "raises or lowers the chosen emotion."
        ),
        epilog=f"Example: {EXAMPLE}",
    )
    parser.add_argument("input", metavar="INPUT", help="input file")
    parser.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="the HTML file to write")
    page = parser.add_argument_group("page")
    page.add_argument("--text-column", required=True, metavar="COL", help="the column holding the texts")
    page.add_argument("--id-column", metavar="ID", help="a column whose value captions each text (default: the row number)")
    page.add_argument("--input-format", choices=FORMATS, help="input format (default: from INPUT's extension)")
    page.add_argument("--limit", type=positive_int, default=100, metavar="N", help="render the first N rows (default: 100)")
    page.add_argument(
        "--explain", action="store_true", help="colour each word by its attribution (a text of n words costs n + 1)"
    )
    page.add_argument(
        "--bars", type=positive_int, default=5, metavar="K", help="the K highest scores shown per text (default: 5)"
    )
    page.add_argument("--title", default=None, help="the page's title (default: the input's file name)")
    add_policy_arguments(parser.add_argument_group("labels"))
    add_classifier_arguments(parser.add_argument_group("model and inference"))
    parser.set_defaults(func=run)


def _rows(args: argparse.Namespace) -> tuple[list[str | None], list[str]]:
    """The first ``--limit`` texts of the input and their captions."""
    fmt, gz = detect_format(args.input, args.input_format, option="input_format")
    keep = [args.id_column] if args.id_column else []
    reader = open_reader(args.input, fmt, gz, text_column=args.text_column, keep=keep, required=keep, on_bad_lines="skip")
    try:
        chunk = next(iter(reader.chunks(args.limit)), None)
    finally:
        reader.close()
    if chunk is None:
        return [], []
    if args.id_column:
        values = chunk.columns[args.id_column]
        ids = values if isinstance(values, list) else values.to_pylist()
        return chunk.texts, [f"{args.id_column} {value}" for value in ids]
    return chunk.texts, [f"row {n + 1}" for n in range(len(chunk.texts))]


def run(args: argparse.Namespace) -> int:
    """Write the report."""
    from ..visual import render

    options = classifier_options(args)  # bad options fail before the input is read
    texts, captions = _rows(args)
    html = render(
        texts,
        threshold=args.threshold,
        top_k=args.top_k,
        bars=args.bars,
        explain=args.explain,
        summary=True,
        captions=captions,
        title=args.title or Path(args.input).name,
        page=True,
        jupyter=False,
        options=options,
    )
    assert html is not None  # page=True, jupyter=False: the page is returned
    write_atomic(Path(args.output), html.encode("utf-8"))
    print(f"Wrote {args.output}: {len(texts)} texts{' with explanations' if args.explain else ''}.", file=sys.stderr)
    return 0
