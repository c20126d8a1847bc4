"""Throughput benchmark: spacy-goemotions against transformers.pipeline and a plain batched loop.

One invocation runs every engine on the same texts, each in a fresh subprocess (so peak RSS and
compile caches are its own), and prints one markdown table:

    python benchmarks/throughput.py ../shared/data/reddit/random_sample_10k.csv.gz --column body --limit 2000 \\
        --skeleton ../shared/models/modernbert-base-go-emotions/config.json --tokenizer ../shared/models/modernbert-base

Engines (``--engines``, comma-separated ``NAME:ARG``):
  core:DTYPE           EmotionClassifier(...).run(texts), compile=False
  core-compile:DTYPE   the same with compile=True (compile time is reported as warm-up)
  core-openvino:DTYPE  the same with backend="openvino" (conversion, and quantization for int8, is warm-up)
  core-auto:DTYPE      the defaults: backend="auto", compile="auto" (what a user who sets nothing gets);
                       the warm-up tells it the run's size, so it converts (or not) before the timing
  pandas:DTYPE         df.emotions.classify(column)
  spacy:DTYPE          nlp.pipe(texts) with the "goemotions" component (skipped if not installed)
  pipeline:BATCH       transformers.pipeline("text-classification", top_k=None, function_to_apply="sigmoid"),
                       float32, called with batch_size=BATCH (batch 1 is the model card's usage)
  plain:BATCH          tokenizer(padding=True) on consecutive batches of BATCH texts in input order,
                       model forward, sigmoid: the usual hand-written loop, float32

Timing excludes the warm-up (model load, compile, a first call on a few texts), which is reported
in its own column. Agreement is measured against a float32 reference (the first of pipeline:1,
plain:*, core:float32 that ran): max |Δ score| and the share of text x label decisions at 0.5 that
are equal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_ENGINES = (
    "core:auto,core:float32,core-compile:auto,pandas:auto,pandas:float32,spacy:auto,"
    "pipeline:1,pipeline:8,pipeline:16,pipeline:32,plain:32"
)
WARMUP_TEXTS = 16


# --- reading texts ----------------------------------------------------------------------------


def read_texts(path: str | Path, column: str, limit: int | None) -> list[str]:
    """The first ``limit`` non-missing texts of ``column`` in a csv/tsv/jsonl/parquet file (optionally .gz)."""
    import pandas as pd

    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    kind = suffixes[-2] if suffixes and suffixes[-1] == ".gz" and len(suffixes) > 1 else (suffixes[-1] if suffixes else "")
    if kind == ".csv":
        frame = pd.read_csv(path, usecols=[column], dtype=str, keep_default_na=False, na_values=[""])
    elif kind == ".tsv":
        frame = pd.read_csv(path, sep="\t", usecols=[column], dtype=str, keep_default_na=False, na_values=[""])
    elif kind in (".jsonl", ".ndjson"):
        frame = pd.read_json(path, lines=True, dtype=False)
    elif kind == ".parquet":
        frame = pd.read_parquet(path, columns=[column])
    else:
        raise SystemExit(f"Unsupported file type {path.name!r}: use .csv, .tsv, .jsonl or .parquet (optionally .gz)")
    if column not in frame.columns:
        raise SystemExit(f"Column {column!r} not in {path.name}; columns: {list(frame.columns)}")
    texts = [str(value) for value in frame[column].tolist() if isinstance(value, str)]
    return texts[:limit] if limit else texts


# --- measuring --------------------------------------------------------------------------------


def rss_mb() -> float:
    """Current resident set size in MB (Linux /proc; peak via getrusage elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return peak_rss_mb()


def peak_rss_mb() -> float:
    """Peak RSS of this process in MB. VmHWM, not getrusage: ru_maxrss survives fork+exec, so a
    subprocess would report its parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def label_matrix(rows: list[list[dict[str, Any]]], labels: list[str]) -> np.ndarray:
    """transformers.pipeline output (a list of {label, score} per text) as an (n, labels) matrix."""
    out = np.empty((len(rows), len(labels)), dtype=np.float32)
    column = {name: i for i, name in enumerate(labels)}
    for r, row in enumerate(rows):
        for entry in row:
            out[r, column[entry["label"]]] = entry["score"]
    return out


def run_engine(spec: str, texts: list[str], model: str, options: dict[str, Any]) -> dict[str, Any]:
    """Run one engine in this process: returns timings, padding counts and the score matrix."""
    name, _, arg = spec.partition(":")
    device = options["device"]
    if options.get("threads"):
        import torch

        torch.set_num_threads(options["threads"])
    result: dict[str, Any] = {"engine": spec, "rss_start_mb": rss_mb()}
    started = time.perf_counter()
    padding: tuple[int, int] | None = None
    extra: dict[str, Any] = {}

    if name in ("core", "core-compile", "core-openvino", "core-auto", "pandas", "spacy"):
        from spacy_goemotions import EmotionClassifier
        from spacy_goemotions.core import RunStats

        # Count padding through the shared core, whichever adapter calls it.
        seen: list[RunStats] = []
        original_run = EmotionClassifier.run

        def counting_run(self: Any, *args: Any, **kwargs: Any) -> Any:
            outcome = original_run(self, *args, **kwargs)
            seen.append(outcome.stats)
            return outcome

        EmotionClassifier.run = counting_run  # type: ignore[method-assign]
        core_options = {"device": device, "dtype": arg, "batch_size": options["batch_size"], "max_tokens": options["max_tokens"]}
        if name == "core-auto":
            classifier = EmotionClassifier(model, **core_options, progress=False)
            size = sum(len(ids) for ids in classifier.loaded.tokenizer(texts, truncation=True, max_length=512)["input_ids"])
            extra["compile_s"] = round(classifier.warmup(for_tokens=size), 1)
            classifier.scores(texts[:WARMUP_TEXTS])

            def work() -> np.ndarray:
                return classifier.run(texts).scores

            loaded = classifier.loaded
        elif name in ("core", "core-compile", "core-openvino"):
            backend = "openvino" if name == "core-openvino" else "torch"
            classifier = EmotionClassifier(model, **core_options, compile=name == "core-compile", backend=backend, progress=False)
            extra["compile_s"] = round(classifier.warmup(), 1)
            classifier.scores(texts[:WARMUP_TEXTS])

            def work() -> np.ndarray:
                return classifier.run(texts).scores

            loaded = classifier.loaded
        elif name == "pandas":
            import pandas as pd

            frame = pd.DataFrame({"text": texts})
            frame.head(WARMUP_TEXTS).emotions.classify("text", model=model, progress=False, **core_options)

            def work() -> np.ndarray:
                out = frame.emotions.classify("text", model=model, progress=False, **core_options)
                return out[list(labels)].to_numpy(dtype=np.float32)

            loaded = EmotionClassifier(model, **core_options).loaded  # the process-wide cache: no second load
        else:
            import spacy

            try:
                nlp = spacy.blank("en")
                nlp.add_pipe("goemotions", config={"model": model, **core_options})
            except Exception as error:  # the component is optional here: report, do not fail the run
                return {**result, "skipped": f"spaCy component unavailable: {error}"}
            list(nlp.pipe(texts[:WARMUP_TEXTS]))

            def work() -> np.ndarray:
                docs = list(nlp.pipe(texts))
                return np.array([[doc.cats[label] for label in labels] for doc in docs], dtype=np.float32)

            loaded = nlp.get_pipe("goemotions").classifier.loaded
        labels = loaded.labels
        extra["dtype"] = str(loaded.dtype).removeprefix("torch.")
        if name == "core-openvino":  # the torch model is float32; OpenVINO picks the precision it runs in
            precision = "int8+" + _openvino_precision(arg) if arg == "int8" else _openvino_precision(arg)
            extra["dtype"] = "openvino-" + precision
        result["warmup_s"] = time.perf_counter() - started
        seen.clear()
        scores, result["seconds"], result["round_seconds"] = timed_rounds(work, options.get("rounds") or 1)
        seen[:] = seen[: len(seen) // (options.get("rounds") or 1)]  # one round's runs
        padding = (sum(s.real_tokens for s in seen), sum(s.computed_tokens for s in seen))
        extra["compiled"] = any(s.compiled for s in seen)
        extra["backend"] = ",".join(sorted({s.backend for s in seen if s.backend}))
        if extra["backend"] == "openvino" and name != "core-openvino":
            extra["dtype"] = "openvino-" + _openvino_precision(arg)
    elif name in ("pipeline", "plain"):
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

        batch = int(arg)
        torch_device = torch.device("cuda" if device in ("auto", "cuda") and torch.cuda.is_available() else device if device != "auto" else "cpu")
        dtype = getattr(torch, options["baseline_dtype"])
        extra["dtype"] = options["baseline_dtype"]
        if name == "pipeline":
            classify = pipeline("text-classification", model=model, top_k=None, function_to_apply="sigmoid",
                                device=torch_device, dtype=dtype)  # fmt: skip
            labels = [classify.model.config.id2label[i] for i in range(classify.model.config.num_labels)]
            # ModernBERT's tokenizer has no length limit (model_max_length 1e30): truncate as the core does.
            classify(texts[:WARMUP_TEXTS], batch_size=batch, truncation=True, max_length=512)

            def work() -> np.ndarray:
                return label_matrix(classify(texts, batch_size=batch, truncation=True, max_length=512), labels)
        else:
            tokenizer = AutoTokenizer.from_pretrained(model)
            network = AutoModelForSequenceClassification.from_pretrained(model, dtype=dtype).to(torch_device).eval()
            labels = [network.config.id2label[i] for i in range(network.config.num_labels)]

            @torch.inference_mode()
            def loop(items: list[str]) -> np.ndarray:
                parts = []
                for start in range(0, len(items), batch):
                    encoded = tokenizer(items[start : start + batch], padding=True, truncation=True, max_length=512, return_tensors="pt")
                    logits = network(**{k: v.to(torch_device) for k, v in encoded.items()}).logits
                    parts.append(torch.sigmoid(logits.float()).cpu().numpy())
                return np.concatenate(parts)

            loop(texts[:WARMUP_TEXTS])

            def work() -> np.ndarray:
                return loop(texts)

        result["warmup_s"] = time.perf_counter() - started
        scores, result["seconds"], result["round_seconds"] = timed_rounds(work, options.get("rounds") or 1)
    else:
        raise SystemExit(f"Unknown engine {spec!r}; see --help for the engine names")

    result.update(extra)
    result["labels"] = list(labels)
    result["padding"] = padding
    result["rss_peak_mb"] = peak_rss_mb()
    result["scores"] = scores
    return result


def _openvino_precision(dtype: str) -> str:
    """The precision OpenVINO runs a dtype option's float operations in ("bf16" or "f32")."""
    from spacy_goemotions.backends.openvino import _PRECISION_HINTS, precision_of

    return _PRECISION_HINTS[precision_of(dtype)]


def timed_rounds(work: Any, rounds: int) -> tuple[np.ndarray, float, list[float]]:
    """Run ``work`` ``rounds`` times: its scores, the fastest round's seconds (the least disturbed by
    other load on a shared machine), and every round's."""
    seconds = []
    for _ in range(rounds):
        timed = time.perf_counter()
        scores = work()
        seconds.append(time.perf_counter() - timed)
    return scores, min(seconds), seconds


# --- the parent: one subprocess per engine, then the table ------------------------------------


def padded_tokens_in_order(lengths: np.ndarray, batch: int) -> int:
    """Tokens computed by consecutive batches of ``batch`` texts each padded to its longest."""
    return int(sum(len(part) * part.max() for part in np.array_split(lengths, range(batch, len(lengths), batch))))


def machine_description() -> dict[str, Any]:
    flags: set[str] = set()
    model_name = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
            if line.startswith("model name"):
                model_name = line.split(":", 1)[1].strip()
    except OSError:
        pass
    import torch
    import transformers

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": model_name, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "bf16_flags": sorted(flags & {"avx512_bf16", "amx_bf16", "amx_tile", "amx_int8"}), "gpu": gpu,
        "python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
    }  # fmt: skip


def build_table(rows: list[dict[str, Any]], reference: str | None, baselines: dict[str, str | None]) -> str:
    heads = ["engine", "dtype", "texts/s", "tokens/s", "padding eff.", "warm-up s", "peak RSS MB",
             "max abs diff vs fp32", "labels equal @0.5"] + [f"x {name}" for name in baselines]  # fmt: skip
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    speed = {row["engine"]: row["texts_per_s"] for row in rows if "texts_per_s" in row}
    for row in rows:
        if "skipped" in row:
            lines.append(f"| {row['engine']} | skipped: {row['skipped'][:80]} |" + " |" * (len(heads) - 2))
            continue
        ratios = []
        for target in baselines.values():
            ratios.append(f"{row['texts_per_s'] / speed[target]:.2f}" if target in speed else "")
        mark = " (reference)" if row["engine"] == reference else ""
        compiled = " +compile" if row.get("compiled") else ""
        cells = [
            row["engine"] + mark, row.get("dtype", "") + compiled, f"{row['texts_per_s']:.1f}", f"{row['tokens_per_s']:.0f}",
            f"{row['padding_efficiency']:.1%}", f"{row['warmup_s']:.1f}", f"{row['rss_peak_mb']:.0f}",
            "" if row.get("max_abs_diff") is None else f"{row['max_abs_diff']:.2e}",
            "" if row.get("labels_equal") is None else f"{row['labels_equal']:.2%}",
            *ratios,
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_worker(engine: str, texts_file: Path, model: str, options: dict[str, Any], workdir: Path, tag: str, timeout: int) -> dict[str, Any]:
    """Run one engine in a fresh subprocess; its result row (without scores)."""
    job = {"engine": engine, "texts": str(texts_file), "model": model, "options": options,
           "scores": str(workdir / f"{tag}.npy"), "result": str(workdir / f"{tag}.json")}  # fmt: skip
    job_file = workdir / f"job-{tag}.json"
    job_file.write_text(json.dumps(job), encoding="utf-8")
    # Each engine gets a cache of converted models of its own, empty: OpenVINO engines pay the conversion
    # (in their warm-up) as on a machine's first run, unless --cache-dir shares one.
    cache_dir = options.get("cache_dir") or str(workdir / f"cache-{tag}")
    env = {**os.environ, "SPACY_GOEMOTIONS_CACHE_DIR": cache_dir}
    completed = subprocess.run([sys.executable, __file__, "--worker", str(job_file)], timeout=timeout, check=False, env=env)
    if completed.returncode != 0:
        return {"engine": engine, "skipped": f"failed with exit code {completed.returncode}"}
    return json.loads(Path(job["result"]).read_text(encoding="utf-8"))


def add_in_process_arguments(parser: argparse.ArgumentParser, limit: int) -> None:
    """The arguments of the one-process comparisons (adapters.py, explain.py): texts, model, rounds, threads."""
    parser.add_argument("data")
    parser.add_argument("--column", default="text")
    parser.add_argument("--limit", type=int, default=limit)
    parser.add_argument("--model")
    parser.add_argument("--skeleton")
    parser.add_argument("--tokenizer")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)


def resolve_model(args: argparse.Namespace, workdir: Path) -> str:
    if args.skeleton:
        if not args.tokenizer:
            raise SystemExit("--skeleton needs --tokenizer DIR (e.g. ../shared/models/modernbert-base)")
        from spacy_goemotions.testing import build_skeleton_model

        return str(build_skeleton_model(args.skeleton, args.tokenizer, workdir / "skeleton"))
    if not args.model:
        raise SystemExit("Pass --model (hub id, directory or bundled name) or --skeleton CONFIG.json --tokenizer DIR")
    from spacy_goemotions.core.loading import resolve_model_source

    return resolve_model_source(args.model)  # a bundled name (goemotions-small) becomes its directory, for the baselines too


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", nargs="?", help="csv/tsv/jsonl/parquet file of texts (optionally .gz)")
    parser.add_argument("--column", default="text", help="column holding the texts (default: text)")
    parser.add_argument("--limit", type=int, default=None, help="use the first N texts")
    parser.add_argument("--model", help="hub id, local directory or bundled name (goemotions-small) of the model")
    parser.add_argument("--skeleton", help="config.json of a model to build with random weights (needs --tokenizer)")
    parser.add_argument("--tokenizer", help="tokenizer directory for --skeleton")
    parser.add_argument("--engines", default=DEFAULT_ENGINES, help=f"comma-separated engines (default: {DEFAULT_ENGINES})")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=256, help="our row cap per batch")
    parser.add_argument("--max-tokens", type=int, default=None, help="our token budget per batch (default: per device)")
    parser.add_argument("--baseline-dtype", default="float32", help="dtype of the pipeline and plain-loop baselines")
    parser.add_argument("--json", dest="json_out", help="also write the results as JSON here")
    parser.add_argument("--markdown", help="also write the table (and context) as markdown here")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads in every engine (default: torch's own, one per core)")
    parser.add_argument("--pick-best-on", type=int, default=None, metavar="N",
                        help="choose the best pipeline batch size (of the pipeline:B>1 engines) on the first N texts, "
                             "then time only that one on all texts (saves time on slow machines)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per engine")
    parser.add_argument("--rounds", type=int, default=1, help="time each engine this many times, keep the fastest (default: 1)")
    parser.add_argument("--versus", default="", metavar="ENGINES",
                        help="comma-separated engines to add a ratio column for (e.g. core:auto,core-openvino:auto)")
    parser.add_argument("--cache-dir", help="share this cache of converted models between engines (default: an empty one each)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: run one engine from a job file
    args = parser.parse_args(argv)

    if args.worker:
        job = json.loads(Path(args.worker).read_text(encoding="utf-8"))
        texts = json.loads(Path(job["texts"]).read_text(encoding="utf-8"))
        outcome = run_engine(job["engine"], texts, job["model"], job["options"])
        scores = outcome.pop("scores", None)
        if scores is not None:
            np.save(job["scores"], scores)
        Path(job["result"]).write_text(json.dumps(outcome), encoding="utf-8")
        return 0

    if not args.data:
        parser.error("the data file is required")
    texts = read_texts(args.data, args.column, args.limit)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    options = {"threads": args.threads, "device": args.device, "batch_size": args.batch_size, "max_tokens": args.max_tokens, "baseline_dtype": args.baseline_dtype, "cache_dir": args.cache_dir, "rounds": args.rounds}
    rows: list[dict[str, Any]] = []
    scores: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory(prefix="goemotions-bench-") as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        model = resolve_model(args, workdir)
        print(f"{len(texts)} texts; model {model} ({time.perf_counter() - started:.0f} s to prepare)", file=sys.stderr)
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(model)
        lengths = np.array([len(ids) for ids in tokenizer(texts, truncation=True, max_length=512)["input_ids"]])
        texts_file = workdir / "texts.json"
        texts_file.write_text(json.dumps(texts), encoding="utf-8")
        picked: dict[str, float] = {}
        batched = [e for e in engines if e.startswith("pipeline:") and e != "pipeline:1"]
        if args.pick_best_on and len(batched) > 1:
            subset_file = workdir / "subset.json"
            subset_file.write_text(json.dumps(texts[: args.pick_best_on]), encoding="utf-8")
            for engine in batched:
                row = run_worker(engine, subset_file, model, options, workdir, f"pick{len(picked)}", args.timeout)
                if "seconds" in row:
                    picked[engine] = min(args.pick_best_on, len(texts)) / row["seconds"]
                    print(f"    pick: {engine} {picked[engine]:.1f} texts/s on {args.pick_best_on} texts", file=sys.stderr, flush=True)
            if picked:
                best_engine = max(picked, key=lambda e: picked[e])
                engines = [e for e in engines if e not in batched or e == best_engine]
        for engine in engines:
            load_before = os.getloadavg()[0]
            print(f"[{time.strftime('%H:%M:%S')}] {engine} (load {load_before:.1f}) ...", file=sys.stderr, flush=True)
            row = run_worker(engine, texts_file, model, options, workdir, str(len(rows)), args.timeout)
            row["load_avg"] = [load_before, os.getloadavg()[0]]
            if "skipped" not in row:
                scores[engine] = np.load(workdir / f"{len(rows)}.npy")
                row["texts_per_s"] = len(texts) / row["seconds"]
                row["tokens_per_s"] = int(lengths.sum()) / row["seconds"]
                name, _, arg = engine.partition(":")
                if row["padding"]:
                    real, computed = row["padding"]
                elif name == "pipeline" or name == "plain":
                    real, computed = int(lengths.sum()), padded_tokens_in_order(lengths, int(arg))
                row["padding_efficiency"] = real / computed if computed else 1.0
                print(f"    {row['texts_per_s']:.1f} texts/s, warm-up {row['warmup_s']:.1f} s", file=sys.stderr, flush=True)
            rows.append(row)

    reference = next((e for e in engines if e == "pipeline:1"), None) or next(
        (e for e in engines if e.startswith("plain:") and e in scores), None) or ("core:float32" if "core:float32" in scores else None)  # fmt: skip
    if reference in scores:
        ref = scores[reference]
        for row in rows:
            if row["engine"] in scores:
                mine = scores[row["engine"]]
                row["max_abs_diff"] = float(np.abs(mine - ref).max())
                row["labels_equal"] = float(((mine >= 0.5) == (ref >= 0.5)).mean())
    pipelines = [r for r in rows if r["engine"].startswith("pipeline:") and "texts_per_s" in r]
    best = max((r for r in pipelines if r["engine"] != "pipeline:1"), key=lambda r: r["texts_per_s"], default=None)
    baselines = {"pipeline bs=1": "pipeline:1" if "pipeline:1" in scores else None,
                 "pipeline best": best["engine"] if best else None,
                 "plain loop": next((e for e in engines if e.startswith("plain:") and e in scores), None)}  # fmt: skip
    baselines = {k: v for k, v in baselines.items() if v}
    baselines.update({engine: engine for engine in args.versus.split(",") if engine and engine in scores})
    table = build_table(rows, reference, {(k if k == v else f"{k} ({v})"): v for k, v in baselines.items()})
    context = {
        "date": dt.datetime.now().isoformat(timespec="minutes"), "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "texts": len(texts), "tokens": int(lengths.sum()), "tokens_per_text": float(lengths.mean()),
        "machine": machine_description(), "reference": reference, "threads": args.threads,
        "pipeline_batch_pick": {"texts": args.pick_best_on, "texts_per_s": picked} if picked else None,
    }  # fmt: skip
    print(table)
    loads = [r["load_avg"] for r in rows if "load_avg" in r]
    print(f"\n{len(texts)} texts, {context['tokens_per_text']:.1f} tokens/text; reference: {reference}; "
          f"1-min load average during the runs: {min(x for p in loads for x in p):.1f}-{max(x for p in loads for x in p):.1f}")  # fmt: skip
    if args.markdown:
        Path(args.markdown).write_text(f"{table}\n\n```json\n{json.dumps(context, indent=2)}\n```\n", encoding="utf-8")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"context": context, "rows": rows}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
