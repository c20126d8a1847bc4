"""How far each reduced-precision engine's scores sit from float32, by text length (up to 512 tokens).

    python benchmarks/precision.py ../shared/data/reddit/random_sample_10k_filtered.csv.gz --column body \\
        --model goemotions-small --limit 400 --json benchmarks/results/precision-small-$(hostname).json

The reference is torch in float32 on the same machine, in the same invocation. For every engine
(``torch:bfloat16``, ``openvino:bfloat16``, ``openvino:float32``, ``openvino:int8`` by default) the
script reports, per bucket of token length, the largest and the 99th-percentile absolute difference of
any score, and the share of text x label decisions at 0.5 equal to float32's. One row per engine and
bucket, plus the CPU's bf16 units (AMX or AVX512-BF16), because bf16 results differ between CPUs.
Each text is also scored alone (``--alone``), which separates the engine's arithmetic from the effect
of padding in a batch.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from throughput import read_texts, resolve_model  # noqa: E402

DEFAULT_ENGINES = "torch:bfloat16,openvino:bfloat16,openvino:float32"
BUCKETS = ((1, 64), (65, 128), (129, 256), (257, 384), (385, 512))


def cpu_bf16_units() -> str:
    """"AMX", "AVX512-BF16" or "none": what multiplies bf16 natively on this CPU (Linux)."""
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown"
    return "AMX" if "amx_bf16" in flags else "AVX512-BF16" if "avx512_bf16" in flags else "none"


def compare(reference: np.ndarray, scores: np.ndarray, lengths: np.ndarray) -> list[dict[str, Any]]:
    rows = []
    for low, high in BUCKETS:
        chosen = (lengths >= low) & (lengths <= high)
        if not chosen.any():
            continue
        difference = np.abs(scores[chosen] - reference[chosen])
        rows.append(
            {
                "tokens": f"{low}-{high}",
                "texts": int(chosen.sum()),
                "max_abs": float(difference.max()),
                "p99_abs": float(np.quantile(difference, 0.99)),
                "labels_equal": float(((scores[chosen] >= 0.5) == (reference[chosen] >= 0.5)).mean()),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", help="csv/tsv/jsonl/parquet file of texts (optionally .gz)")
    parser.add_argument("--column", default="text")
    parser.add_argument("--limit", type=int, default=400)
    parser.add_argument("--model")
    parser.add_argument("--skeleton")
    parser.add_argument("--tokenizer")
    parser.add_argument("--engines", default=DEFAULT_ENGINES)
    parser.add_argument("--alone", action="store_true", help="also score each text on its own (batch of one)")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args(argv)

    import tempfile

    from spacy_goemotions import EmotionClassifier

    texts = read_texts(args.data, args.column, args.limit)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="goemotions-precision-") as tmp:
        model = resolve_model(args, Path(tmp))
        cache = str(Path(tmp) / "cache")
        base = {"device": "cpu", "max_length": 512, "cache_dir": cache, "progress": False}
        reference_classifier = EmotionClassifier(model, backend="torch", dtype="float32", **base)
        reference = reference_classifier.scores(texts)
        tokenizer = reference_classifier.loaded.tokenizer
        lengths = np.array([len(ids) for ids in tokenizer(texts, truncation=True, max_length=512)["input_ids"]])
        for engine in [e.strip() for e in args.engines.split(",") if e.strip()]:
            backend, _, dtype = engine.partition(":")
            classifier = EmotionClassifier(model, backend=backend, dtype=dtype, **base)
            modes = [("batched", classifier.scores(texts))]
            if args.alone:
                modes.append(("alone", np.concatenate([classifier.scores([text]) for text in texts])))
            for mode, scores in modes:
                for row in compare(reference, scores, lengths):
                    results.append({"engine": str(classifier.engine), "mode": mode, **row})
                    print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    units = cpu_bf16_units()
    print(f"Reference: torch float32 on the same machine. CPU bf16 units: {units}. {len(texts)} texts.")
    print("| engine | batched/alone | tokens | texts | max abs diff | p99 abs diff | labels equal @0.5 |")
    print("|---|---|---|---|---|---|---|")
    for row in results:
        print(
            f"| {row['engine']} | {row['mode']} | {row['tokens']} | {row['texts']} | {row['max_abs']:.2e} | "
            f"{row['p99_abs']:.2e} | {row['labels_equal']:.2%} |"
        )
    if args.json_out:
        payload = {"cpu_bf16_units": units, "texts": len(texts), "model": args.model or args.skeleton, "rows": results}
        Path(args.json_out).write_text(json.dumps(payload, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
