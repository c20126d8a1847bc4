"""``spacy-goemotions convert``: labelled data (GoEmotions TSV, CSV, JSONL, Parquet) to ``.spacy`` DocBins with gold cats.

Before writing, it reports what is in the data (counts per label; empty texts, texts without a label,
labels without an example, duplicates within a file and texts shared between files), so that a training
run does not start on data with problems nobody saw.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from .options import positive_int

if TYPE_CHECKING:
    from ..evaluation.datasets import LabelledData


def add_parser(subparsers: Any) -> None:
    """Register ``convert``."""
    convert = subparsers.add_parser(
        "convert",
        help="labelled data -> spaCy .spacy DocBin with gold doc.cats",
        description="Convert GoEmotions TSV (or CSV/JSONL/Parquet with a text and a labels column) into a .spacy DocBin "
        "whose docs carry gold doc.cats (1.0/0.0) for every label of the set: the 28 GoEmotions labels, your own "
        "(--labels) or the ones the data uses (--labels-from-data), for `spacy train` and `spacy evaluate`. With one "
        "input and an OUTPUT ending in .spacy, that file is written; otherwise OUTPUT is a directory that receives "
        "<input name>.spacy per input (like `spacy convert`). The counts per label, and empty texts, texts without "
        "a label, labels without an example and texts shared between the inputs (train and dev), are reported first.",
    )
    convert.add_argument("input", nargs="+", help="GoEmotions .tsv, .csv, .jsonl or .parquet file(s)")
    convert.add_argument("output", help=".spacy file (one input) or output directory")
    convert.add_argument("--lang", default="en", help="language of the blank tokenizer (default: en)")
    convert.add_argument("--text-column", default="text")
    convert.add_argument("--labels-column", default="labels")
    convert.add_argument("--id-column", default="id")
    convert.add_argument("--limit", type=positive_int, default=None, metavar="N", help="convert only the first N rows")
    label_set = convert.add_mutually_exclusive_group()
    label_set.add_argument(
        "--labels",
        type=_label_names,
        metavar="A,B,...",
        help="your own label set, comma-separated (a label in the data outside it is an error naming it; ids index it)",
    )
    label_set.add_argument(
        "--labels-from-data", action="store_true", help="the label set is every label name the inputs use (sorted)"
    )
    convert.set_defaults(func=run_convert)


def run_convert(args: argparse.Namespace) -> int:
    """Write one ``.spacy`` file per input."""
    from ..evaluation.conversion import write_docbin
    from ..evaluation.data_report import describe_data, format_reports, shared_texts
    from ..evaluation.datasets import read_dataset
    from ..labels import GOEMOTIONS_LABELS

    check_lang(args.lang)
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
    labels: Sequence[str] | None = args.labels or GOEMOTIONS_LABELS
    read_options = {"text_column": args.text_column, "labels_column": args.labels_column, "id_column": args.id_column}
    if args.labels_from_data:  # one set for every input, so that train and dev docs carry the same cats
        found = {label for source in args.input for label in read_dataset(source, labels=None, **read_options).labels}
        labels = sorted(found)
    datasets = [_first_rows(read_dataset(source, labels=labels, **read_options), args.limit) for source in args.input]
    reports = [describe_data(data, source) for data, source in zip(datasets, args.input, strict=True)]
    overlaps = [
        (args.input[i], args.input[j], shared_texts(datasets[i], datasets[j]))
        for i in range(len(datasets))
        for j in range(i + 1, len(datasets))
    ]
    print(format_reports(reports, overlaps), end="", file=sys.stderr)
    for data, target in zip(datasets, targets, strict=True):
        count = write_docbin(data, target, lang=args.lang)
        print(f"Wrote {count} docs with {len(data.labels)} labels to {target}", file=sys.stderr)
    return 0


def _first_rows(data: LabelledData, limit: int | None) -> LabelledData:
    from ..evaluation.datasets import LabelledData

    if limit is None or limit >= len(data):
        return data
    return LabelledData(data.texts[:limit], data.ids[:limit], data.gold[:limit], data.labels)


def _label_names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names or len(set(names)) < len(names):
        raise argparse.ArgumentTypeError(f"expected distinct comma-separated names, got {text!r}. Example: --labels joy,anger")
    return names


def check_lang(lang: str) -> None:
    """``--lang`` must name a language spaCy has, before any input is read."""
    import spacy.util

    try:
        spacy.util.get_lang_class(lang)
    except ImportError as error:  # spaCy's way of saying "no such language"
        raise ConfigurationError(f"--lang {lang!r} is no language spaCy knows ({error}). Example: --lang en") from error
