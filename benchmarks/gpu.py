"""The prepared GPU benchmark: one script, the repository alone, one GPU, under 10 minutes.

    bash benchmarks/gpu.sh                      # on the GPU machine (see gpu.sh: nothing is downloaded)
    python benchmarks/gpu.py --dry-run --json /tmp/gpu-dry-run.json   # on a CPU: what CI runs

It needs no ``../shared`` and no network: the model is ModernBERT-base's architecture (22 layers, 768 wide, the
local window of 128: written below, from the real model's config) with random weights and the bundled
``goemotions-small`` tokenizer; the texts are 10,000 generated ones, sentences of the bundled calibration texts
strung to Reddit-like lengths (lognormal, seeded). Each mode runs in this process after a warm-up, best of 3:

- ``padded``: ``packing=False``, eager; ``packed``: ``packing=None`` (flash-attn's varlen kernel where it runs:
  the row says whether it did, and why not); ``compiled``: ``compile=True``, padded.
- ``pipeline``: ``transformers.pipeline`` with ``batch_size=1`` on 500 of the texts, float32 (the model card's
  usage), for the ratio only.

Each row records texts/s, the seconds of each round, the time inside the model's forward measured with CUDA events
(``device_s``; the rest of the wall time is the host's: tokenizing, planning, copying), padding efficiency, what ran
(engine, packed, compiled) and the versions. ``--dry-run`` runs the same on a tiny model, 200 texts, the CPU, one
round: it checks that the script works, not the speed.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: ModernBERT-base's architecture, as cirimus/modernbert-base-go-emotions' config.json has it.
BASE_ARCHITECTURE = {
    "hidden_size": 768, "num_hidden_layers": 22, "num_attention_heads": 12, "intermediate_size": 1152,
    "local_attention": 128, "global_attn_every_n_layers": 3, "global_rope_theta": 160000.0,
    "local_rope_theta": 10000.0, "max_position_embeddings": 8192, "classifier_pooling": "mean",
    "classifier_activation": "gelu", "hidden_activation": "gelu",
}  # fmt: skip


def generated_texts(count: int, seed: int = 0) -> list[str]:
    """``count`` texts of the bundled calibration sentences strung to Reddit-like lengths (median ~25 words)."""
    source = (ROOT / "spacy_goemotions" / "data" / "calibration_texts.txt").read_text(encoding="utf-8").splitlines()
    rng = random.Random(seed)
    texts = []
    for index in range(count):
        words = min(int(rng.lognormvariate(3.2, 0.9)) + 1, 400)
        parts: list[str] = []
        while sum(len(part.split()) for part in parts) < words:
            parts.append(rng.choice(source))
        text = " ".join(" ".join(parts).split()[:words])
        texts.append(f"{text} #{index}")  # distinct: the core would score a repeated text once
    return texts


def build_model(folder: Path, dry_run: bool) -> str:
    """The model to time: ModernBERT-base-shaped with random weights, or (dry run) a tiny one."""
    from spacy_goemotions.core.loading import BUNDLED_MODELS_DIR
    from spacy_goemotions.testing import build_skeleton_model, build_tiny_model

    if dry_run:
        return str(build_tiny_model(folder / "tiny"))
    tokenizer = BUNDLED_MODELS_DIR / "goemotions-small"
    config = json.loads((tokenizer / "config.json").read_text(encoding="utf-8"))
    config = {key: value for key, value in config.items() if key not in ("layer_types", "_name_or_path")}
    config.update(BASE_ARCHITECTURE)
    config_file = folder / "config.json"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    return str(build_skeleton_model(config_file, tokenizer, folder / "base"))


class ForwardTimer:
    """Time inside the backend's forward: CUDA events on a GPU (read after the run), the wall clock elsewhere."""

    def __init__(self, classifier: Any) -> None:
        import torch

        self.cuda = classifier.loaded.device_type == "cuda"
        self.events: list[tuple[Any, Any]] = []
        self.seconds = 0.0
        backend = classifier.backend
        forward = backend.forward

        def timed(prepared: Any, module: Any) -> Any:
            if self.cuda:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                scores = forward(prepared, module)
                end.record()
                self.events.append((start, end))
                return scores
            started = time.perf_counter()
            scores = forward(prepared, module)
            self.seconds += time.perf_counter() - started
            return scores

        backend.forward = timed

    def take(self) -> float:
        """Seconds inside the forward since the last call."""
        if self.cuda:
            import torch

            torch.cuda.synchronize()
            seconds = sum(start.elapsed_time(end) for start, end in self.events) / 1000
            self.events.clear()
            return float(seconds)
        seconds, self.seconds = self.seconds, 0.0
        return seconds


def time_mode(mode: str, model: str, texts: list[str], rounds: int, device: str, dtype: str) -> dict[str, Any]:
    """One mode of the core, warmed up, timed ``rounds`` times on all the texts."""
    from spacy_goemotions import EmotionClassifier

    options: dict[str, Any] = {"backend": "torch", "device": device, "dtype": dtype, "progress": False}
    options.update({"padded": {"packing": False, "compile": False}, "packed": {"packing": None, "compile": False},
                    "compiled": {"packing": False, "compile": True}}[mode])  # fmt: skip
    row: dict[str, Any] = {"mode": mode}
    try:
        classifier = EmotionClassifier(model, **options)
        warmup_started = time.perf_counter()
        classifier.warmup()
        classifier.scores(texts[:256])
        row["warmup_s"] = round(time.perf_counter() - warmup_started, 2)
        timer = ForwardTimer(classifier)
        seconds, device_seconds, stats = [], [], None
        for _ in range(rounds):
            started = time.perf_counter()
            result = classifier.run(texts)
            seconds.append(time.perf_counter() - started)
            device_seconds.append(timer.take())
            stats = result.stats
    except Exception as error:  # noqa: BLE001 - a mode that fails is a row that says why, not a lost benchmark
        return {**row, "error": f"{type(error).__name__}: {error}"[:500]}
    best = int(np.argmin(seconds))
    assert stats is not None
    row.update({
        "texts_per_s": round(len(texts) / seconds[best], 1), "seconds": [round(s, 3) for s in seconds],
        "device_s": round(device_seconds[best], 3), "host_s": round(seconds[best] - device_seconds[best], 3),
        "padding_efficiency": round(stats.padding_efficiency, 4), "tokens_per_text": round(stats.real_tokens / len(texts), 1),
        "engine": str(stats.engine), "packed": stats.packed, "compiled": stats.compiled, "batches": stats.batches,
    })  # fmt: skip
    if mode == "packed" and not stats.packed:
        row["why_not_packed"] = packing_refusal(classifier)
    return row


def packing_refusal(classifier: Any) -> str | None:
    from spacy_goemotions.backends.torch_packed import packing_refusal as refusal

    loaded = classifier.loaded
    return refusal(loaded.model, loaded.device, loaded.dtype_name)


def time_pipeline(model: str, texts: list[str], device: str) -> dict[str, Any]:
    """``transformers.pipeline`` as the model card calls it: float32, one text at a time."""
    import torch
    from transformers import pipeline

    classify = pipeline("text-classification", model=model, top_k=None, function_to_apply="sigmoid",
                        device=torch.device(device), dtype=torch.float32)  # fmt: skip
    classify(texts[:8], batch_size=1)
    started = time.perf_counter()
    classify(texts, batch_size=1)
    seconds = time.perf_counter() - started
    return {"mode": "pipeline", "texts": len(texts), "texts_per_s": round(len(texts) / seconds, 1), "seconds": [round(seconds, 3)]}


def machine(device: str) -> dict[str, Any]:
    import torch
    import transformers

    found: dict[str, Any] = {"python": platform.python_version(), "torch": torch.__version__,
                             "transformers": transformers.__version__, "cuda": torch.version.cuda, "device": device}  # fmt: skip
    try:
        import flash_attn

        found["flash_attn"] = flash_attn.__version__
    except Exception as error:  # noqa: BLE001 - not installed, or built for another torch: both are figures
        found["flash_attn"] = f"not available ({type(error).__name__})"
    if device.startswith("cuda"):
        found["gpu"] = torch.cuda.get_device_name(device)
        found["capability"] = ".".join(map(str, torch.cuda.get_device_capability(device)))
        found["gpu_memory_gb"] = round(torch.cuda.get_device_properties(device).total_memory / 2**30, 1)
    return found


def table(rows: list[dict[str, Any]]) -> str:
    pipeline_speed = next((row["texts_per_s"] for row in rows if row["mode"] == "pipeline" and "texts_per_s" in row), None)
    lines = ["| mode | texts/s | × pipeline bs=1 | in forward s | host s | padding eff. | engine | packed | compiled |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['mode']} | error: {row['error'][:120]} | | | | | | | |")
            continue
        ratio = f"{row['texts_per_s'] / pipeline_speed:.1f}" if pipeline_speed else ""
        lines.append(f"| {row['mode']} | {row['texts_per_s']:,.1f} | {ratio} | {row.get('device_s', '')} | "
                     f"{row.get('host_s', '')} | {row.get('padding_efficiency', '')} | {row.get('engine', '')} | "
                     f"{row.get('packed', '')} | {row.get('compiled', '')} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="a tiny model, 200 texts, the CPU, one round (CI)")
    parser.add_argument("--texts", type=int, help="texts to time (default: 10,000; dry run: 200)")
    parser.add_argument("--rounds", type=int, help="timed rounds per mode, the best is kept (default: 3; dry run: 1)")
    parser.add_argument("--modes", help="default: padded,packed,compiled (dry run: padded,packed; compiling on a CPU "
                        "takes minutes)")
    parser.add_argument("--device", help="default: cuda (dry run: cpu)")
    parser.add_argument("--dtype", default="auto", help="default: auto (bf16 on GPUs of compute capability 8+)")
    parser.add_argument("--pipeline-texts", type=int, help="texts for pipeline bs=1 (default: 500; dry run: 20; 0: none)")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    device = args.device or ("cpu" if args.dry_run else "cuda")
    count = args.texts or (200 if args.dry_run else 10_000)
    rounds = args.rounds or (1 if args.dry_run else 3)
    modes = args.modes or ("padded,packed" if args.dry_run else "padded,packed,compiled")
    pipeline_count = args.pipeline_texts if args.pipeline_texts is not None else (20 if args.dry_run else 500)
    started = time.perf_counter()
    texts = generated_texts(count)
    with tempfile.TemporaryDirectory(prefix="goemotions-gpu-") as folder:
        model = build_model(Path(folder), args.dry_run)
        rows = []
        for mode in [m.strip() for m in modes.split(",") if m.strip()]:
            rows.append(time_mode(mode, model, texts, rounds, device, args.dtype))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        if pipeline_count:
            rows.append(time_pipeline(model, texts[:pipeline_count], device))
    result = {"dry_run": args.dry_run, "texts": count, "rounds": rounds, "machine": machine(device), "rows": rows,
              "date": time.strftime("%Y-%m-%d"), "seconds": round(time.perf_counter() - started, 1),
              "command": " ".join(["python", "benchmarks/gpu.py", *(argv if argv is not None else sys.argv[1:])])}  # fmt: skip
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0 if all("error" not in row for row in rows if row["mode"] != "compiled") else 1


if __name__ == "__main__":
    raise SystemExit(main())
