"""The OpenVINO backend (``backend="openvino"``): the same model, converted once per process, run by OpenVINO on CPU.

On CPUs with AVX512-BF16 or AMX, OpenVINO runs bf16 with fused kernels; on the reference 2-core
machine (no AMX) it scored ModernBERT-base 1.6x faster than torch's bf16 eager path and 1.3x faster
than torch.compile (benchmarks/README.md).
The torch model stays the source of truth: it is loaded (safetensors only) in float32 and converted
in memory, so nothing but the weights the core already trusts is ever read.
"""

from __future__ import annotations

import logging
import threading
import warnings
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import torch

from ..core.backend import Layout, ScoreSink
from ..core.backend_registry import require_backend_package
from ..core.batching import Batch
from .modernbert import classify_pooled, has_modernbert_head

if TYPE_CHECKING:
    from ..core.loading import LoadedModel
    from ..core.options import ClassifierOptions

logger = logging.getLogger(__name__)

#: OpenVINO precision hints for the resolved dtype names.
_PRECISION_HINTS = {"float32": "f32", "bfloat16": "bf16", "float16": "f16"}


def create_backend(options: ClassifierOptions, loaded: LoadedModel) -> OpenVinoBackend:
    """``backend="openvino"``: the loaded float32 torch model, converted on the first run."""
    return OpenVinoBackend(options, loaded)


class OpenVinoBackend:
    """Padded batches on OpenVINO's streams, one batch in flight per stream (see :class:`OpenVinoModule`)."""

    layout: Layout = "padded"

    def __init__(self, options: ClassifierOptions, loaded: LoadedModel) -> None:
        self.options = options
        self.loaded = loaded

    def prepare(self, batch: Batch) -> Batch:
        return batch  # OpenVINO takes the numpy arrays as they are

    @contextmanager
    def open(self, estimated_tokens: float) -> Iterator[OpenVinoRunner]:
        # Per run: the conversion is cached per model, precision and thread count (which may change between runs).
        module = module_for(self.loaded.model, self.options.dtype, torch.get_num_threads())
        with module.async_run() as run:
            yield OpenVinoRunner(module, run)


class OpenVinoRunner:
    """One run's batches on the streams: ``submit`` returns while the streams are free, ``wait`` for the rest."""

    compiled = False  # OpenVINO compiles, but not with torch.compile (what RunStats.compiled reports)
    warms_up = True  # the first batches of each shape compile kernels

    def __init__(self, module: OpenVinoModule, run: AsyncRun) -> None:
        self.module = module
        self._run = run

    def submit(self, prepared: Batch, sink: ScoreSink) -> None:
        assert prepared.attention_mask is not None
        self._run.submit(prepared.input_ids, prepared.attention_mask, sink)

    def wait(self) -> None:
        self._run.wait()


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


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


def _scores(request: Any) -> npt.NDArray[np.float32]:
    logits = torch.from_numpy(np.array(request.get_output_tensor(0).data, dtype=np.float32))  # copy: buffers are reused
    return torch.sigmoid(logits).numpy()  # the same sigmoid as the torch path, so float32 scores match to the bit


class AsyncRun:
    """One scoring run's batches in flight on OpenVINO's streams (see :meth:`OpenVinoModule.async_run`)."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue
        self._errors: list[BaseException] = []

    def on_done(self, request: Any, sink: ScoreSink) -> None:
        try:
            sink(_scores(request))
        except BaseException as error:  # noqa: BLE001 - raised again on the caller's thread by submit/wait
            self._errors.append(error)

    def submit(self, input_ids: npt.NDArray[np.int64], attention_mask: npt.NDArray[np.int64], sink: ScoreSink) -> None:
        """Start one batch; waits only while every stream is busy."""
        self._raise_first_error()
        self._queue.start_async({"input_ids": input_ids, "attention_mask": attention_mask}, sink)

    def wait(self) -> None:
        """Block until every submitted batch has reached its sink."""
        self._queue.wait_all()
        self._raise_first_error()

    def _raise_first_error(self) -> None:
        if self._errors:
            raise self._errors[0]


class OpenVinoModule:
    """The compiled model, run through :meth:`async_run`, which keeps one batch in flight per OpenVINO stream.

    Compiled for throughput: OpenVINO splits the threads into streams (2 streams of 1 thread on 2 cores);
    with a batch per stream, that measured +5-13% over one stream on both threads (benchmarks/README.md).
    """

    def __init__(self, compiled: Any, precision: str) -> None:
        """``precision``: the element type OpenVINO computes in ("bf16", "f32", ...)."""
        self._compiled = compiled
        self._queue: Any = None  # the AsyncInferQueue, made on first use
        self._lock = threading.Lock()  # one queue: runs from several threads take turns
        self.precision = precision
        self.streams = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))

    @contextmanager
    def async_run(self) -> Iterator[AsyncRun]:
        """Batches submitted inside run concurrently, one per stream; on exit every batch has finished
        (also when the body raised: no callback writes into an array after the run is over)."""
        import openvino as ov

        with self._lock:
            if self._queue is None:
                self._queue = ov.AsyncInferQueue(self._compiled, self.streams)
            run = AsyncRun(self._queue)
            self._queue.set_callback(run.on_done)
            try:
                yield run
            finally:
                self._queue.wait_all()


def convert(model: torch.nn.Module, precision: str, threads: int) -> OpenVinoModule:
    """Convert a float32 torch classifier to OpenVINO and compile it for the CPU."""
    require_backend_package("openvino")
    import openvino as ov

    wrapper = MaskedLogits(model) if has_modernbert_head(model) else PlainLogits(model)
    # Two rows of different lengths, wider than nothing special: shapes stay dynamic in the IR.
    example = {"input_ids": torch.full((2, 16), 5, dtype=torch.long), "attention_mask": torch.ones(2, 16, dtype=torch.long)}
    example["attention_mask"][1, 9:] = 0
    # Tracing warns about Python-level branches that are constant for this model; they are not news to users.
    with torch.no_grad(), warnings.catch_warnings(), _quiet_transformers():
        warnings.simplefilter("ignore")
        converted = ov.convert_model(wrapper.eval(), example_input=example)
    converted.reshape({"input_ids": [-1, -1], "attention_mask": [-1, -1]})
    # THROUGHPUT: streams run batches side by side (see OpenVinoModule). The 4096-token CPU budget also won
    # over 2048 and 8192 here. No dynamic int8 quantization of activations: scores must stay within the
    # bf16 agreement bar, as for torch.
    config = {
        "INFERENCE_NUM_THREADS": threads,
        "PERFORMANCE_HINT": "THROUGHPUT",
        "INFERENCE_PRECISION_HINT": _PRECISION_HINTS[precision],
        "DYNAMIC_QUANTIZATION_GROUP_SIZE": 0,
    }
    core = ov.Core()
    compiled = core.compile_model(converted, "CPU", config)
    used = compiled.get_property("INFERENCE_PRECISION_HINT")  # what OpenVINO runs in: "bf16" or "f32"
    return OpenVinoModule(compiled, used.get_type_name() if hasattr(used, "get_type_name") else str(used))


#: Converted modules per torch model (weakly held: a model dropped from the load cache frees its twin too).
_MODULES: weakref.WeakKeyDictionary[torch.nn.Module, dict[tuple[str, int], OpenVinoModule]] = weakref.WeakKeyDictionary()
_MODULES_LOCK = threading.Lock()


def module_for(model: torch.nn.Module, dtype_spec: str, threads: int) -> OpenVinoModule:
    """The OpenVINO twin of ``model`` for this precision and thread count, converted on first use.

    Conversion traces the model once (about 10-15 s for ModernBERT-base on 2 cores); every classifier,
    spaCy component and pandas call in the process then shares the result.
    """
    from ..core.devices import dtype_name, resolve_dtype

    # "auto" resolves as for torch: bf16 where the CPU multiplies it natively, float32 elsewhere.
    precision = dtype_name(resolve_dtype(dtype_spec, torch.device("cpu")))
    key = (precision, threads)
    with _MODULES_LOCK:
        twins = _MODULES.setdefault(model, {})
        if key not in twins:
            logger.info("Converting the model to OpenVINO (%s, %d threads)", precision, threads)
            twins[key] = convert(model, precision, threads)
        return twins[key]
