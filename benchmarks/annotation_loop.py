"""The annotation loop: how long picking texts takes, and what annotating the picked texts gains.

    # selection time for 100k texts: scoring, then each strategy's pick, in one process; and the whole
    # `spacy-goemotions sample` command as a user runs it:
    python benchmarks/annotation_loop.py selection ../shared/data/goemotions/train.tsv ../shared/data/goemotions/dev.tsv \\
        ../shared/data/goemotions/test.tsv ../shared/data/reddit/random_sample_10k.csv.gz --rows 100000 \\
        --model goemotions-small --json benchmarks/results/annotation-selection-100k.json

    # the loop's value: the example project's `review` workflow (sample -> scripted annotator from the gold labels ->
    # import-annotations -> spacy train -> evaluate), once per strategy, from the same starting model:
    python benchmarks/annotation_loop.py loop ../shared/data/goemotions --model goemotions-small \\
        --strategies uncertain,random -n 500 --json benchmarks/results/annotation-loop-small.json

The loop picks from the train split, the scripted annotator answers with its gold labels, 20% of the reviewed
texts are held out, the model trains for a fixed number of epochs (model-last: the held-out texts are too few to
choose a checkpoint by), and both the starting and the trained model are scored on the test split at 0.5 and with
thresholds each tuned on the held-out reviewed texts (the same protocol for both). One seed.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from finetune import machine  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1] / "examples" / "spacy_project"
STRATEGIES = ("uncertain", "diverse", "random")


def read_texts(path: Path) -> list[str]:
    """The texts of a GoEmotions TSV (first column) or of a CSV with a ``body`` or ``text`` column (``.gz`` too)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:  # type: ignore[operator]
        if ".tsv" in path.suffixes:
            return [row[0] for row in csv.reader(handle, delimiter="\t")]
        rows = list(csv.DictReader(handle))
    column = "body" if rows and "body" in rows[0] else "text"
    return [row[column] for row in rows]


def pool_of(paths: list[Path], rows: int) -> list[str]:
    """``rows`` texts from the files, cycled; a repeat gets ``[copy k]`` appended, so no text is a duplicate."""
    source = [text for path in paths for text in read_texts(path)]
    return [source[i % len(source)] + ("" if i < len(source) else f" [copy {i // len(source)}]") for i in range(rows)]


def selection(args: argparse.Namespace) -> dict[str, Any]:
    from spacy_goemotions import EmotionClassifier
    from spacy_goemotions.annotation import ReviewSpace, pick_tasks
    from spacy_goemotions.core.table import TableOptions, classifier_layout

    texts = pool_of([Path(p) for p in args.texts], args.rows)
    classifier = EmotionClassifier(args.model)
    start = time.perf_counter()
    scores = classifier.scores(texts, progress=False)
    score_seconds = time.perf_counter() - start
    space = ReviewSpace.from_layout(classifier_layout(TableOptions(), classifier), scores)
    picks = {}
    for strategy in STRATEGIES:
        start = time.perf_counter()
        batch = pick_tasks(texts, None, space, args.n, strategy, seed=0)  # type: ignore[arg-type]
        picks[strategy] = {"seconds": time.perf_counter() - start, "picked": len(batch.tasks)}
    with tempfile.TemporaryDirectory() as folder:
        pool = Path(folder) / "pool.csv"
        with pool.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text"])
            writer.writerows([text] for text in texts)
        outputs = ["-o", str(Path(folder) / "tasks.json"), "--config", str(Path(folder) / "labels.xml")]
        command = [sys.executable, "-m", "spacy_goemotions", "sample", str(pool), *outputs, "-n", str(args.n),
                   "--model", args.model, "--no-progress"]  # fmt: skip
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        command_seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(done.stderr)
    return {
        "benchmark": "annotation-selection",
        "model": args.model,
        "engine": classifier.engine.describe(),
        "rows": len(texts),
        "n": args.n,
        "scoring_seconds": score_seconds,
        "texts_per_second": len(texts) / score_seconds,
        "pick": picks,
        "sample_command_seconds": command_seconds,
        "sample_command_summary": done.stderr.strip().splitlines()[-1],
        "machine": machine(),
    }


def selection_table(result: dict[str, Any]) -> str:
    lines = [
        f"{result['rows']:,} texts, n = {result['n']}, {result['model']} ({result['engine']}):",
        "",
        "| step | seconds |",
        "|---|---|",
        f"| scoring ({result['texts_per_second']:,.0f} texts/s) | {result['scoring_seconds']:.1f} |",
        *(f"| pick: {name} | {pick['seconds']:.2f} |" for name, pick in result["pick"].items()),
        f"| the whole `sample` command (read, score, pick, write) | {result['sample_command_seconds']:.1f} |",
    ]
    return "\n".join(lines)


def macro_f1s(path: Path) -> list[float]:
    """Macro-F1 of each table of an evaluation: at 0.5, then with the model's tuned thresholds."""
    return [table["macro_avg"]["f1"] for table in json.loads(path.read_text(encoding="utf-8"))["tables"]]


def one_loop(args: argparse.Namespace, strategy: str, folder: Path) -> dict[str, Any]:
    project = folder / strategy
    shutil.copytree(
        PROJECT, project, ignore=shutil.ignore_patterns("corpus", "training", "metrics", "packages", "assets", "review")
    )
    command = [sys.executable, "-m", "spacy", "project", "run", "review", str(project), "--vars.model", args.model,
               "--vars.data_dir", str(Path(args.data_dir).resolve()), "--vars.review_n", str(args.n),
               "--vars.review_strategy", strategy, "--vars.review_epochs", str(args.epochs)]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stdout[-3000:] + done.stderr[-3000:])
    metrics = project / "metrics"
    export = json.loads((project / "review" / "export.json").read_text(encoding="utf-8"))
    label_counts = [len(task["annotations"][0]["result"][0]["value"]["choices"]) for task in export]
    return {
        "strategy": strategy,
        "minutes": seconds / 60,
        "reviewed_texts": len(export),
        "mean_gold_labels_per_text": float(np.mean(label_counts)),
        "test_macro_f1_start": macro_f1s(metrics / "start_test_reviewed_thresholds.json"),
        "test_macro_f1_after": macro_f1s(metrics / "reviewed_test.json"),
        "reviewed_dev_macro_f1_start": macro_f1s(metrics / "start_reviewed_dev.json"),
        "reviewed_dev_macro_f1_after": macro_f1s(metrics / "reviewed_reviewed_dev.json"),
    }


def loop(args: argparse.Namespace) -> dict[str, Any]:
    strategies = [name.strip() for name in args.strategies.split(",") if name.strip()]
    with tempfile.TemporaryDirectory() as folder:
        rows = [one_loop(args, strategy, Path(folder)) for strategy in strategies]
    return {"benchmark": "annotation-loop", "model": args.model, "n": args.n, "epochs": args.epochs, "seed": 0,
            "rows": rows, "machine": machine()}  # fmt: skip


def loop_table(result: dict[str, Any]) -> str:
    lines = [
        f"Test macro-F1 of `{result['model']}` before and after training on {result['n']} reviewed texts "
        f"({result['epochs']} epochs, model-last, one seed); thresholds: 0.5 / each model's tuned on the held-out "
        "reviewed texts.",
        "",
        "| strategy | gold labels per text | held-out reviewed, 0.5: start → after | test start (0.5 / tuned) "
        "| test after (0.5 / tuned) | test change (0.5 / tuned) | minutes |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        (b5, bt), (a5, at) = row["test_macro_f1_start"], row["test_macro_f1_after"]
        (h0,), (h1,) = row["reviewed_dev_macro_f1_start"], row["reviewed_dev_macro_f1_after"]
        lines.append(
            f"| {row['strategy']} | {row['mean_gold_labels_per_text']:.2f} | {h0:.4f} → {h1:.4f} | {b5:.4f} / {bt:.4f} "
            f"| {a5:.4f} / {at:.4f} | {a5 - b5:+.4f} / {at - bt:+.4f} | {row['minutes']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    pick = commands.add_parser("selection", help="scoring and picking time for many texts")
    pick.add_argument("texts", nargs="+", help="GoEmotions TSVs and/or CSVs with a body or text column (.gz too)")
    pick.add_argument("--rows", type=int, default=100_000)
    run = commands.add_parser("loop", help="test macro-F1 before and after the review workflow, per strategy")
    run.add_argument("data_dir", help="folder with train.tsv and test.tsv (GoEmotions format)")
    run.add_argument("--strategies", default="uncertain,random")
    run.add_argument("--epochs", type=int, default=5)
    for sub in (pick, run):
        sub.add_argument("--model", default="goemotions-small")
        sub.add_argument("-n", type=int, default=500, help="texts to pick")
        sub.add_argument("--json", dest="json_out")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    result = selection(args) if args.command == "selection" else loop(args)
    result["date"] = time.strftime("%Y-%m-%d")
    result["command"] = shlex.join(["python", "benchmarks/annotation_loop.py", *argv])
    print(selection_table(result) if args.command == "selection" else loop_table(result))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
