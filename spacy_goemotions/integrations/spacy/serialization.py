"""What a saved ``goemotions`` component is made of: its ``cfg`` file and, on request, the model's files.

The component decides *what* to save and restore; this module does the file and byte handling.
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import srsly

from ...core.classifier import EmotionClassifier
from ...core.model_copy import save_model_copy
from ...errors import ConfigurationError

#: Version tag of the ``cfg`` file a saved component writes; bump it when its layout changes.
CFG_FORMAT = "spacy-goemotions/component.v1"
#: Sub-folder (or bytes key) of a saved component that holds the model, with ``save_weights=True``.
WEIGHTS_DIR = "model"


def cfg_json(cfg: Mapping[str, Any]) -> str:
    # The stdlib json, not srsly's: srsly reads 0.3 back as 0.30000000000000004.
    return json.dumps(cfg, indent=2)


def check_cfg(data: Mapping[str, Any]) -> None:
    if data.get("format") != CFG_FORMAT:
        raise ValueError(f"Unsupported goemotions cfg format {data.get('format')!r}; expected {CFG_FORMAT!r}")


#: The ``cfg`` keys that can change on a live component (``spacy find-threshold`` sets ``threshold``).
SETTABLE_CFG_KEYS = ("threshold", "top_k")
#: Keys that record what the settings resolved to (they follow a change of the settable keys).
RECORD_CFG_KEYS = ("format", "policy", "labels", "engine", "taxonomies")


def check_cfg_change(current: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    """Refuse a ``cfg`` assignment that changes more than :data:`SETTABLE_CFG_KEYS`, naming the keys."""
    fixed = [key for key in current if key not in SETTABLE_CFG_KEYS + RECORD_CFG_KEYS]
    changed = [key for key in fixed if _json(new.get(key)) != _json(current[key])]
    missing = [key for key in SETTABLE_CFG_KEYS if key not in new]
    if changed or missing:
        raise ConfigurationError(
            f"Only {', '.join(SETTABLE_CFG_KEYS)} can change on a live goemotions component (changed: {changed}, missing: "
            f"{missing}). Build a new one with nlp.add_pipe, or load with spacy.load(path, config={{...}})."
        )


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def write_weights(classifier: EmotionClassifier, out: Path) -> None:
    """The classifier's model as float32 safetensors, tokenizer and shipped thresholds, in ``out``."""
    loaded = classifier.loaded if classifier.is_loaded else None
    save_model_copy(classifier.model_name, classifier.options.revision, out, loaded)


def weights_bytes(classifier: EmotionClassifier) -> bytes:
    """The files :func:`write_weights` writes, as msgpack bytes (name -> content)."""
    with tempfile.TemporaryDirectory(prefix="spacy-goemotions-") as tmp:
        folder = Path(tmp) / WEIGHTS_DIR
        write_weights(classifier, folder)
        files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
    return cast(bytes, srsly.msgpack_dumps(files))


def unpack_weights(data: bytes) -> Path | None:
    """Write the model files of :func:`weights_bytes` to a folder that lives as long as the process."""
    files: dict[str, bytes] = srsly.msgpack_loads(data)
    if not files:
        return None
    folder = _temp_dir()
    for name, content in files.items():
        target = folder / name
        if target.resolve().parent != folder.resolve():
            raise ValueError(f"Refusing to write model file {name!r} outside {folder}")
        target.write_bytes(content)
    return folder


_TEMP_DIRS: list[str] = []


def _remove_temp_dirs() -> None:
    for folder in _TEMP_DIRS:
        shutil.rmtree(folder, ignore_errors=True)


def _temp_dir() -> Path:
    """A directory removed when the process exits (weights restored by ``from_bytes``)."""
    if not _TEMP_DIRS:
        atexit.register(_remove_temp_dirs)
    path = tempfile.mkdtemp(prefix="spacy-goemotions-")
    _TEMP_DIRS.append(path)
    return Path(path)
