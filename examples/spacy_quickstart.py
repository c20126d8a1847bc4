"""Classify texts with the ``goemotions`` spaCy component, save the pipeline with its weights, reload it.

    python examples/spacy_quickstart.py examples/comments.csv --model cirimus/modernbert-base-go-emotions

No import of spacy_goemotions is needed: spaCy finds the ``goemotions`` factory by its entry point.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import spacy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("csv", help="a CSV file with a text column")
    parser.add_argument("--column", default="text", help="the text column (default: text)")
    parser.add_argument("--model", default="cirimus/modernbert-base-go-emotions", help="hub id or local directory")
    parser.add_argument("--threshold", default="model_card", help="a float, a preset (model_card, tuned) or a JSON file")
    parser.add_argument("--top-k", type=int, default=3)
    args = parser.parse_args()

    with open(args.csv, newline="", encoding="utf-8") as file:
        texts = [row[args.column] for row in csv.DictReader(file)]
    try:
        threshold: float | str = float(args.threshold)
    except ValueError:
        threshold = args.threshold

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("goemotions", config={"model": args.model, "threshold": threshold, "top_k": args.top_k,
                                       "per_sentence": True, "save_weights": True})  # fmt: skip
    for doc in nlp.pipe(texts, batch_size=256):  # one batched model call for all texts
        top = ", ".join(f"{label} {score:.2f}" for label, score in doc._.emotions.items()) or "-"
        print(f"{doc.text[:60]!r:64} {top}")
        if len(list(doc.sents)) > 1:
            for sent in doc.sents:
                print(f"    {sent.text[:56]!r:60} {', '.join(sent._.emotions) or '-'}")

    # Saved with save_weights=True, the pipeline holds the model and loads offline.
    with tempfile.TemporaryDirectory() as tmp:
        nlp.to_disk(Path(tmp) / "emotion_pipeline")
        reloaded = spacy.load(Path(tmp) / "emotion_pipeline")
        same = reloaded(texts[0])._.emotions.keys() == nlp(texts[0])._.emotions.keys()
        print(f"reloaded from disk: same labels for the first text: {same}")


if __name__ == "__main__":
    main()
