"""``dtype="int8"``: the OpenVINO model quantized with NNCF's static post-training quantization.

The float32 IR (:mod:`.openvino_export`) is calibrated on a sample of texts, one at a time, so that
every activation range NNCF measures comes from real tokens (no padding): by default the bundled
sample of 300 GoEmotions training comments, or the user's ``calibration_texts``
(:mod:`spacy_goemotions.core.calibration`). Matrix multiplies then run in int8 (VNNI or AMX on x86
CPUs) with the rest in the ``dtype="auto"`` precision. Quantizing ModernBERT-base takes about a minute
and a half on 2 cores; the result is cached like the conversion, keyed also by NNCF's version and the
calibration texts. Scores move (about 1e-2 on a trained model): ``backend="auto"`` never picks this.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.backend_registry import require_dtype_packages
from ..core.calibration import calibration_texts
from .openvino_export import cached_ir, float_ir, ir_key

if TYPE_CHECKING:
    from ..core.loading import LoadedModel
    from ..core.options import ClassifierOptions

logger = logging.getLogger(__name__)

INT8_KIND = "openvino-int8"
#: Most calibration texts used (NNCF's default subset; more barely move the ranges, and cost time).
CALIBRATION_SUBSET = 300


def int8_key(loaded: LoadedModel, root: Path | None, texts: list[str], max_length: int) -> dict[str, Any]:
    """What decides the quantized IR: the float IR's key, NNCF's version and the calibration."""
    import nncf

    digest = hashlib.sha256("\n".join(texts[:CALIBRATION_SUBSET]).encode("utf-8")).hexdigest()
    return {
        **ir_key(loaded, root),
        "kind": INT8_KIND,
        "nncf": nncf.__version__,
        "method": "static-ptq-transformer",
        "calibration": digest,
        "max_length": max_length,
    }


def quantize(model: Any, loaded: LoadedModel, texts: list[str], max_length: int) -> Any:
    """NNCF static post-training quantization of an ``openvino.Model``, calibrated on ``texts``."""
    import nncf

    tokenizer = loaded.tokenizer

    def model_inputs(text: str) -> dict[str, np.ndarray]:
        encoded = tokenizer(text, truncation=True, max_length=max_length, return_tensors="np")
        return {name: encoded[name].astype(np.int64) for name in ("input_ids", "attention_mask")}

    subset = texts[:CALIBRATION_SUBSET]
    logger.info(
        "Quantizing %s to int8 on %d calibration texts (once per machine while the cache is kept)", loaded.source, len(subset)
    )
    with _quiet_nncf(loaded.quiet):
        return nncf.quantize(
            model, nncf.Dataset(subset, model_inputs), model_type=nncf.ModelType.TRANSFORMER, subset_size=len(subset)
        )


@contextlib.contextmanager
def _quiet_nncf(quiet: bool) -> Any:
    """NNCF's progress bars (printed by rich on stdout) and its info logs, only when progress was asked for."""
    if not quiet:
        yield
        return
    nncf_logger = logging.getLogger("nncf")
    level = nncf_logger.level
    nncf_logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        nncf_logger.setLevel(level)


def int8_ir(
    loaded: LoadedModel, root: Path | None, options: ClassifierOptions, *, release_torch: bool = False
) -> tuple[Any, Path | None]:
    """The quantized IR for these options (see :func:`.openvino_export.cached_ir`; ``release_torch`` as for
    :func:`.openvino_export.float_ir`)."""
    require_dtype_packages("int8")
    texts = calibration_texts(options.calibration_texts)

    def build() -> Any:
        model, _ = float_ir(loaded, root, release_torch=release_torch)
        return quantize(model, loaded, texts, options.max_length)

    return cached_ir(INT8_KIND, int8_key(loaded, root, texts, options.max_length), root, build)
