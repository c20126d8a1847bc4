"""Compare two `spacy-goemotions evaluate --format json` results: the starting model and the fine-tuned one.

python scripts/compare.py metrics/start_test.json metrics/finetuned_test.json -o metrics/finetune_comparison.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

POLICIES = ("threshold 0.5", "thresholds tuned on dev")


def macro_rows(result: dict[str, Any]) -> list[dict[str, float]]:
    """The macro average of each table of an evaluation: at 0.5, then with its --tuned-thresholds."""
    return [table["macro_avg"] for table in result["tables"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("start", type=Path, help="evaluation of the starting model (JSON)")
    parser.add_argument("finetuned", type=Path, help="evaluation of the fine-tuned model (JSON)")
    parser.add_argument("-o", "--output", type=Path, help="write the table here too")
    args = parser.parse_args()
    start = json.loads(args.start.read_text(encoding="utf-8"))
    finetuned = json.loads(args.finetuned.read_text(encoding="utf-8"))
    before, after = macro_rows(start), macro_rows(finetuned)
    lines = [
        f"Test macro averages, {start['meta']['n_texts']} texts: `{start['meta']['model']}` against "
        f"`{finetuned['meta']['model']}`.",
        "",
        "| policy | macro-F1 start | macro-F1 fine-tuned | change | macro precision start → fine-tuned "
        "| macro recall start → fine-tuned |",
        "|---|---|---|---|---|---|",
    ]
    for name, b, a in zip(POLICIES, before, after, strict=False):
        lines.append(
            f"| {name} | {b['f1']:.4f} | {a['f1']:.4f} | {a['f1'] - b['f1']:+.4f} | "
            f"{b['precision']:.4f} → {a['precision']:.4f} | {b['recall']:.4f} → {a['recall']:.4f} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.output:
        args.output.write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
