"""A scripted annotator: answers review tasks from gold labels and writes what the annotation tool would export.

It stands in for people in the review loop, so that the loop runs offline end to end and its gain can be
measured: each task is found by its id in the gold file (`sample --id-column id` keeps the GoEmotions ids) and
answered with the gold labels (a taxonomy's groups with --taxonomy), whatever the model pre-filled. The export is
written in the tool's own format: Label Studio's JSON export (tasks with `annotations`), `prodigy db-out` JSONL
(`answer: accept`), or the plain JSONL/CSV with edited `labels`.

python scripts/annotate_from_gold.py review/tasks.json --gold assets/train.tsv -o review/export.json
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

from spacy_goemotions.core.taxonomies import load_taxonomy
from spacy_goemotions.evaluation.datasets import read_dataset

ANNOTATED_AT = "2026-01-01T00:00:00Z"


def gold_answers(gold_file: Path, taxonomy: str | None) -> dict[str, list[str]]:
    data = read_dataset(gold_file)
    names, gold = data.labels, data.gold
    if taxonomy:
        grouping = load_taxonomy(taxonomy, data.labels)
        names, gold = grouping.group_names, grouping.gold(gold, data.labels)
    return {identifier: [names[i] for i in row.nonzero()[0]] for identifier, row in zip(data.ids, gold, strict=True)}


def answer(task_id: str, answers: dict[str, list[str]]) -> list[str]:
    if task_id not in answers:
        raise SystemExit(f"Task {task_id!r} is not in the gold file: sample with --id-column id from the same split.")
    return answers[task_id]


def label_studio(tasks: list[dict[str, Any]], answers: dict[str, list[str]]) -> list[dict[str, Any]]:
    exported = []
    for number, task in enumerate(tasks, start=1):
        labels = answer(task["data"]["id"], answers)
        result = [{"from_name": "emotions", "to_name": "text", "type": "choices", "value": {"choices": labels}}]
        annotation = {"id": number, "completed_by": 1, "result": result, "was_cancelled": False, "ground_truth": False,
                      "created_at": ANNOTATED_AT, "updated_at": ANNOTATED_AT}  # fmt: skip
        exported.append({"id": number, "data": task["data"], "annotations": [annotation], "predictions": []})
    return exported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tasks", type=Path, help="tasks written by `spacy-goemotions sample`")
    parser.add_argument("--gold", type=Path, required=True, help="the labelled file the texts came from")
    parser.add_argument("--format", choices=("label-studio", "prodigy", "jsonl", "csv"), default="label-studio")
    parser.add_argument("--taxonomy", help="answer with this taxonomy's groups (tasks sampled with --taxonomy)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the export to write")
    args = parser.parse_args()
    answers = gold_answers(args.gold, args.taxonomy)
    text = args.tasks.read_text(encoding="utf-8")
    if args.format == "label-studio":
        exported = label_studio(json.loads(text), answers)
        args.output.write_text(json.dumps(exported, ensure_ascii=False), encoding="utf-8")
        count = len(exported)
    elif args.format == "csv":
        with args.tasks.open(encoding="utf-8", newline="") as source, args.output.open("w", encoding="utf-8", newline="") as out:
            rows = [{**row, "labels": ",".join(answer(row["id"], answers))} for row in csv.DictReader(source)]
            writer = csv.DictWriter(out, ["id", "text", "labels"])
            writer.writeheader()
            writer.writerows(rows)
        count = len(rows)
    else:
        lines = []
        for number, line in enumerate(map(json.loads, text.splitlines())):
            if args.format == "prodigy":
                line.update(accept=answer(line["meta"]["id"], answers), answer="accept", _input_hash=number,
                            _task_hash=number, _view_id="choice", _annotator_id="gold", _session_id="gold")  # fmt: skip
            else:
                line["labels"] = answer(line["id"], answers)
            lines.append(json.dumps(line, ensure_ascii=False) + "\n")
        args.output.write_text("".join(lines), encoding="utf-8")
        count = len(lines)
    print(f"Answered {count:,} tasks of {args.tasks} from the gold labels of {args.gold} -> {args.output}")


if __name__ == "__main__":
    main()
