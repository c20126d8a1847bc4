"""Distillation: a student's quality and speed against its teacher's, side by side in one invocation.

    # goemotions-small (teacher) -> tiny, on unlabelled texts only (GoEmotions train texts without their labels
    # plus the 10k Reddit sample), thresholds tuned on the dev split, both models evaluated on the test split,
    # both timed on the same engine over the same Reddit texts:
    python benchmarks/distill.py quality --teacher goemotions-small --student tiny \\
        --unlabelled ../shared/data/goemotions/train.tsv ../shared/data/reddit/random_sample_10k.csv.gz \\
        --dev ../shared/data/goemotions/dev.tsv --test ../shared/data/goemotions/test.tsv \\
        --speed-texts ../shared/data/reddit/random_sample_10k.csv.gz --json benchmarks/results/distill-small-to-tiny.json

    # the pipeline at base size: the ModernBERT-base skeleton (random weights: quality means nothing) -> small, for
    # a few hundred steps; time per 10k teacher texts and the student's throughput:
    python benchmarks/distill.py base --skeleton ../shared/models/modernbert-base-go-emotions/config.json \\
        --tokenizer ../shared/models/modernbert-base --unlabelled ../shared/data/reddit/random_sample_10k.csv.gz \\
        --texts 2000 --max-steps 300 --json benchmarks/results/distill-base-skeleton.json

    # where a student's time goes: both models' whole scoring and their tokenization alone, best of 3:
    python benchmarks/distill.py speed --teacher goemotions-small --student STUDENT_DIR \
        --unlabelled ../shared/data/reddit/random_sample_10k.csv.gz --json benchmarks/results/distill-speed-breakdown.json

Texts/s are measured by :func:`spacy_goemotions.distillation.distill.measure_speed`: teacher and student one after
the other in this process, each after a warmup, on the engine the teacher's options select (OpenVINO bf16 on a CPU
with bf16). One seed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from annotation_loop import read_texts  # noqa: E402
from finetune import machine  # noqa: E402


def write_unlabelled(paths: list[Path], out: Path, limit: int | None) -> int:
    """The texts of the files (labels dropped), one JSON object per line; how many."""
    texts = [text for path in paths for text in read_texts(path) if text.strip()]
    texts = texts[:limit] if limit else texts
    with out.open("w", encoding="utf-8") as handle:
        for text in texts:
            handle.write(json.dumps({"text": text}) + "\n")
    return len(texts)


def quality(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from spacy_goemotions import EmotionClassifier
    from spacy_goemotions.distillation import DistillSettings, distill
    from spacy_goemotions.distillation.distill import measure_speed
    from spacy_goemotions.evaluation.datasets import read_dataset
    from spacy_goemotions.evaluation.metrics import evaluate_scores

    texts_file = workdir / "unlabelled.jsonl"
    count = write_unlabelled([Path(p) for p in args.unlabelled], texts_file, args.texts)
    settings = DistillSettings(
        student=args.student, epochs=args.epochs, max_steps=args.max_steps, learning_rate=args.learning_rate,
        temperature=args.temperature, seed=args.seed, speed_texts=0,
    )  # fmt: skip
    started = time.perf_counter()
    result = distill(args.teacher, texts_file, workdir / "student", labelled=args.dev, settings=settings)
    seconds = time.perf_counter() - started
    teacher = EmotionClassifier(args.teacher)
    student = EmotionClassifier(result.student_dir)
    test = read_dataset(args.test, labels=teacher.labels)
    gold = test.select_labels(teacher.labels)
    f1 = {}
    for name, classifier in (("teacher", teacher), ("student", student)):
        table = evaluate_scores(
            classifier.scores(test.texts), gold, classifier.labels, classifier.policy("tuned"),
            model_thresholds=classifier.loaded.shipped_thresholds,
        )  # fmt: skip
        f1[name] = round(table.macro.f1, 4)
    speed_texts = read_texts(Path(args.speed_texts))[: args.speed_count]
    speed = measure_speed(teacher, result.student_dir, speed_texts, len(speed_texts))
    return {
        "teacher": args.teacher, "student": args.student, "unlabelled_texts": count, "distill_seconds": round(seconds, 1),
        "record": result.record,
        "test_macro_f1": {**f1, "ratio": round(f1["student"] / f1["teacher"], 3)},
        "speed": {**speed, "texts_file": str(args.speed_texts)},
    }  # fmt: skip


def base(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from spacy_goemotions.distillation import DistillSettings, distill
    from spacy_goemotions.testing import build_skeleton_model

    teacher = build_skeleton_model(args.skeleton, args.tokenizer, workdir / "skeleton")
    texts_file = workdir / "unlabelled.jsonl"
    count = write_unlabelled([Path(p) for p in args.unlabelled], texts_file, args.texts)
    settings = DistillSettings(
        student=args.student, epochs=args.epochs, max_steps=args.max_steps, seed=args.seed, speed_texts=args.speed_count
    )
    result = distill(teacher, texts_file, workdir / "student", settings=settings)
    training = result.record["training"]
    return {
        "teacher": "ModernBERT-base skeleton (random weights)", "student": args.student, "unlabelled_texts": count,
        "teacher_seconds_per_10k_texts": round(training["teacher_scoring_seconds"] * 10_000 / count, 1),
        "training_seconds": training["seconds"], "steps": args.max_steps, "speed": result.record.get("speed"),
        "record": result.record,
    }  # fmt: skip


def speed(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Both models' seconds for the same texts on one engine: the whole scoring and the tokenization alone."""
    from spacy_goemotions import EmotionClassifier
    from spacy_goemotions.core.tokenization import TextEncoder

    texts = list(dict.fromkeys(read_texts(Path(args.unlabelled[0]))))[: args.speed_count]
    rows = []
    for name, model in (("teacher", args.teacher), ("student", args.student)):
        classifier = EmotionClassifier(model, progress=False)
        classifier.scores(texts[:64])  # load, compile, warm up
        encoder = TextEncoder(classifier.loaded.text_tokenizer, classifier.options)
        whole, tokenizing = [], []
        for _ in range(3):
            started = time.perf_counter()
            classifier.scores(texts)
            whole.append(time.perf_counter() - started)
            started = time.perf_counter()
            encoder.encode(texts)
            tokenizing.append(time.perf_counter() - started)
        rows.append({"model": name, "engine": str(classifier.engine), "seconds": round(min(whole), 3),
                     "tokenizing_seconds": round(min(tokenizing), 3),
                     "texts_per_s": round(len(texts) / min(whole), 1)})  # fmt: skip
    teacher, student = rows
    model_only = [row["seconds"] - row["tokenizing_seconds"] for row in rows]
    return {
        "texts": len(texts), "rows": rows, "speedup": round(teacher["seconds"] / student["seconds"], 2),
        "speedup_without_tokenizing": round(model_only[0] / max(model_only[1], 1e-9), 2),
        "ceiling_from_tokenizing": round(teacher["seconds"] / max(student["tokenizing_seconds"], 1e-9), 1),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("quality", "base", "speed"))
    parser.add_argument("--teacher", default="goemotions-small")
    parser.add_argument("--skeleton", help="base: the teacher's config.json (random weights)")
    parser.add_argument("--tokenizer", help="base: the teacher's tokenizer folder")
    parser.add_argument("--student", help="preset or config.json (default: tiny; base: small); speed: a student directory")
    parser.add_argument("--unlabelled", nargs="+", required=True, help="text files (GoEmotions TSV, CSV with body/text)")
    parser.add_argument("--texts", type=int, help="use at most this many texts")
    parser.add_argument("--dev", help="quality: labelled dev data (thresholds)")
    parser.add_argument("--test", help="quality: labelled test data (macro-F1 of both)")
    parser.add_argument("--speed-texts", help="quality: the texts both are timed on (default: the first --unlabelled)")
    parser.add_argument("--speed-count", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-steps", type=int)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    args.student = args.student or ("small" if args.mode == "base" else "tiny")
    args.speed_texts = args.speed_texts or args.unlabelled[-1]
    if args.mode == "quality" and not (args.dev and args.test):
        parser.error("quality needs --dev and --test")
    if args.mode == "base" and not (args.skeleton and args.tokenizer):
        parser.error("base needs --skeleton CONFIG.json and --tokenizer DIR")
    if args.mode == "speed" and not Path(args.student).is_dir():
        parser.error("speed needs --student STUDENT_DIR (a distilled student)")
    with tempfile.TemporaryDirectory(prefix="goemotions-distill-") as folder:
        results = {"quality": quality, "base": base, "speed": speed}[args.mode](args, Path(folder))
    results = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "command": " ".join(["python", "benchmarks/distill.py", *(argv or sys.argv[1:])]), **results}
    print(json.dumps({key: value for key, value in results.items() if key != "record"}, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
