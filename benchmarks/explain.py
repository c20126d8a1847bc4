"""What explanations cost: explained texts/s next to plain scoring, on the same texts, in ONE process.

A text of n words is explained with n + 1 scored sequences (leave-one-word-out occlusion), all of them
through the core's batched path. This script scores the texts, explains them (each text's top 3 labels),
alternately for ``--rounds`` rounds on one loaded model, and prints the medians and their ratio:

    python benchmarks/explain.py ../shared/data/reddit/random_sample_10k.csv.gz --column body --limit 200 --model goemotions-small
    python benchmarks/explain.py ../shared/data/reddit/random_sample_10k.csv.gz --column body --limit 200 \\
        --skeleton ../shared/models/modernbert-base-go-emotions/config.json --tokenizer ../shared/models/modernbert-base
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from throughput import add_in_process_arguments, machine_description, read_texts, resolve_model  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_in_process_arguments(parser, limit=200)
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--top-k", type=int, default=3)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    import torch

    import spacy_goemotions
    from spacy_goemotions.core.explanations import MAX_WORDS
    from spacy_goemotions.visual.words import segment

    if args.threads:
        torch.set_num_threads(args.threads)
    texts = read_texts(args.data, args.column, args.limit)
    with tempfile.TemporaryDirectory() as workdir:
        model = resolve_model(args, Path(workdir))
        options = {"model": model, "dtype": args.dtype, "backend": args.backend, "compile": False}
        classifier = spacy_goemotions.get_classifier(**options)
        classifier.scores(texts[:8], progress=False)  # load and warm up outside the timings
        spacy_goemotions.explain(texts[:2], **options)
        words = [sum(not t.is_space for t in item.tokens) for item in segment(texts, MAX_WORDS) if item is not None]
        timings: dict[str, list[float]] = {"score": [], "explain": []}
        for _ in range(args.rounds):
            started = time.perf_counter()
            classifier.scores(texts, progress=False)
            timings["score"].append(time.perf_counter() - started)
            started = time.perf_counter()
            spacy_goemotions.explain(texts, top_k=args.top_k, **options)
            timings["explain"].append(time.perf_counter() - started)
    score_s, explain_s = statistics.median(timings["score"]), statistics.median(timings["explain"])
    result = {
        "texts": len(texts),
        "words_mean": statistics.mean(words),
        "sequences": sum(n + 1 for n in words),
        "model": args.model or args.skeleton,
        "dtype": str(classifier.loaded.dtype),
        "backend": args.backend,
        "threads": torch.get_num_threads(),
        "score_texts_per_s": len(texts) / score_s,
        "explain_texts_per_s": len(texts) / explain_s,
        "explain_over_score": explain_s / score_s,
        "rounds": timings,
        "machine": machine_description(),
    }
    print(f"| {len(texts)} texts, {result['words_mean']:.1f} words on average, {result['sequences']:,} sequences to explain |")
    print("| what | texts/s | seconds (median of rounds) |\n|---|---|---|")
    print(f"| score | {result['score_texts_per_s']:.1f} | {score_s:.2f} |")
    print(f"| explain (top {args.top_k} labels) | {result['explain_texts_per_s']:.2f} | {explain_s:.2f} |")
    print(f"explain / score: {result['explain_over_score']:.1f}x the time")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
