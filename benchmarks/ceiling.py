"""The matrix-multiply ceiling of this machine for a ModernBERT config: texts/s if nothing but the
encoder's weight matrix products ran, at full speed, on perfectly packed batches.

It times ``torch.matmul`` on the exact weight shapes of every layer (Wqkv, attention output, the GLU
input and output projections, the head) for ``--tokens`` rows at a time, in each dtype, with the
torch threads given, and divides by the tokens per text. Attention scores, norms, activations,
tokenization and padding are all left out, so no real engine can reach this figure; the
ratio "engine texts/s / ceiling" says how much headroom is left.

    python benchmarks/ceiling.py --config ../shared/models/modernbert-base-go-emotions/config.json \\
        --tokens-per-text 47 --threads 2
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch


def weight_shapes(config: dict[str, int]) -> list[tuple[int, int, int]]:
    """(in_features, out_features, count) of every weight matrix a token passes through."""
    hidden, inter, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    return [
        (hidden, 3 * hidden, layers),  # Wqkv
        (hidden, hidden, layers),  # attention output
        (hidden, 2 * inter, layers),  # GLU input (gate and value)
        (inter, hidden, layers),  # MLP output
        (hidden, hidden, 1),  # classification head dense
    ]


def seconds_per_token(shapes: list[tuple[int, int, int]], tokens: int, dtype: torch.dtype, repeats: int) -> float:
    total = 0.0
    for fan_in, fan_out, count in shapes:
        x = torch.randn(tokens, fan_in).to(dtype)
        w = torch.randn(fan_in, fan_out).to(dtype)
        for _ in range(3):  # warm-up (oneDNN picks and caches its kernel)
            torch.matmul(x, w)
        started = time.perf_counter()
        for _ in range(repeats):
            torch.matmul(x, w)
        total += (time.perf_counter() - started) / repeats * count
    return total / tokens


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="a model's config.json (ModernBERT)")
    parser.add_argument("--tokens-per-text", type=float, default=47.0,
                        help="mean tokens per text incl. [CLS]/[SEP] (default 47: random_sample_10k)")  # fmt: skip
    parser.add_argument("--tokens", type=int, default=4096, help="rows per matrix product (the CPU token budget; default 4096)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--dtypes", default="float32,bfloat16")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    config = json.loads(Path(args.config).read_text(encoding="utf-8"))
    shapes = weight_shapes(config)
    flops_per_token = 2 * sum(i * o * n for i, o, n in shapes)
    print(f"{flops_per_token / 1e6:.0f} MFLOP per token in weight products; {args.tokens_per_text:g} tokens per text; "
          f"{args.threads} thread(s); {args.tokens} tokens per product")  # fmt: skip
    print("| dtype | GFLOP/s | ceiling texts/s |")
    print("|---|---|---|")
    with torch.inference_mode():
        for name in args.dtypes.split(","):
            per_token = seconds_per_token(shapes, args.tokens, getattr(torch, name), args.repeats)
            print(f"| {name} | {flops_per_token / per_token / 1e9:.0f} | {1 / (per_token * args.tokens_per_text):.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
