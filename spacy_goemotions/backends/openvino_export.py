"""The model as OpenVINO IR: converted from the torch model once per machine, then read from the cache.

The torch model stays the source of truth: it is loaded (safetensors only) in float32 and traced by
``openvino.convert_model`` (:mod:`.openvino_tracing`, the one part that imports torch); nothing but
the weights the core already trusts is ever read. The IR (``model.xml`` + ``model.bin``, float32, the
same for every precision it is later compiled in) is stored in the persistent cache
(:mod:`spacy_goemotions.core.cache`) under a key of everything that decides it: the model files'
content, the wrapper traced, OpenVINO's version and this package's. A later process reads it back in
about 0.05 s instead of converting for 8-12 s, and never loads the torch weights at all, nor imports torch.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..core import cache

if TYPE_CHECKING:
    from ..core.loading import LoadedModel

logger = logging.getLogger(__name__)

#: Bumped whenever the traced graph changes for the same weights (a new wrapper, new example inputs):
#: entries of an older conversion are then stale and rebuilt.
CONVERSION_FORMAT = 1
IR_KIND = "openvino-ir"
IR_FILE = "model.xml"


def wrapper_kind(config_data: dict[str, Any]) -> str:
    """Which wrapper a model of this config (its JSON) is traced with, decided without loading its weights."""
    return "modernbert-masked" if config_data.get("model_type") == "modernbert" else "plain"


def ir_key(loaded: LoadedModel, root: Path | None) -> dict[str, Any]:
    """What decides the converted IR: the cache key of :func:`float_ir`."""
    import openvino as ov

    return {
        "kind": IR_KIND,
        "format": CONVERSION_FORMAT,
        "content": cache.content_hash(loaded.content_files(), root),
        "wrapper": wrapper_kind(loaded.config_data),
        "openvino": ov.__version__,
        "spacy_goemotions": __version__,
    }


def save_ir(model: Any, folder: Path) -> None:
    """Write ``model`` as ``folder/model.xml`` + ``model.bin``, weights as they are (no fp16 compression)."""
    import openvino as ov

    ov.save_model(model, str(folder / IR_FILE), compress_to_fp16=False)


def cached_ir(kind: str, key: dict[str, Any], root: Path | None, build: Any) -> tuple[Any, Path | None]:
    """The IR for ``key``: read from the cache, or made by ``build()`` (and stored when caching is on).

    Returns the ``openvino.Model`` and the path of its ``model.xml`` in the cache (None when caching
    is off or the cache cannot be written: the model then lives in memory for this process only).
    An entry OpenVINO cannot read is discarded with a warning and rebuilt.
    """
    import openvino as ov

    if root is None:
        return build(), None
    entry = cache.entry_path(root, kind, key)
    found = cache.read_entry(entry, key)
    if found is not None:
        try:
            model = ov.Core().read_model(str(found / IR_FILE))
            logger.info("Read the converted model from %s", found)
            return model, found / IR_FILE
        except RuntimeError as error:
            cache.discard(found, f"OpenVINO cannot read it ({error})")
    model = build()
    try:
        with cache.building(entry, key) as folder:
            save_ir(model, folder)
    except OSError as error:  # a full disk or a read-only cache: this process still runs, from memory
        logger.warning("Could not store the converted model in %s (%s); it is converted again next time", entry, error)
        return model, None
    logger.info("Stored the converted model in %s", entry)
    # Read back rather than keep the traced model, whose constants may share the torch weights' memory.
    return ov.Core().read_model(str(entry / IR_FILE)), entry / IR_FILE


def float_ir(loaded: LoadedModel, root: Path | None, *, release_torch: bool = False) -> tuple[Any, Path | None]:
    """The model's float32 IR (see :func:`cached_ir`); converting loads the torch weights, reading does not.

    ``release_torch``: once the IR is stored (and so independent of the torch tensors), let the torch
    weights go, before anything else (compiling, quantizing) needs memory.
    """

    def build() -> Any:
        # The one slow step of a cold start (8-12 s for ModernBERT-base on 2 cores): say so where progress is shown.
        message = f"Converting {loaded.source} to OpenVINO, once per machine" + (f" (kept in {root})" if root else "")
        logger.info(message)
        if not loaded.quiet:
            print(message, file=sys.stderr, flush=True)
        from .openvino_tracing import convert  # torch and transformers: only a conversion needs them

        return convert(loaded)

    model, path = cached_ir(IR_KIND, ir_key(loaded, root), root, build)
    if release_torch and path is not None:
        loaded.release_weights()
    return model, path
