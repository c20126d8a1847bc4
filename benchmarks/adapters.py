"""Adapter overhead: core vs pandas accessor vs spaCy ``nlp.pipe`` on the same texts, in ONE process.

The three share one loaded model; running them alternately in rounds puts each under the same
machine load, so their ratio is meaningful even on a busy machine (separate processes run minutes
apart are not comparable there).

    python benchmarks/adapters.py ../shared/data/reddit/random_sample_10k.csv.gz --column body --limit 1000 \\
        --skeleton ../shared/models/modernbert-base-go-emotions/config.json --tokenizer ../shared/models/modernbert-base
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from throughput import add_in_process_arguments, read_texts  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_in_process_arguments(parser, limit=1000)
    args = parser.parse_args(argv)

    import numpy as np
    import pandas as pd
    import spacy
    import torch

    from spacy_goemotions import EmotionClassifier

    if args.threads:
        torch.set_num_threads(args.threads)
    texts = read_texts(args.data, args.column, args.limit)
    with tempfile.TemporaryDirectory(prefix="goemotions-adapters-") as tmp:
        model = args.model
        if args.skeleton:
            from spacy_goemotions.testing import build_skeleton_model

            model = str(build_skeleton_model(args.skeleton, args.tokenizer, Path(tmp) / "skeleton"))
        options = {"device": "auto", "dtype": args.dtype, "batch_size": 256, "max_tokens": None}
        classifier = EmotionClassifier(model, **options, progress=False)
        frame = pd.DataFrame({"text": texts})
        nlp = spacy.blank("en")
        nlp.add_pipe("goemotions", config={"model": model, **options})
        labels = list(classifier.labels)
        engines = {
            "core": lambda: classifier.scores(texts),
            "pandas": lambda: frame.emotions.classify("text", model=model, progress=False, **options)[labels].to_numpy(np.float32),
            "spacy": lambda: np.array([[d.cats[name] for name in labels] for d in nlp.pipe(texts)], dtype=np.float32),
        }  # fmt: skip
        # warm-up (not timed): the model loads once, shared by all three
        classifier.scores(texts[:16])
        frame.head(16).emotions.classify("text", model=model, progress=False, **options)
        list(nlp.pipe(texts[:16]))
        seconds: dict[str, list[float]] = {name: [] for name in engines}
        results = {}
        for round_number in range(args.rounds):
            order = list(engines) if round_number % 2 == 0 else list(engines)[::-1]
            for name in order:
                started = time.perf_counter()
                results[name] = engines[name]()
                seconds[name].append(time.perf_counter() - started)
        load = os.getloadavg()[0]
    core_median = statistics.median(seconds["core"])
    print(f"{len(texts)} texts, {args.rounds} alternating rounds, dtype {classifier.loaded.dtype}, "
          f"torch threads {torch.get_num_threads()}, 1-min load at the end {load:.1f}\n")  # fmt: skip
    print("| adapter | median s | texts/s | vs core | max abs diff vs core |")
    print("|---|---|---|---|---|")
    for name, values in seconds.items():
        median = statistics.median(values)
        diff = float(np.abs(results[name] - results["core"]).max())
        print(f"| {name} | {median:.1f} | {len(texts) / median:.1f} | {core_median / median:.2f} | {diff:.1e} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
