"""Write the calibration sample that ``dtype="int8"`` quantizes with when no ``calibration_texts`` are given.

    python scripts/make_calibration_sample.py ../shared/data/goemotions/train.tsv spacy_goemotions/data/calibration_texts.txt

300 comments of the GoEmotions *train* split (so evaluating on the test split stays fair), drawn with
a fixed seed, stratified by length so that short and long comments are both represented (the
activation ranges int8 calibrates differ by length). One text per line, as a user's own file would be.
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

SAMPLE_SIZE = 300
SEED = 20261201


def sample(texts: list[str], size: int, seed: int) -> list[str]:
    """``size`` texts, an equal number from each length quintile, in a shuffled order."""
    rng = random.Random(seed)
    by_length = sorted(set(texts), key=lambda text: (len(text), text))
    quintiles = [by_length[i * len(by_length) // 5 : (i + 1) * len(by_length) // 5] for i in range(5)]
    chosen = [text for part in quintiles for text in rng.sample(part, size // 5)]
    rng.shuffle(chosen)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train_tsv", help="GoEmotions train.tsv (text, label ids, id)")
    parser.add_argument("out", help="text file to write, one text per line")
    args = parser.parse_args()
    with open(args.train_tsv, encoding="utf-8", newline="") as handle:
        texts = [row[0].strip() for row in csv.reader(handle, delimiter="\t") if row and row[0].strip()]
    texts = [text for text in texts if "\n" not in text and "\r" not in text]
    Path(args.out).write_text("\n".join(sample(texts, SAMPLE_SIZE, SEED)) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
