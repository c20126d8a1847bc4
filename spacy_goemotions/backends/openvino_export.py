"""The model as OpenVINO IR: converted from the torch model once per machine, then read from the cache.

The torch model stays the source of truth: it is loaded (safetensors only) in float32 and traced by
``openvino.convert_model``; nothing but the weights the core already trusts is ever read. The IR
(``model.xml`` + ``model.bin``, float32, the same for every precision it is later compiled in) is
stored in the persistent cache (:mod:`spacy_goemotions.core.cache`) under a key of everything that
decides it: the model files' content, the wrapper traced, OpenVINO's version and this package's.
A later process reads it back in about 0.05 s instead of converting for 8-12 s, and never loads the
torch weights at all.
"""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from .._version import __version__
from ..core import cache
from ..core.quiet import quiet_transformers
from .modernbert import classify_pooled, has_modernbert_head

if TYPE_CHECKING:
    from ..core.loading import LoadedModel

logger = logging.getLogger(__name__)

#: Bumped whenever the traced graph changes for the same weights (a new wrapper, new example inputs):
#: entries of an older conversion are then stale and rebuilt.
CONVERSION_FORMAT = 1
IR_KIND = "openvino-ir"
IR_FILE = "model.xml"


class MaskedLogits(torch.nn.Module):
    """A ModernBERT classifier's logits with attention masks built here, for conversion.

    Each position may also attend to itself. That changes nothing for real tokens (they attend to
    themselves anyway), but a padding position whose sliding window holds only padding would
    otherwise get a fully masked softmax, which OpenVINO turns into NaN, and NaN then spreads through
    the next global-attention layer (NaN x 0 is NaN) into the real tokens' scores.
    """

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model
        self.half_window = int(model.config.local_attention) // 2
        self.pooling = model.config.classifier_pooling

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        itself = positions[:, None] == positions[None, :]
        full = attention_mask.bool()[:, None, None, :] | itself[None, None]
        near = (positions[:, None] - positions[None, :]).abs() <= self.half_window
        masks = {"full_attention": full, "sliding_attention": full & near[None, None]}
        hidden = self.model.model(input_ids=input_ids, attention_mask=masks).last_hidden_state
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = attention_mask.to(hidden.dtype).unsqueeze(-1)
            pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1)
        return classify_pooled(self.model, pooled)


class PlainLogits(torch.nn.Module):
    """Any other sequence classifier: its own masks (no sliding windows to empty out)."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.model(input_ids=input_ids, attention_mask=attention_mask).logits
        return logits


def wrapper_kind(config: Any) -> str:
    """Which wrapper a model of this config is traced with (decided without loading its weights)."""
    return "modernbert-masked" if getattr(config, "model_type", None) == "modernbert" else "plain"


def ir_key(loaded: LoadedModel, root: Path | None) -> dict[str, Any]:
    """What decides the converted IR: the cache key of :func:`float_ir`."""
    import openvino as ov

    return {
        "kind": IR_KIND,
        "format": CONVERSION_FORMAT,
        "content": cache.content_hash(loaded.content_files(), root),
        "wrapper": wrapper_kind(loaded.config),
        "openvino": ov.__version__,
        "spacy_goemotions": __version__,
    }


def convert(loaded: LoadedModel) -> Any:
    """Trace the float32 torch model into an ``openvino.Model`` with dynamic batch and length."""
    import openvino as ov

    model = loaded.model
    wrapper = MaskedLogits(model) if has_modernbert_head(model) else PlainLogits(model)
    # Two rows of different lengths: shapes stay dynamic in the IR.
    example = {"input_ids": torch.full((2, 16), 5, dtype=torch.long), "attention_mask": torch.ones(2, 16, dtype=torch.long)}
    example["attention_mask"][1, 9:] = 0
    # Tracing warns about Python-level branches that are constant for this model; they are not news to users.
    with torch.no_grad(), warnings.catch_warnings(), quiet_transformers():
        warnings.simplefilter("ignore")
        converted = ov.convert_model(wrapper.eval(), example_input=example)
    converted.reshape({"input_ids": [-1, -1], "attention_mask": [-1, -1]})
    return converted


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
        return convert(loaded)

    model, path = cached_ir(IR_KIND, ir_key(loaded, root), root, build)
    if release_torch and path is not None:
        loaded.release_weights()
    return model, path
