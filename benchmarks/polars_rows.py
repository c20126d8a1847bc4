"""Rows/s of Polars' ``df.emotions.classify`` against the pandas accessor on the same rows, in ONE process.

The engines share one loaded model and run alternately in rounds, so they meet the same machine load
and their ratio means something even on a busy machine. The rows are short (3-10 words) drawn from a
40-word vocabulary: 92% of 1M such rows are distinct, so the core's duplicate removal does not make
the run trivial. ``--pool N`` draws every row from N such texts instead: the core removes duplicates
within windows of 65,536 rows, so a pool well below that leaves mostly the adapters' per-row work. The
table says how many rows were distinct.

    python benchmarks/polars_rows.py --rows 1000000 --model goemotions-small --threads 2
    python benchmarks/polars_rows.py --rows 1000000 --pool 1000 --threads 2   # the adapters' own cost

Engines (``--engines``):
  core           EmotionClassifier.scores(texts) on a Python list: the model's share, no table built
  pandas         pandas_df.emotions.classify("text") (pandas' default string column)
  polars         polars_df.emotions.classify("text")
  polars-lazy    polars_df.lazy().emotions.classify("text").collect(engine="streaming")
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from memory import VOCABULARY  # noqa: E402  (same folder: scripts run as python benchmarks/polars_rows.py)


def short_texts(rows: int, pool: int | None, seed: int = 0) -> list[str]:
    """``rows`` texts of 3-10 random words; with ``pool``, each row is one of ``pool`` such texts."""
    import numpy as np

    rng = np.random.default_rng(seed)
    made = pool or rows
    counts = rng.integers(3, 11, size=made)
    words = rng.integers(0, len(VOCABULARY), size=int(counts.sum()))
    texts, start = [], 0
    for count in counts:
        texts.append(" ".join(VOCABULARY[w] for w in words[start : start + count]))
        start += count
    if pool:
        texts = [texts[i] for i in rng.integers(0, pool, size=rows)]
    return texts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pool", type=int, default=None, help="draw every row from this many texts (default: no pool)")
    parser.add_argument("--model", default="goemotions-small")
    parser.add_argument("--engines", default="core,pandas,polars,polars-lazy")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--backend", default="torch", help="fixed, so that no engine pays a conversion the others reuse")
    parser.add_argument("--json", dest="json_out", help="also write the results as JSON here")
    args = parser.parse_args(argv)

    import numpy as np
    import pandas as pd
    import polars as pl
    import torch

    import spacy_goemotions  # noqa: F401  (registers pandas' and Polars' .emotions)
    from spacy_goemotions import EmotionClassifier

    if args.threads:
        torch.set_num_threads(args.threads)
    # compile=False: a cold torch.compile (the default for large bf16 runs) would land in whichever engine runs first
    options: dict[str, Any] = {"model": args.model, "dtype": args.dtype, "backend": args.backend, "compile": False}
    texts = short_texts(args.rows, args.pool)
    pandas_frame = pd.DataFrame({"text": texts})
    polars_frame = pl.DataFrame({"text": texts})
    classifier = EmotionClassifier(**options, progress=False)
    labels = list(classifier.labels)
    tokens = float(np.mean([len(ids) for ids in classifier.loaded.tokenizer(texts[:10_000])["input_ids"]]))

    def as_result(frame: Any) -> tuple[np.ndarray, list[list[str]]]:
        if isinstance(frame, pl.DataFrame):
            return frame.select(labels).to_numpy(), frame["emotions"].to_list()
        return frame[labels].to_numpy(np.float32), frame["emotions"].tolist()

    call = {**options, "progress": False}
    engines: dict[str, Callable[[], Any]] = {
        "core": lambda: (classifier.scores(texts), None),
        "pandas": lambda: as_result(pandas_frame.emotions.classify("text", **call)),
        "polars": lambda: as_result(polars_frame.emotions.classify("text", **call)),
        "polars-lazy": lambda: as_result(polars_frame.lazy().emotions.classify("text", **call).collect(engine="streaming")),
    }
    chosen = {name: engines[name] for name in args.engines.split(",")}
    for name in chosen:  # warm-up, not timed: the model loads once, shared by all
        print(f"[{time.strftime('%H:%M:%S')}] warm-up {name}", file=sys.stderr, flush=True)
        if name == "core":
            classifier.scores(texts[:64])
        elif name == "pandas":
            pandas_frame.head(64).emotions.classify("text", **call)
        else:
            polars_frame.head(64).lazy().emotions.classify("text", **call).collect(engine="streaming")
            polars_frame.head(64).emotions.classify("text", **call)
    seconds: dict[str, list[float]] = {name: [] for name in chosen}
    results: dict[str, tuple[np.ndarray, list[list[str]] | None]] = {}
    for round_number in range(args.rounds):
        order = list(chosen) if round_number % 2 == 0 else list(chosen)[::-1]
        for name in order:
            print(f"[{time.strftime('%H:%M:%S')}] round {round_number + 1}: {name}", file=sys.stderr, flush=True)
            started = time.perf_counter()
            results[name] = chosen[name]()
            seconds[name].append(time.perf_counter() - started)
            print(f"[{time.strftime('%H:%M:%S')}]   {name}: {seconds[name][-1]:.1f} s", file=sys.stderr, flush=True)
    load = os.getloadavg()[0]
    distinct = len(set(texts))

    baseline = "pandas" if "pandas" in chosen else next(iter(chosen))
    base_median = statistics.median(seconds[baseline])
    rows = []
    for name, values in seconds.items():
        median = statistics.median(values)
        scores, lists = results[name]
        base_scores, base_lists = results[baseline]
        row: dict[str, Any] = {
            "engine": name,
            "seconds": median,
            "rows_per_s": args.rows / median,
            "vs_baseline": base_median / median,
        }
        row["max_abs_diff"] = float(np.nanmax(np.abs(scores - base_scores)))
        if lists is not None and base_lists is not None:
            row["labels_equal"] = float(np.mean([a == b for a, b in zip(lists, base_lists, strict=True)]))
        rows.append(row)
    print(f"{args.rows:,} rows ({distinct:,} distinct, {tokens:.1f} tokens/text), model {args.model}, "
          f"{args.dtype} on {args.backend}, torch threads {torch.get_num_threads()}, {args.rounds} round(s), "
          f"1-min load at the end {load:.1f}\n")  # fmt: skip
    print(f"| engine | median s | rows/s | x {baseline} | max abs diff vs {baseline} | label lists equal |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        equal = f"{row['labels_equal']:.2%}" if "labels_equal" in row else "n/a"
        print(f"| {row['engine']} | {row['seconds']:.1f} | {row['rows_per_s']:,.0f} | {row['vs_baseline']:.2f} | "
              f"{row['max_abs_diff']:.1e} | {equal} |")  # fmt: skip
    if args.json_out:
        meta = {"rows": args.rows, "distinct": distinct, "tokens_per_text": tokens, "load": load, **options}
        Path(args.json_out).write_text(json.dumps({"meta": meta, "rows": rows}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
