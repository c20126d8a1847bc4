"""Memory benchmark: peak RSS of ``df.emotions.classify`` on 10k / 100k / 1M distinct rows.

Each size runs in a fresh subprocess with a tiny random ModernBERT (the model's size does not
matter here: the question is whether memory grows with the number of rows beyond the input and
output DataFrames themselves). Texts are random word sequences, all distinct, so the core's
deduplication does not hide any cost.

    python benchmarks/memory.py                       # 10k, 100k, 1M rows
    python benchmarks/memory.py --rows 10000,100000   # fewer sizes
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from throughput import peak_rss_mb, rss_mb  # same folder: scripts run as python benchmarks/memory.py

VOCABULARY = (
    "happy sad angry love hate thanks sorry wow great awful funny weird good bad really very so not "
    "this that it is was I you we they game movie food day night work home friend people time"
).split()


def synthetic_texts(rows: int, seed: int = 0) -> list[str]:
    """``rows`` distinct texts of 4-24 random words (distinct: a row number is part of each)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    counts = rng.integers(4, 25, size=rows)
    words = rng.integers(0, len(VOCABULARY), size=int(counts.sum()))
    texts, start = [], 0
    for row, count in enumerate(counts):
        texts.append(" ".join(VOCABULARY[w] for w in words[start : start + count]) + f" #{row}")
        start += count
    return texts


def measure(rows: int, model: str) -> dict[str, float]:
    import pandas as pd

    import spacy_goemotions  # noqa: F401 - registers the accessor

    warm = pd.DataFrame({"text": synthetic_texts(64, seed=1)})
    warm.emotions.classify("text", model=model, progress=False)  # load the model and warm up
    after_model = rss_mb()
    frame = pd.DataFrame({"text": pd.Series(synthetic_texts(rows), dtype=object)})
    after_input = rss_mb()
    input_mb = frame.memory_usage(deep=True).sum() / 2**20
    peak_before = peak_rss_mb()
    started = time.perf_counter()
    out = frame.emotions.classify("text", model=model, progress=False)
    seconds = time.perf_counter() - started
    output_mb = out.memory_usage(deep=True).sum() / 2**20 - input_mb  # the added score and label columns
    peak = peak_rss_mb()
    return {
        "rows": rows, "seconds": seconds, "rss_after_model_mb": after_model, "input_frame_mb": input_mb,
        "rss_after_input_mb": after_input, "output_columns_mb": output_mb, "peak_rss_mb": max(peak, peak_before),
        "peak_growth_mb": max(peak, peak_before) - after_input, "growth_beyond_output_mb": max(peak, peak_before) - after_input - output_mb,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="10000,100000,1000000", help="comma-separated row counts")
    parser.add_argument("--model", help="model directory (default: a tiny random ModernBERT built here)")
    parser.add_argument("--json", dest="json_out", help="also write the results as JSON here")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: a loaded shared machine makes 2 OpenMP threads thrash)")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)  # internal: ROWS MODEL THREADS
    args = parser.parse_args(argv)
    if args.worker:
        import torch

        torch.set_num_threads(int(args.worker[2]))
        print(json.dumps(measure(int(args.worker[0]), args.worker[1])))
        return 0
    results = []
    with tempfile.TemporaryDirectory(prefix="goemotions-mem-") as tmp:
        model = args.model
        if model is None:
            from spacy_goemotions.testing import build_tiny_model

            model = str(build_tiny_model(Path(tmp) / "tiny"))
        for rows in (int(r) for r in args.rows.split(",")):
            print(f"[{time.strftime('%H:%M:%S')}] {rows} rows (load {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
            done = subprocess.run([sys.executable, __file__, "--worker", str(rows), model, str(args.threads)], capture_output=True, text=True, check=True)
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print("| rows | seconds | RSS after model MB | input frame MB | output columns MB | peak RSS MB | peak growth over input MB | growth beyond output columns MB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['rows']:,} | {r['seconds']:.0f} | {r['rss_after_model_mb']:.0f} | {r['input_frame_mb']:.0f} | {r['output_columns_mb']:.0f} | "
              f"{r['peak_rss_mb']:.0f} | {r['peak_growth_mb']:.0f} | {r['growth_beyond_output_mb']:.0f} |")  # fmt: skip
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
