"""Texts to pick from, without their labels: a GoEmotions TSV (text, label ids, id) -> CSV (id, text).

Stands in for your own unlabelled texts in the review loop; the ids let the scripted annotator find the gold labels.

python scripts/pool.py assets/train.tsv review/pool.csv
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tsv", type=Path, help="GoEmotions TSV: text, label ids, id; no header")
    parser.add_argument("output", type=Path, help="CSV with the columns id and text")
    args = parser.parse_args()
    with args.tsv.open(encoding="utf-8", newline="") as source:
        rows = [(row[2], row[0]) for row in csv.reader(source, delimiter="\t")]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "text"])
        writer.writerows(rows)
    print(f"{len(rows):,} texts -> {args.output}")


if __name__ == "__main__":
    main()
