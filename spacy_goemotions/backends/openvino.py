"""The OpenVINO backend (``backend="openvino"``): the same model, converted once per machine, run by OpenVINO on CPU.

On CPUs with AVX512-BF16 or AMX, OpenVINO runs bf16 with fused kernels; on the reference 2-core
machine (no AMX) it scored ModernBERT-base 1.6x faster than torch's bf16 eager path and 1.3x faster
than torch.compile (benchmarks/README.md). ``dtype="int8"`` runs the NNCF-quantized model
(:mod:`.openvino_int8`).

Where the model comes from: :mod:`.openvino_export` (the float32 IR, converted from the torch model or
read from the persistent cache). Compiled kernels are cached too, by OpenVINO itself, in
``<cache>/compiled/<cpu>``: they depend on the CPU, so a cache folder shared between machines keeps
one set per kind of CPU.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..core import cache
from ..core.backend import Layout, ScoreSink, logits_to_scores
from ..core.backend_registry import require_backend_package
from ..core.batching import Batch
from ..core.devices import cpu_threads
from ..core.engine import precision_name
from ..errors import GoEmotionsError, ModelLoadError

if TYPE_CHECKING:
    from ..core.loading import LoadedModel
    from ..core.options import ClassifierOptions

logger = logging.getLogger(__name__)

#: OpenVINO precision hints for the resolved dtype names.
_PRECISION_HINTS = {"float32": "f32", "bfloat16": "bf16", "float16": "f16"}


def create_backend(options: ClassifierOptions, loaded: LoadedModel) -> OpenVinoBackend:
    """``backend="openvino"``: the model (float32) as OpenVINO IR, converted or read from the cache on the first run."""
    return OpenVinoBackend(options, loaded)


class OpenVinoBackend:
    """Padded batches on OpenVINO's streams, one batch in flight per stream (see :class:`OpenVinoModule`)."""

    layout: Layout = "padded"

    def __init__(self, options: ClassifierOptions, loaded: LoadedModel) -> None:
        self.options = options
        self.loaded = loaded

    def prepare(self, batch: Batch) -> Batch:
        return batch  # OpenVINO takes the numpy arrays as they are

    @property
    def is_ready(self) -> bool:
        """Whether a run would start without converting or quantizing (the module is in memory or cached)."""
        return is_ready(self.loaded, self.options, cpu_threads())

    @contextmanager
    def open(self, estimated_tokens: float) -> Iterator[OpenVinoRunner]:
        # Per run: the module is cached per model, precision and thread count (which may change between runs).
        try:
            module = module_for(self.loaded, self.options, cpu_threads())
        except GoEmotionsError:
            raise
        except Exception as error:
            # No quiet fallback to torch: the engine must stay what the options and the machine say it is.
            raise ModelLoadError(
                f"OpenVINO could not convert or compile {self.loaded.source} ({type(error).__name__}: {error}). "
                "Run it with torch instead: backend='torch'.",
                options=("backend",),
                value="openvino",
                example={"backend": "torch"},
            ) from error
        with module.async_run() as run:
            yield OpenVinoRunner(module, run)


class OpenVinoRunner:
    """One run's batches on the streams: ``submit`` returns while the streams are free, ``wait`` for the rest."""

    compiled = False  # OpenVINO compiles, but not with torch.compile (what RunStats.compiled reports)
    warms_up = True  # the first batches of each shape compile kernels
    name = "openvino"

    def __init__(self, module: OpenVinoModule, run: AsyncRun) -> None:
        self.module = module
        self._run = run

    @property
    def precision(self) -> str:
        """What this module computes in: "int8" for a quantized model, else OpenVINO's inference precision."""
        return "int8" if self.module.quantized else precision_name(self.module.precision)

    def submit(self, prepared: Batch, sink: ScoreSink) -> None:
        assert prepared.attention_mask is not None
        self._run.submit(prepared.input_ids, prepared.attention_mask, sink)

    def wait(self) -> None:
        self._run.wait()


def _scores(request: Any) -> npt.NDArray[np.float32]:
    logits = np.array(request.get_output_tensor(0).data, dtype=np.float32)  # a copy: OpenVINO reuses its buffers
    return logits_to_scores(logits, "openvino", computed_by="OpenVINO")


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

    def __init__(self, compiled: Any, precision: str, *, quantized: bool = False) -> None:
        """``precision``: the element type OpenVINO computes in ("bf16", "f32", ...); ``quantized``: an int8 model."""
        self._compiled = compiled
        self.quantized = quantized
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


def precision_of(dtype_spec: str) -> str:
    """The precision OpenVINO computes the non-quantized operations in, as a torch dtype name.

    "auto" resolves as for torch: bf16 where the CPU multiplies it natively, float32 elsewhere; int8
    models run their remaining operations in that same precision.
    """
    from ..core.devices import resolve_dtype_name

    return resolve_dtype_name("auto" if dtype_spec == "int8" else dtype_spec, "cpu")


def compile_module(
    model: Any, path: Path | None, precision: str, threads: int, root: Path | None, *, quantized: bool = False
) -> OpenVinoModule:
    """Compile an IR for this CPU, through OpenVINO's kernel cache when the persistent cache is on."""
    require_backend_package("openvino")
    import openvino as ov

    # THROUGHPUT: streams run batches side by side (see OpenVinoModule). The 4096-token CPU budget also won
    # over 2048 and 8192 here. No dynamic quantization of activations: scores of the float precisions
    # must stay within the bf16 agreement bar, as for torch (int8 is its own, explicit choice).
    config = {
        "INFERENCE_NUM_THREADS": threads,
        "PERFORMANCE_HINT": "THROUGHPUT",
        "INFERENCE_PRECISION_HINT": _PRECISION_HINTS[precision],
        "DYNAMIC_QUANTIZATION_GROUP_SIZE": 0,
    }
    core = ov.Core()
    compiled: Any = None
    if root is not None and path is not None:
        try:
            # From the file (OpenVINO then keys its cache by the file, without hashing the weights in memory).
            compiled = core.compile_model(
                str(path), "CPU", {**config, "CACHE_DIR": str(root / "compiled" / cache.cpu_signature())}
            )
        except RuntimeError as error:  # e.g. an unreadable kernel cache: compile without it
            logger.warning("OpenVINO could not use its kernel cache (%s); compiling without it", error)
    if compiled is None:
        compiled = core.compile_model(model, "CPU", config)
    used = compiled.get_property("INFERENCE_PRECISION_HINT")  # what OpenVINO runs in: "bf16" or "f32"
    return OpenVinoModule(compiled, used.get_type_name() if hasattr(used, "get_type_name") else str(used), quantized=quantized)


def _module_key(options: ClassifierOptions, threads: int) -> tuple[Any, ...]:
    quantized = (options.calibration_texts, options.max_length) if options.dtype == "int8" else None
    return (precision_of(options.dtype), options.dtype == "int8", quantized, threads, options.cache_dir)


#: Compiled modules per loaded model (weakly held: a model dropped from the load cache frees its modules too).
_MODULES: weakref.WeakKeyDictionary[LoadedModel, dict[tuple[Any, ...], OpenVinoModule]] = weakref.WeakKeyDictionary()
_MODULES_LOCK = threading.Lock()


#: What a forked child inherited from its parent: held until the child exits (see below).
_INHERITED_AT_FORK: list[Any] = []


def _forget_modules_in_forked_child() -> None:
    """A forked child (``nlp.pipe(n_process=N)`` on Linux) must not run the parent's compiled models.

    OpenVINO's compiled models and infer queues own threads that ``fork()`` does not copy (an inherited
    request can block for ever: openvinotoolkit/openvino#416), and a lock may have been held by one of them.
    The child starts with none: its first run compiles again, from the persistent cache (no conversion).
    The inherited ones are kept referenced, never destroyed here: their destructors would wait for threads
    that exist only in the parent (this handler also runs in a ``subprocess`` child before its exec).
    """
    global _MODULES, _MODULES_LOCK
    _INHERITED_AT_FORK.append((_MODULES, list(_MODULES.items())))  # strong references: nothing inherited is freed
    _MODULES = weakref.WeakKeyDictionary()
    _MODULES_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_forget_modules_in_forked_child)


def is_ready(loaded: LoadedModel, options: ClassifierOptions, threads: int) -> bool:
    """Whether :func:`module_for` would return at once or from the cache (no conversion, no quantization)."""
    with _MODULES_LOCK:
        if _module_key(options, threads) in _MODULES.get(loaded, {}):
            return True
    root = cache.cache_root(options.cache_dir)
    if root is None or options.dtype == "int8":
        return False  # int8 is never chosen automatically; nothing asks
    from .openvino_export import IR_KIND, ir_key

    key = ir_key(loaded, root)
    return cache.read_entry(cache.entry_path(root, IR_KIND, key), key) is not None


def module_for(loaded: LoadedModel, options: ClassifierOptions, threads: int) -> OpenVinoModule:
    """The compiled OpenVINO model for this model, precision and thread count, built on first use.

    The first process on a machine converts the model (8-12 s for ModernBERT-base on 2 cores) and, for
    int8, quantizes it (about 70-90 s); later ones read both from the cache. Every classifier, spaCy
    component and pandas call in the process then shares the result. Converting loads the torch
    weights; they are let go again once the IR is stored, unless something else had loaded them first.
    """
    from .openvino_export import float_ir
    from .openvino_int8 import int8_ir

    key = _module_key(options, threads)
    with _MODULES_LOCK:
        modules = _MODULES.setdefault(loaded, {})
        if key not in modules:
            root = cache.cache_root(options.cache_dir)
            # Weights loaded only to convert are let go once the IR is stored: the torch copy only costs memory then.
            release = not loaded.weights_loaded
            if options.dtype == "int8":
                model, path = int8_ir(loaded, root, options, release_torch=release)
            else:
                model, path = float_ir(loaded, root, release_torch=release)
            modules[key] = compile_module(model, path, key[0], threads, root, quantized=options.dtype == "int8")
        return modules[key]
