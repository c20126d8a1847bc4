"""A model written to a folder: float32 safetensors, its tokenizer and its shipped thresholds (a saved pipeline's copy)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from ..errors import ModelLoadError
from .loading import MODEL_THRESHOLDS_FILE, LoadedModel, read_shipped_thresholds, resolve_model_source


def save_model_copy(model: str | Path, revision: str | None, out: Path, loaded: LoadedModel | None = None) -> None:
    """Write the model as float32 safetensors, its tokenizer and its shipped thresholds into ``out``.

    ``loaded`` is reused when it is float32; otherwise (bf16/fp16 in memory) the original weights are
    read again, so a copy is never of lower precision than its source. Saving a model over the
    folder it was loaded from does nothing: the files are there.

    Raises:
        ModelLoadError: when the original weights cannot be read.
    """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from .quiet import quiet_transformers

    source = resolve_model_source(model)
    if out.exists() and Path(source).is_dir() and Path(source).resolve() == out.resolve():
        return
    if out.exists():
        shutil.rmtree(out)
    copy: Any
    if loaded is not None and loaded.dtype_name == "float32" and loaded.weights_loaded:
        copy, tokenizer = loaded.model, loaded.tokenizer
    else:
        try:
            with quiet_transformers():
                tokenizer = AutoTokenizer.from_pretrained(source, revision=revision, trust_remote_code=False)
                copy = AutoModelForSequenceClassification.from_pretrained(
                    source, revision=revision, use_safetensors=True, trust_remote_code=False, dtype=torch.float32
                )
        except (OSError, ValueError) as error:
            raise ModelLoadError(f"Could not read model {source!r} to save its weights: {error}") from error
    with quiet_transformers():
        copy.save_pretrained(str(out))
        tokenizer.save_pretrained(str(out))
    shipped = loaded.shipped_thresholds if loaded is not None else read_shipped_thresholds(source, revision)
    if shipped is not None:
        record = (loaded.thresholds_record if loaded is not None else None) or {}
        content = {**record, "thresholds": shipped}
        (out / MODEL_THRESHOLDS_FILE).write_text(json.dumps(content, indent=2), encoding="utf-8")
