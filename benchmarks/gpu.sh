#!/usr/bin/env bash
# The prepared GPU benchmark, from a copy of this repository alone: nothing is downloaded.
#
#   bash benchmarks/gpu.sh                 # writes gpu-benchmark.json here (or into $OUT when set)
#   bash benchmarks/gpu.sh --texts 2000    # any option of benchmarks/gpu.py
#
# Needs a Python with a CUDA build of torch, transformers, tokenizers, safetensors, numpy and catalogue
# (flash-attn optional: the packed mode says whether it ran). The package is installed without its
# dependencies, or, where pip cannot, used from the source tree.
set -euo pipefail
cd "$(dirname "$0")/.."
python - <<'CHECK'
import importlib.util, sys
missing = [m for m in ("torch", "transformers", "tokenizers", "safetensors", "numpy", "catalogue") if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"benchmarks/gpu.sh needs {', '.join(missing)} installed (pip install them with the CUDA build of torch)")
import torch
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, GPUs: {torch.cuda.device_count()}", flush=True)
CHECK
if ! python -m pip install --quiet --no-deps --no-build-isolation -e . >/dev/null 2>&1; then
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
timeout 570 python benchmarks/gpu.py --json "${OUT:-.}/gpu-benchmark.json" "$@"
