"""Fine-tuning with the ``goemotions`` spaCy component: training throughput, and what training gains.

    # examples/s and peak memory of training steps, float32 and bf16 autocast, each in a fresh process:
    python benchmarks/finetune.py throughput ../shared/data/goemotions/train.tsv --model goemotions-small \\
        --steps 300 --json benchmarks/results/finetune-throughput-small.json
    python benchmarks/finetune.py throughput ../shared/data/goemotions/train.tsv \\
        --skeleton ../shared/models/modernbert-base-go-emotions/config.json \\
        --tokenizer ../shared/models/modernbert-base --steps 40 --json benchmarks/results/finetune-throughput-base.json

    # quality on GoEmotions (train -> dev for thresholds -> test), against the starting model, same protocol:
    python benchmarks/finetune.py quality ../shared/data/goemotions --model goemotions-small \\
        --json benchmarks/results/finetune-quality-small.json

Training runs through the component's own contract (``nlp.initialize`` with the labelled examples, then
``nlp.update`` per batch: what ``spacy train`` calls), on one seed. The three quality experiments:

- ``more-28``: one more epoch on the model's own 28 labels;
- ``ekman-new-set``: Ekman's six emotions and neutral as the label set to train, the gold mapped through the
  shipped ``ekman`` taxonomy; the baseline is the same starting model's max-of-members group scores;
- ``low-data-subset``: 500 training examples (seeded draw) of a five-label subset, several epochs.

Each is scored on the test split at 0.5 and with per-label thresholds tuned on the dev split (the baseline
too), as macro-F1 over its labels; the cost is the training's wall-clock minutes on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from precision import cpu_bf16_units  # noqa: E402
from throughput import resolve_model  # noqa: E402

SUBSET = ("anger", "annoyance", "disappointment", "gratitude", "joy")


# --- data --------------------------------------------------------------------------------------


def read_split(path: Path, labels: Sequence[str], limit: int | None = None) -> tuple[list[str], np.ndarray]:
    """Texts and a (n, labels) 0/1 matrix from a GoEmotions-format file (what ``spacy-goemotions convert`` reads)."""
    from spacy_goemotions import GOEMOTIONS_LABELS
    from spacy_goemotions.evaluation.datasets import read_dataset

    data = read_dataset(path, labels=GOEMOTIONS_LABELS)
    texts, gold = data.texts, data.select_labels(GOEMOTIONS_LABELS)
    if tuple(labels) != tuple(GOEMOTIONS_LABELS):
        gold = gold[:, [list(GOEMOTIONS_LABELS).index(label) for label in labels]]
    return (texts[:limit], gold[:limit]) if limit else (texts, gold)


def ekman_gold(gold: np.ndarray) -> np.ndarray:
    """GoEmotions gold -> Ekman gold: a group is present when any of its member labels is."""
    from spacy_goemotions import GOEMOTIONS_LABELS
    from spacy_goemotions.core.taxonomies import load_taxonomy

    return load_taxonomy("ekman").gold(gold, GOEMOTIONS_LABELS)


# --- training through the component -------------------------------------------------------------


def train_pipeline(
    model: str,
    texts: Sequence[str],
    gold: np.ndarray,
    labels: Sequence[str],
    *,
    epochs: int,
    batch_size: int,
    training: dict[str, Any],
    seed: int = 0,
) -> tuple[Any, float, int]:
    """A blank pipeline whose goemotions component trained on the texts; the seconds it took; the steps."""
    import spacy
    from spacy.training import Example
    from thinc.api import fix_random_seed

    fix_random_seed(seed)
    steps = epochs * -(-len(texts) // batch_size)
    nlp = spacy.blank("en")
    settings = {"warmup_steps": max(1, steps // 16), "total_steps": steps, **training}
    config = {"model": model, "labels": list(labels), "dtype": "float32", "backend": "torch", "training": settings}
    nlp.add_pipe("goemotions", config=config)
    examples = [
        Example.from_dict(nlp.make_doc(text), {"cats": dict(zip(labels, map(float, row), strict=True))})
        for text, row in zip(texts, gold, strict=True)
    ]
    started = time.perf_counter()
    nlp.initialize(lambda: examples)
    order = random.Random(seed)
    for _ in range(epochs):
        shuffled = examples[:]
        order.shuffle(shuffled)
        for start in range(0, len(shuffled), batch_size):
            nlp.update(shuffled[start : start + batch_size])
    return nlp, time.perf_counter() - started, steps


def saved_scores(nlp: Any, texts_by_split: dict[str, list[str]]) -> dict[str, np.ndarray]:
    """Save the trained pipeline, load it as a user would, score each split with it."""
    import spacy

    with tempfile.TemporaryDirectory(prefix="goemotions-finetune-") as tmp:
        nlp.to_disk(tmp)
        classifier = spacy.load(tmp).get_pipe("goemotions").classifier
        return {split: classifier.scores(texts, progress=False) for split, texts in texts_by_split.items()}


def macro_f1(scores: np.ndarray, gold: np.ndarray, labels: Sequence[str], thresholds: Any) -> float:
    from spacy_goemotions.core.thresholds import ThresholdPolicy
    from spacy_goemotions.evaluation import evaluate_scores

    table = evaluate_scores(scores, gold, labels, ThresholdPolicy.from_spec(thresholds, labels=labels))
    return round(float(table.row("macro avg").f1), 4)


def f1_pair(
    dev: np.ndarray, dev_gold: np.ndarray, test: np.ndarray, test_gold: np.ndarray, labels: Sequence[str]
) -> dict[str, float]:
    """Test macro-F1 at 0.5 and with thresholds tuned on dev."""
    from spacy_goemotions.evaluation import tune_thresholds

    tuned = tune_thresholds(dev, dev_gold, labels)["thresholds"]
    return {"at_0.5": macro_f1(test, test_gold, labels, 0.5), "tuned_on_dev": macro_f1(test, test_gold, labels, tuned)}


# --- quality ----------------------------------------------------------------------------------


def quality(args: argparse.Namespace) -> dict[str, Any]:
    from spacy_goemotions import GOEMOTIONS_LABELS, EmotionClassifier
    from spacy_goemotions.core.taxonomies import load_taxonomy

    data = Path(args.data_dir)
    labels = tuple(GOEMOTIONS_LABELS)
    train_texts, train_gold = read_split(data / "train.tsv", labels, args.train_limit)
    dev_texts, dev_gold = read_split(data / "dev.tsv", labels)
    test_texts, test_gold = read_split(data / "test.tsv", labels)
    splits = {"dev": dev_texts, "test": test_texts}
    model = resolve_model(args, Path(tempfile.mkdtemp(prefix="goemotions-finetune-model-")))
    starting = EmotionClassifier(model, dtype="float32", backend="torch", progress=False)
    start_scores = {split: starting.scores(texts, progress=False) for split, texts in splits.items()}
    training = {"learning_rate": args.learning_rate, "autocast": args.autocast, "positive_weight": args.positive_weight}
    ekman = load_taxonomy("ekman")
    rows: list[dict[str, Any]] = []

    def record(name: str, what: str, chosen: Sequence[str], baseline: dict[str, float], run: tuple[Any, float, int],
               dev_g: np.ndarray, test_g: np.ndarray, examples: int) -> None:  # fmt: skip
        nlp, seconds, steps = run
        scores = saved_scores(nlp, splits)
        trained = f1_pair(scores["dev"], dev_g, scores["test"], test_g, chosen)
        rows.append({"experiment": name, "what": what, "labels": len(chosen), "train_examples": examples, "steps": steps,
                     "minutes": round(seconds / 60, 2), "baseline": baseline, "trained": trained})  # fmt: skip
        print(f"{name}: baseline {baseline} -> trained {trained} in {seconds / 60:.1f} min", flush=True)

    # (a) one more epoch on the 28 labels
    baseline = f1_pair(start_scores["dev"], dev_gold, start_scores["test"], test_gold, labels)
    run = train_pipeline(model, train_texts, train_gold, labels, epochs=1, batch_size=args.batch_size, training=training)
    record("more-28", "one more epoch, the 28 labels", labels, baseline, run, dev_gold, test_gold, len(train_texts))

    # (b) Ekman's groups as the label set to train; baseline: max of member scores
    groups = ekman.group_names
    dev_e, test_e = ekman_gold(dev_gold), ekman_gold(test_gold)
    group_scores = {split: ekman.scores(scores, labels) for split, scores in start_scores.items()}
    baseline = f1_pair(group_scores["dev"], dev_e, group_scores["test"], test_e, groups)
    run = train_pipeline(
        model, train_texts, ekman_gold(train_gold), groups, epochs=1, batch_size=args.batch_size, training=training
    )
    record("ekman-new-set", "Ekman 6 + neutral trained as the label set", groups, baseline, run, dev_e, test_e, len(train_texts))

    # (c) low data: 500 examples of a label subset
    columns = [labels.index(label) for label in SUBSET]
    pick = sorted(random.Random(0).sample(range(len(train_texts)), args.low_data))
    sub_train = ([train_texts[i] for i in pick], train_gold[pick][:, columns])
    dev_s, test_s = dev_gold[:, columns], test_gold[:, columns]
    baseline = f1_pair(start_scores["dev"][:, columns], dev_s, start_scores["test"][:, columns], test_s, SUBSET)
    run = train_pipeline(model, *sub_train, SUBSET, epochs=args.low_data_epochs, batch_size=16, training=training)
    record("low-data-subset", f"{args.low_data} examples, {len(SUBSET)} labels, {args.low_data_epochs} epochs",
           SUBSET, baseline, run, dev_s, test_s, args.low_data)  # fmt: skip
    return {"rows": rows, "settings": {**training, "batch_size": args.batch_size, "seed": 0, "subset": list(SUBSET)}}


def quality_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| experiment | labels | train examples | minutes | test macro-F1 at 0.5: start → trained "
        "| tuned on dev: start → trained |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        b, t = row["baseline"], row["trained"]
        lines.append(
            f"| {row['what']} | {row['labels']} | {row['train_examples']:,} | {row['minutes']:.1f} | "
            f"{b['at_0.5']:.4f} → {t['at_0.5']:.4f} | {b['tuned_on_dev']:.4f} → {t['tuned_on_dev']:.4f} |"
        )
    return "\n".join(lines)


# --- throughput -------------------------------------------------------------------------------


def one_throughput(args: argparse.Namespace) -> dict[str, Any]:
    """Steps of nlp.update on the first texts of the file, after warm-up steps; in this process."""
    import torch

    from spacy_goemotions import GOEMOTIONS_LABELS

    if args.threads:
        torch.set_num_threads(args.threads)
    texts, gold = read_split(Path(args.data), GOEMOTIONS_LABELS, (args.steps + args.warmup) * args.batch_size)
    model = resolve_model(args, Path(tempfile.mkdtemp(prefix="goemotions-finetune-model-")))
    training = {"learning_rate": 3e-5, "autocast": args.autocast}
    warm = args.warmup * args.batch_size
    nlp, _, _ = train_pipeline(model, texts[:warm], gold[:warm], GOEMOTIONS_LABELS, epochs=1, batch_size=args.batch_size,
                               training=training)  # fmt: skip
    component = nlp.get_pipe("goemotions")
    tokenizer = component._trainer.tokenizer
    tokens = sum(len(ids) for ids in tokenizer(texts[warm:], truncation=True, max_length=512)["input_ids"])
    from spacy.training import Example

    examples = [
        Example.from_dict(nlp.make_doc(text), {"cats": dict(zip(GOEMOTIONS_LABELS, map(float, row), strict=True))})
        for text, row in zip(texts[warm:], gold[warm:], strict=True)
    ]
    started = time.perf_counter()
    for start in range(0, len(examples), args.batch_size):
        nlp.update(examples[start : start + args.batch_size])
    seconds = time.perf_counter() - started
    parameters = sum(p.numel() for p in component.model.parameters())
    return {
        "autocast": args.autocast,
        "precision": "bfloat16 autocast" if component._trainer.autocast_dtype is not None else "float32",
        "examples": len(examples),
        "steps": -(-len(examples) // args.batch_size),
        "batch_size": args.batch_size,
        "examples_per_s": round(len(examples) / seconds, 1),
        "tokens_per_s": round(tokens / seconds),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "parameters": parameters,
        "threads": torch.get_num_threads(),
    }


def throughput(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    """Each autocast setting in a fresh process (peak memory is per process)."""
    rows = []
    for autocast in args.autocasts.split(","):
        command = [sys.executable, __file__, *argv, "--one", "--autocast", autocast]
        done = subprocess.run(command, capture_output=True, text=True, check=False, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        if done.returncode != 0:
            raise SystemExit(f"throughput with autocast={autocast} failed:\n{done.stderr[-3000:]}")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"autocast={autocast}: {rows[-1]['examples_per_s']} examples/s", flush=True)
    return {"rows": rows}


def throughput_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| precision | examples/s | tokens/s | peak RSS (MB) | steps x batch | threads |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['precision']} | {row['examples_per_s']:.1f} | {row['tokens_per_s']:,} | {row['peak_rss_mb']:,} | "
            f"{row['steps']} x {row['batch_size']} | {row['threads']} |"
        )
    return "\n".join(lines)


# --- main -------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    import torch

    return {"cpu": cpu_model(), "cpu_bf16_units": cpu_bf16_units(), "cores": os.cpu_count(), "torch": torch.__version__}


def cpu_model() -> str:
    """The CPU's model name (Linux), else what the platform says."""
    try:
        line = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
        return line.split(":", 1)[1].strip()
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    speed = commands.add_parser("throughput", help="examples/s and peak RSS of training steps")
    speed.add_argument("data", help="a GoEmotions-format file (text, label ids, id), e.g. train.tsv")
    speed.add_argument("--steps", type=int, default=100, help="timed steps (after --warmup steps)")
    speed.add_argument("--warmup", type=int, default=3)
    speed.add_argument("--batch-size", type=int, default=32)
    speed.add_argument("--autocasts", default="off,bfloat16", help="the training.autocast settings to compare")
    speed.add_argument("--autocast", default="off", help=argparse.SUPPRESS)
    speed.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    speed.add_argument("--threads", type=int, default=None)
    gains = commands.add_parser("quality", help="test macro-F1 before and after training, three experiments")
    gains.add_argument("data_dir", help="folder with train.tsv, dev.tsv and test.tsv (GoEmotions format)")
    gains.add_argument("--train-limit", type=int, default=None, help="use the first N training examples (a quick run)")
    gains.add_argument("--batch-size", type=int, default=32)
    gains.add_argument("--learning-rate", type=float, default=1e-4)
    gains.add_argument("--autocast", default="auto")
    gains.add_argument("--positive-weight", default="balanced", choices=["none", "balanced"],
                       help="the training setting positive_weight (default: balanced, the starting model's recipe)")  # fmt: skip
    gains.add_argument("--low-data", type=int, default=500)
    gains.add_argument("--low-data-epochs", type=int, default=5)
    for sub in (speed, gains):
        sub.add_argument("--model", help="bundled name, local directory or hub id of the starting model")
        sub.add_argument("--skeleton", help="config.json of a model to build with random weights (needs --tokenizer)")
        sub.add_argument("--tokenizer")
        sub.add_argument("--json", dest="json_out")
    args = parser.parse_args(argv)
    if args.command == "throughput" and args.one:
        print(json.dumps(one_throughput(args)))
        return 0
    model_name = args.model or f"skeleton of {args.skeleton}"
    if args.command == "throughput":
        result = throughput(args, argv)
        table = throughput_table(result["rows"])
    else:
        result = quality(args)
        table = quality_table(result["rows"])
    command = "python benchmarks/finetune.py " + " ".join(argv)
    result = {"benchmark": f"finetune {args.command}", "model": model_name, "machine": machine(), "command": command,
              "date": time.strftime("%Y-%m-%d"), **result}  # fmt: skip
    print(table)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
