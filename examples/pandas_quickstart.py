"""Add emotion columns to a CSV of texts with the pandas accessor.

    python examples/pandas_quickstart.py examples/comments.csv --column text --model goemotions-small
"""

from __future__ import annotations

import argparse

import pandas as pd

import spacy_goemotions  # noqa: F401  (registers df.emotions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("csv", help="a CSV file with a text column")
    parser.add_argument("--column", default="text", help="the text column (default: text)")
    parser.add_argument("--model", default=spacy_goemotions.DEFAULT_MODEL, help="hub id, local directory or bundled name")
    parser.add_argument("--threshold", default="0.5", help="a float, a preset (model_card, tuned) or a JSON file")
    parser.add_argument("--top-k", type=int, default=3)
    args = parser.parse_args()

    try:
        threshold: float | str = float(args.threshold)
    except ValueError:
        threshold = args.threshold
    df = pd.read_csv(args.csv)
    out = df.emotions.classify(args.column, model=args.model, threshold=threshold, top_k=args.top_k)
    top_scores = out[list(spacy_goemotions.get_classifier(args.model).labels)].max(axis=1)
    with pd.option_context("display.max_colwidth", 60, "display.width", 120):
        print(out[[args.column, "emotions"]].assign(top_score=top_scores.round(3)).to_string(index=False))


if __name__ == "__main__":
    main()
