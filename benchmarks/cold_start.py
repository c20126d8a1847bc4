"""Cold and warm start: how long a fresh process takes to score its first batch, with and without the cache.

    python benchmarks/cold_start.py ../shared/data/reddit/random_sample_10k.csv.gz --column body \\
        --skeleton ../shared/models/modernbert-base-go-emotions/config.json --tokenizer ../shared/models/modernbert-base

For each engine, processes run one after the other on one empty cache of converted models: the
first (cold) converts, the next ``--repeats`` (warm) read what the first stored; the table shows the
cold run and the best warm run (a fresh process each time). Each reports the seconds from
asking (building the classifier) to the first batch's scores, and from its own start (imports
included); the parent also times the whole process. Engines: ``openvino:DTYPE`` (``backend="openvino"``),
``auto:DTYPE`` (the default backend: OpenVINO on a CPU where it is installed, whatever the job's size), and
``torch:DTYPE`` for comparison. Each row names the engine that ran (``RunStats.engine``) and whether the
process imported torch or transformers (a warm OpenVINO start needs neither).
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
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from throughput import read_texts, resolve_model  # noqa: E402

DEFAULT_ENGINES = "torch:auto,openvino:auto,auto:auto,openvino:int8"
WORKER = """
import json, sys, time
started = time.perf_counter()
from spacy_goemotions import EmotionClassifier
imported = time.perf_counter()
job = json.loads(sys.argv[1])
backend, _, dtype = job["engine"].partition(":")
options = {"dtype": dtype, "progress": False}
if backend != "auto":
    options["backend"] = backend
asked = time.perf_counter()
classifier = EmotionClassifier(job["model"], **options)
scores = classifier.run(job["texts"])
done = time.perf_counter()
print(json.dumps({"import_s": imported - started, "first_batch_s": done - asked, "since_start_s": done - started,
                  "backend": str(scores.stats.engine), "weights_loaded": classifier.loaded.weights_loaded,
                  "torch_imported": "torch" in sys.modules, "transformers_imported": "transformers" in sys.modules}))
"""


def run_once(engine: str, model: str, texts: list[str], cache_dir: Path) -> dict[str, Any]:
    job = json.dumps({"engine": engine, "model": model, "texts": texts})
    env = {**os.environ, "SPACY_GOEMOTIONS_CACHE_DIR": str(cache_dir), "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-c", WORKER, job], env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        return {"engine": engine, "error": completed.stderr.strip().splitlines()[-1:]}
    return {"engine": engine, "process_s": wall, **json.loads(completed.stdout.strip().splitlines()[-1])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", help="csv/tsv/jsonl/parquet file of texts (optionally .gz)")
    parser.add_argument("--column", default="text")
    parser.add_argument("--batch", type=int, default=16, help="texts in the first batch (default: 16)")
    parser.add_argument("--model")
    parser.add_argument("--skeleton")
    parser.add_argument("--tokenizer")
    parser.add_argument("--engines", default=DEFAULT_ENGINES)
    parser.add_argument("--repeats", type=int, default=3, help="warm processes per engine; the best is shown (default: 3)")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args(argv)
    texts = read_texts(args.data, args.column, args.batch)
    rows = []
    with tempfile.TemporaryDirectory(prefix="goemotions-coldstart-") as tmp:
        model = resolve_model(args, Path(tmp))
        for engine in [e.strip() for e in args.engines.split(",") if e.strip()]:
            cache_dir = Path(tmp) / f"cache-{len(rows)}"
            runs = []
            for start in ["cold"] + ["warm"] * args.repeats:
                row = {"start": start, **run_once(engine, model, texts, cache_dir)}
                runs.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
            warm = [row for row in runs[1:] if "error" not in row]
            best = min(warm, key=lambda row: row["since_start_s"]) if warm else runs[-1]
            rows += [runs[0], {**best, "start": f"warm (best of {args.repeats})"}]
    print("| engine | start | ran on | first batch s (from asking) | from process start s | whole process s "
          "| torch weights loaded | imported torch / transformers |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        if "error" in row:
            print(f"| {row['engine']} | {row['start']} | error: {row['error']} | | | | | |")
            continue
        imported = f"{'yes' if row['torch_imported'] else 'no'} / {'yes' if row['transformers_imported'] else 'no'}"
        print(f"| {row['engine']} | {row['start']} | {row['backend']} | {row['first_batch_s']:.2f} | {row['since_start_s']:.2f} "
              f"| {row['process_s']:.2f} | {'yes' if row['weights_loaded'] else 'no'} | {imported} |")
    if args.json_out:
        record = {"batch": args.batch, "repeats": args.repeats, "rows": rows}
        Path(args.json_out).write_text(json.dumps(record, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
