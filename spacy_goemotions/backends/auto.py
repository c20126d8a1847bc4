"""``backend="auto"`` on a CPU with OpenVINO installed: OpenVINO when it pays, torch until then.

OpenVINO scores ModernBERT-base 1.6x faster than torch's bf16 eager path here, but its first use on a
machine costs a conversion (8-12 s for base on 2 cores; about 1 s once the converted model is in the
persistent cache). So a run goes to OpenVINO when:

- its module is ready: already compiled in this process, or the converted model is in the cache; or
- the work seen so far, this run's estimated tokens plus every earlier run's, reaches
  :data:`AUTO_OPENVINO_MIN_TOKENS`, where the conversion has paid for itself (a spaCy pipeline scoring
  256 docs at a time switches once it has seen enough of them, as one large call would at once).

Otherwise torch runs (eager, or compiled by ``compile="auto"`` for very large runs, which OpenVINO
will have taken first). Once OpenVINO has run, later runs stay on it. Both keep the float32 agreement
bar, so the choice changes speed, not labels; pass ``backend="torch"`` or ``"openvino"`` to fix it.
If OpenVINO fails to convert a model (an architecture it cannot trace), torch runs it, with a warning.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..core.backend import Layout, ScoreSink
from ..core.batching import Batch
from .openvino import OpenVinoBackend
from .torch_eager import TorchBackend

if TYPE_CHECKING:
    from ..core.backend import BatchRunner
    from ..core.loading import LoadedModel
    from ..core.options import ClassifierOptions

logger = logging.getLogger(__name__)

#: Tokens of work from which converting to OpenVINO pays on a cold cache: the conversion (about 12 s more
#: warm-up than torch for ModernBERT-base on 2 cores) against the time OpenVINO saves per token over torch
#: bf16 (182 us on an AMD EPYC without AMX: break-even ~65k tokens; 40k-250k on a noisy AMX machine; see
#: benchmarks/README.md, "Fast by default and int8"). Set on the low side, about 1,000 Reddit comments:
#: the conversion is paid once per machine, then cached, and later processes start on OpenVINO at once.
AUTO_OPENVINO_MIN_TOKENS = 50_000


def create_backend(options: ClassifierOptions, loaded: LoadedModel) -> AutoBackend:
    return AutoBackend(options, loaded)


class AutoBackend:
    """Torch or OpenVINO per run (see the module docstring); padded batches either way."""

    layout: Layout = "padded"

    def __init__(self, options: ClassifierOptions, loaded: LoadedModel) -> None:
        self.options = options
        self.loaded = loaded
        self.torch = TorchBackend(options, loaded)
        self._openvino: OpenVinoBackend | None = None
        self._openvino_failed = False
        self._chose_openvino = False
        self._tokens_seen = 0.0
        self._lock = threading.Lock()

    def prepare(self, batch: Batch) -> Batch:
        return batch  # numpy for OpenVINO; torch's runner converts when torch runs

    @property
    def openvino(self) -> OpenVinoBackend:
        """The OpenVINO side: the float32 model OpenVINO converts from (its weights load only to convert)."""
        if self._openvino is None:
            from ..core.loading import load_model

            float32 = load_model(self.loaded.source, self.loaded.revision, "cpu", "float32", quiet=self.loaded.quiet)
            self._openvino = OpenVinoBackend(self.options, float32)
        return self._openvino

    def wants_openvino(self, estimated_tokens: float) -> bool:
        """Whether this run goes to OpenVINO (see the module docstring)."""
        with self._lock:
            self._tokens_seen += estimated_tokens
            if self._openvino_failed:
                return False
            if self._chose_openvino or self._tokens_seen >= AUTO_OPENVINO_MIN_TOKENS:
                return True
        return self.openvino.is_ready

    @contextmanager
    def open(self, estimated_tokens: float) -> Iterator[BatchRunner[Batch]]:
        with contextlib.ExitStack() as stack:
            runner: BatchRunner[Batch] | None = None
            if self.wants_openvino(estimated_tokens):
                try:
                    runner = stack.enter_context(self.openvino.open(estimated_tokens))
                except Exception as error:  # noqa: BLE001 - any conversion failure: torch runs the model as before
                    logger.warning("OpenVINO could not run %s (%s); torch runs it instead", self.loaded.source, error)
                    self._openvino_failed = True
                else:
                    self._chose_openvino = True
            if runner is None:
                runner = TorchFromNumpy(self.torch, stack.enter_context(self.torch.open(estimated_tokens)))
            yield runner


class TorchFromNumpy:
    """Torch's runner, fed the numpy batches the auto backend prepares (converted to tensors on submit)."""

    def __init__(self, backend: TorchBackend, runner: Any) -> None:
        self._backend = backend
        self._runner = runner

    @property
    def compiled(self) -> bool:
        return bool(self._runner.compiled)

    @property
    def warms_up(self) -> bool:
        return bool(self._runner.warms_up)

    @property
    def name(self) -> str:
        return str(getattr(self._runner, "name", "torch"))

    def submit(self, prepared: Batch, sink: ScoreSink) -> None:
        self._runner.submit(self._backend.prepare(prepared), sink)

    def wait(self) -> None:
        self._runner.wait()
