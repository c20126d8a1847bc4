"""``spacy-goemotions convert``: labelled data (GoEmotions TSV, CSV, JSONL) to spaCy ``.spacy`` DocBins with gold ``doc.cats``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from .options import positive_int


def add_parser(subparsers: Any) -> None:
    """Register ``convert``."""
    convert = subparsers.add_parser(
        "convert",
        help="labelled data -> spaCy .spacy DocBin with gold doc.cats",
        description="Convert GoEmotions TSV (or CSV/JSONL) into a .spacy DocBin whose docs carry gold doc.cats "
        "(1.0/0.0) for all 28 labels, for `spacy evaluate`. With one input and an OUTPUT ending in .spacy, that file is "
        "written; otherwise OUTPUT is a directory that receives <input name>.spacy per input (like `spacy convert`).",
    )
    convert.add_argument("input", nargs="+", help="GoEmotions .tsv, .csv or .jsonl file(s)")
    convert.add_argument("output", help=".spacy file (one input) or output directory")
    convert.add_argument("--lang", default="en", help="language of the blank tokenizer (default: en)")
    convert.add_argument("--text-column", default="text")
    convert.add_argument("--labels-column", default="labels")
    convert.add_argument("--id-column", default="id")
    convert.add_argument("--limit", type=positive_int, default=None, metavar="N", help="convert only the first N rows")
    convert.set_defaults(func=run_convert)


def run_convert(args: argparse.Namespace) -> int:
    """Write one ``.spacy`` file per input."""
    from ..evaluation.conversion import convert_to_docbin

    _check_lang(args.lang)
    output = Path(args.output)
    if output.suffix == ".spacy":
        if len(args.input) > 1:
            raise ConfigurationError(
                f"{len(args.input)} inputs cannot all go to the one file {args.output!r}: give a directory instead, "
                "e.g. spacy-goemotions convert dev.tsv test.tsv corpus/"
            )
        targets = [output]
    else:
        # dev.tsv.gz -> dev.spacy
        targets = [output / f"{Path(name).name.split('.')[0]}.spacy" for name in args.input]
        if len(set(targets)) < len(targets):
            raise ConfigurationError(f"Inputs {args.input!r} share a name, so their .spacy files would overwrite each other")
    for source, target in zip(args.input, targets, strict=True):
        count = convert_to_docbin(
            source,
            target,
            lang=args.lang,
            limit=args.limit,
            text_column=args.text_column,
            labels_column=args.labels_column,
            id_column=args.id_column,
        )
        print(f"Wrote {count} docs to {target}", file=sys.stderr)
    return 0


def _check_lang(lang: str) -> None:
    """``--lang`` must name a language spaCy has, before any input is read."""
    import spacy.util

    try:
        spacy.util.get_lang_class(lang)
    except ImportError as error:  # spaCy's way of saying "no such language"
        raise ConfigurationError(f"--lang {lang!r} is no language spaCy knows ({error}). Example: --lang en") from error
