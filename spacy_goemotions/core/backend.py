"""The one backend interface: what the core asks of whatever runs the model.

The core reads texts, deduplicates, tokenizes and plans batches; a backend only computes. The
protocols below are what the core needs of one; the registry (:mod:`.backend_registry`) says where
each implementation lives (a module of :mod:`spacy_goemotions.backends`, imported only when a model
first runs, so choosing and validating a backend imports neither torch nor OpenVINO).

Contract of a :class:`Backend` (one per classifier and loaded model, built by :func:`create_backend`):

- ``layout``: ``"padded"`` (rows padded to the longest, with an attention mask) or ``"packed"``
  (one row of concatenated texts, with ``position_ids`` and ``cu_seqlens``): how the core plans and
  builds this backend's batches.
- ``prepare(batch)``: turns a built :class:`~spacy_goemotions.core.batching.Batch` (numpy arrays)
  into the backend's own inputs, e.g. torch tensors in pinned memory. The core may call it on its
  prefetch thread, so that this host work overlaps the device's; it must not change shared state.
- ``open(estimated_tokens)``: a context manager for one run, giving a :class:`BatchRunner`.
  ``estimated_tokens`` (the run's size) lets a backend decide on a one-off cost, such as
  ``torch.compile``. Runs may be opened from several threads at once; a backend that cannot run
  them side by side makes them take turns.

Contract of a :class:`BatchRunner`:

- ``submit(prepared, sink)``: computes the batch's sigmoid scores, a ``(rows, labels)`` float32
  array with rows in the batch's row order, and calls ``sink(scores)`` exactly once. It may return
  before that happens (several batches in flight), ``sink`` may run on another thread, and batches
  may finish in any order.
- ``wait()``: returns once every batch submitted so far has reached its sink. Only then may the
  core read what the sinks wrote.
- Errors: an error raised while computing a batch, or by its sink, is raised on the caller's
  thread, by ``submit`` or by ``wait`` (the first one, once). Leaving the ``open`` context waits for
  every batch in flight, also when its body raised, so no sink runs after the run is over; the
  backend stays usable for the next run.
- ``compiled``: whether a ``torch.compile``'d module computed the run (reported in ``RunStats``).
- ``warms_up``: whether the first batch of each new shape pays a compilation, so that
  ``EmotionClassifier.warmup()`` should run representative shapes through it.
- ``name``: what computed the run, ``"torch"`` or ``"openvino"``, and ``precision``: in what
  (``"float32"``, ``"bfloat16"``, ``"float16"``, ``"int8"``); reported in ``RunStats.engine``.

A new backend is one more module of :mod:`spacy_goemotions.backends` with a
``create_backend(options, loaded)`` function, one more entry in ``backend_registry.BACKENDS``, and its name in
``core.options.BackendName`` (a test keeps the two in step).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from ..errors import NonFiniteScoresError
from .backend_registry import backend_spec
from .batching import Batch

if TYPE_CHECKING:
    from .loading import LoadedModel
    from .options import ClassifierOptions

ScoreMatrix = npt.NDArray[np.float32]
#: Receives one batch's scores, rows in batch order; may be called on a backend's thread.
ScoreSink = Callable[[ScoreMatrix], None]


def logits_to_scores(logits: npt.NDArray[np.float32], engine: str, computed_by: str = "The model") -> ScoreMatrix:
    """A batch's sigmoid scores from its logits (on the CPU), the same for every backend; logits that are not all
    finite are an error, never scores.

    The sigmoid is computed in float64 and rounded once to float32, with numpy: the same value on every CPU and for
    every backend given the same logits (torch's float32 kernel differs by a few units in the last place by CPU).

    Args:
        logits: the batch's ``(rows, labels)`` logits.
        engine: what computed them, for the message (``"torch, float16, on cuda"``).
        computed_by: who the message says computed them (``"OpenVINO"``).

    Returns:
        the ``(rows, labels)`` float32 scores.

    Raises:
        NonFiniteScoresError: NaN or infinite logits (float16 overflow, a kernel's fully masked rows).

    Examples:
        >>> logits_to_scores(np.array([[0.0, 2.0]], dtype=np.float32), "torch").round(4).tolist()
        [[0.5, 0.8808]]
    """
    finite = np.isfinite(logits)
    if not finite.all():
        bad = int((~finite).any(axis=1).sum())
        raise NonFiniteScoresError(
            f"{computed_by} computed NaN or infinite logits for {bad} of {len(logits)} texts in a batch ({engine}). These "
            "are not scores, so nothing was written. Try dtype='float32' (or 'bfloat16' instead of 'float16'), or "
            "another backend; if float32 fails too, the model's weights are broken.",
            options=("dtype",),
            example={"dtype": "float32"},
        )
    scores: ScoreMatrix = (1.0 / (1.0 + np.exp(-logits.astype(np.float64)))).astype(np.float32)
    return scores


Layout = Literal["padded", "packed"]

PreparedT = TypeVar("PreparedT")
PreparedT_contra = TypeVar("PreparedT_contra", contravariant=True)


class BatchRunner(Protocol[PreparedT_contra]):
    """One run's way into the backend (see the module docstring for the contract)."""

    @property
    def compiled(self) -> bool: ...

    @property
    def warms_up(self) -> bool: ...

    @property
    def name(self) -> str: ...

    @property
    def precision(self) -> str: ...

    def submit(self, prepared: PreparedT_contra, sink: ScoreSink) -> None: ...

    def wait(self) -> None: ...


class Backend(Protocol[PreparedT]):
    """Runs a loaded model on planned batches (see the module docstring for the contract)."""

    @property
    def layout(self) -> Layout: ...

    def prepare(self, batch: Batch) -> PreparedT: ...

    def open(self, estimated_tokens: float) -> AbstractContextManager[BatchRunner[PreparedT]]: ...


def create_backend(options: ClassifierOptions, loaded: LoadedModel, name: str | None = None) -> Backend[Any]:
    """Build backend ``name`` (default: the one ``options`` ask for; see :mod:`.backend_registry`, which
    resolves ``"auto"`` per machine) over an already loaded model."""
    spec = backend_spec(name or options.backend)
    if spec.module is None:
        raise ValueError(f"backend {spec.name!r} is resolved before a backend is built: pass the resolved name")
    module = importlib.import_module(spec.module)
    backend: Backend[Any] = module.create_backend(options, loaded)
    return backend
