"""What ``dtype="int8"`` costs in quality: int8 next to float32 on the same labelled texts, in one run.

    python benchmarks/int8_quality.py ../shared/data/goemotions/test.tsv ../shared/data/goemotions/dev.tsv \
        --model goemotions-small --json benchmarks/results/int8-quality-goemotions-small.json

Both precisions score the test texts (and the dev texts, for re-tuned thresholds); the float32 reference
is torch's float32 (the oracle the test suite holds every backend to). Reported:

- labels equal to float32 at threshold 0.5, over all text x label pairs, and the largest score difference;
- macro-F1 at 0.5, with the thresholds shipped with the model (``threshold="tuned"``), and with thresholds
  each precision tunes on its own dev scores (what a user re-tuning for int8 would get).

On a random-init skeleton (``--skeleton CONFIG --tokenizer DIR``) only the agreement means anything, and
it is a harsh bound: random weights leave most scores near 0.5, where any rounding flips a label.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from spacy_goemotions import EmotionClassifier
from spacy_goemotions.core.thresholds import ThresholdPolicy
from spacy_goemotions.evaluation import evaluate_scores, tune_thresholds
from spacy_goemotions.evaluation.datasets import read_dataset


def macro_f1(scores: np.ndarray, gold: np.ndarray, labels: tuple[str, ...], policy: ThresholdPolicy, shipped: Any) -> float:
    return float(evaluate_scores(scores, gold, labels, policy, model_thresholds=shipped).macro.f1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("test", help="labelled texts to evaluate on (GoEmotions TSV, CSV or JSONL)")
    parser.add_argument("dev", help="labelled texts to tune thresholds on")
    parser.add_argument("--model", default="goemotions-small", help="hub id, local directory or bundled name")
    parser.add_argument("--skeleton", help="config.json of a model to build with random weights (needs --tokenizer)")
    parser.add_argument("--tokenizer", help="tokenizer directory for --skeleton")
    parser.add_argument("--calibration-texts", help="text file (one per line) to calibrate on (default: the bundled sample)")
    parser.add_argument("--cache-dir", default="off", help="cache of converted models (default: off, so int8 is built here)")
    parser.add_argument("--json", dest="json_out", help="also write the results as JSON here")
    args = parser.parse_args()

    model = args.model
    if args.skeleton:
        if not args.tokenizer:
            raise SystemExit("--skeleton needs --tokenizer DIR (e.g. ../shared/models/modernbert-base)")
        from spacy_goemotions.testing import build_skeleton_model

        model = str(build_skeleton_model(args.skeleton, args.tokenizer, Path(tempfile.mkdtemp(prefix="goemotions-int8-")) / "skeleton"))
    test, dev = read_dataset(args.test), read_dataset(args.dev)
    common = {"device": "cpu", "progress": False, "cache_dir": args.cache_dir}
    reference = EmotionClassifier(model, backend="torch", dtype="float32", **common)
    labels = reference.labels
    int8_options: dict[str, Any] = {"calibration_texts": args.calibration_texts} if args.calibration_texts else {}
    quantized = EmotionClassifier(model, backend="openvino", dtype="int8", **common, **int8_options)

    started = time.perf_counter()
    quantized.warmup()  # quantization happens here, timed on its own
    quantize_s = time.perf_counter() - started
    scores = {name: (clf.scores(test.texts), clf.scores(dev.texts)) for name, clf in (("float32", reference), ("int8", quantized))}
    gold_test, gold_dev = test.select_labels(labels), dev.select_labels(labels)
    shipped = reference.loaded.shipped_thresholds

    results: dict[str, Any] = {"model": args.model if not args.skeleton else f"skeleton of {args.skeleton}",
                               "test": args.test, "dev": args.dev, "texts": len(test), "quantize_s": round(quantize_s, 1)}  # fmt: skip
    fp32_test, int8_test = scores["float32"][0], scores["int8"][0]
    results["labels_equal_at_0.5"] = float(((fp32_test >= 0.5) == (int8_test >= 0.5)).mean())
    results["max_abs_diff"] = float(np.abs(fp32_test - int8_test).max())
    for name, (test_scores, dev_scores) in scores.items():
        at_half = ThresholdPolicy.from_spec(0.5, labels=labels)
        row = {"macro_f1_at_0.5": macro_f1(test_scores, gold_test, labels, at_half, shipped)}
        if shipped:
            row["macro_f1_shipped_tuned"] = macro_f1(test_scores, gold_test, labels, ThresholdPolicy.from_spec("tuned", labels=labels), shipped)
        tuned = tune_thresholds(dev_scores, gold_dev, labels)["thresholds"]
        row["macro_f1_tuned_on_dev"] = macro_f1(test_scores, gold_test, labels, ThresholdPolicy.from_spec(tuned, labels=labels), shipped)
        results[name] = row

    lines = [f"{results['model']}, {len(test)} texts of {args.test}; int8 quantized in {quantize_s:.1f} s",
             f"labels equal to float32 at 0.5: {results['labels_equal_at_0.5']:.4%} of text x label pairs; "
             f"max |score difference| {results['max_abs_diff']:.3g}", "",
             "| macro-F1 | float32 | int8 | int8 - float32 |", "|---|---|---|---|"]  # fmt: skip
    for key in results["float32"]:
        fp32, int8 = results["float32"][key], results["int8"][key]
        lines.append(f"| {key.removeprefix('macro_f1_')} | {fp32:.4f} | {int8:.4f} | {int8 - fp32:+.4f} |")
    print("\n".join(lines))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json_out}", file=sys.stderr)


if __name__ == "__main__":
    main()
