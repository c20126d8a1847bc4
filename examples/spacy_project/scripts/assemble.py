"""Build the pipeline from configs/config.cfg with a model and tuned thresholds, and save it.

Like `spacy assemble`, except that the thresholds JSON (from `spacy-goemotions tune-thresholds`) is
inlined into the component's config as a label -> threshold table: the saved pipeline then carries
its policy and does not depend on a file of this project.

Usage: python scripts/assemble.py CONFIG OUTPUT_DIR --model MODEL [--thresholds FILE] [--save-weights true|false]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import spacy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--model", required=True, help="hub id, local directory or bundled name")
    parser.add_argument("--thresholds", type=Path, default=None, help="JSON from tune-thresholds")
    parser.add_argument("--save-weights", choices=("true", "false"), default="true")
    args = parser.parse_args()

    config = spacy.util.load_config(args.config)
    component = config["components"]["goemotions"]
    component["model"] = args.model
    component["save_weights"] = args.save_weights == "true"
    if args.thresholds is not None:
        data = json.loads(args.thresholds.read_text(encoding="utf-8"))
        component["threshold"] = {name: float(value) for name, value in data["thresholds"].items()}
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    nlp.to_disk(args.output)
    print(f"Saved {nlp.pipe_names} to {args.output} (model {args.model!r})")


if __name__ == "__main__":
    main()
