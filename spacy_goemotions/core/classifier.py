"""The inference core: texts in, an (n, labels) float32 score matrix out, in input order.

Imports neither spaCy nor pandas (every integration converts its types to and from this), nor, until
a model is first loaded, torch or transformers.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigurationError
from . import scoring
from .backend import create_backend
from .backend_registry import backend_spec, require_backend_package, require_dtype_packages, resolve_backend_name
from .batching import build_batch
from .engine import Engine
from .options import ClassifierOptions, InferenceKwargs, resolve_options
from .progress import progress_bar
from .scoring import RunStats, ScoreMatrix, ScoringResult
from .thresholds import ThresholdPolicy, ThresholdSpec
from .tokenization import TextEncoder

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .backend import Backend
    from .loading import LoadedModel

#: With ``progress=None`` a bar is shown for inputs at least this large, in interactive use.
AUTO_PROGRESS_MIN_ROWS = 1000


class EmotionClassifier:
    """Batched multi-label emotion scoring with a transformers sequence-classification model.

    Construction is cheap: the model loads on first use, from a process-wide cache shared with
    every other classifier (and every spaCy component and pandas call) asking for the same
    ``(model, revision, device, dtype)``.

    Args:
        model: hub id, local directory saved with ``save_pretrained``, or a bundled model name
            (default: ``options.model``, else ``DEFAULT_MODEL``).
        options: a ready :class:`ClassifierOptions`; keyword arguments override its fields.
        progress: True/False, or None for a bar on large inputs when stderr is a terminal.
        **overrides: any field of :class:`ClassifierOptions` (``device``, ``dtype``, ``backend``,
            ``batch_size``, ``max_tokens``, ``max_length``, ``long_text``, ``aggregate``, ...).

    Raises:
        ConfigurationError: for a bad option, a device this machine does not have, or a backend
            whose package is missing (with the command that installs it).

    Examples:
        >>> clf = EmotionClassifier("goemotions-small")            # doctest: +SKIP
        >>> clf.scores(["Thank you so much!"]).shape               # doctest: +SKIP
        (1, 28)
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        options: ClassifierOptions | None = None,
        progress: bool | None = None,
        **overrides: Unpack[InferenceKwargs],
    ) -> None:
        changes: dict[str, Any] = dict(overrides)
        if model is not None:
            changes["model"] = model
        self.options = resolve_options(options, changes)
        if progress is not None and not isinstance(progress, bool):
            raise TypeError(f"progress must be True, False or None (automatic), got {progress!r}")
        self.progress = progress
        # Fail now, not at the first batch: a device this machine lacks, or a backend's missing package.
        # Decided by name: on a machine without a GPU (and for device="cpu") torch is not imported here.
        from .devices import resolve_device_name, resolve_dtype_name

        options = self.options
        # OpenVINO runs on the CPU whatever a GPU "auto" would find (its options allow only "auto" and "cpu").
        device = "cpu" if backend_spec(options.backend).cpu_only else resolve_device_name(options.device)
        #: The backend that runs here: ``options.backend``, with "auto" resolved for this machine (see
        #: ``backend_registry.resolve_backend_name``): "torch" or "openvino", never "auto".
        self.backend_name = resolve_backend_name(
            options.backend,
            device_type=device.split(":")[0],
            dtype=options.dtype,
            compile=options.compile,
            packing=options.packing,
        )
        require_backend_package(self.backend_name)
        if backend_spec(self.backend_name).cpu_only:  # OpenVINO runs on the CPU, whatever device="auto" finds
            device = "cpu"
        if options.dtype == "int8":
            from .calibration import calibration_texts

            require_dtype_packages(options.dtype)
            calibration_texts(options.calibration_texts)  # a missing or too short file is named now
            precision = "int8"
        else:
            precision = resolve_dtype_name(options.dtype, device)
        #: What computes this classifier's scores on this machine, decided here, before anything loads or runs.
        self.engine = Engine(self.backend_name, precision, device)
        self._loaded: LoadedModel | None = None
        self._held_in_memory = False  # see held_in_memory
        self._backend: Backend[Any] | None = None
        self._lock = threading.Lock()

    @classmethod
    def held_in_memory(cls, loaded: LoadedModel, options: ClassifierOptions) -> EmotionClassifier:
        """A classifier that runs a model held in memory (a model being fine-tuned), on torch in float32.

        Its scores follow the model's weights as they change. It cannot be pickled: its options alone would
        load the starting weights elsewhere; save the model and load it there instead.

        Args:
            loaded: the model, from :meth:`LoadedModel.in_memory`.
            options: the batching options (the model, backend, dtype and device are the held model's).

        Returns:
            the classifier.

        Examples:
            >>> clf = EmotionClassifier.held_in_memory(LoadedModel.in_memory(model, tokenizer, source="m", revision=None),
            ...                                        ClassifierOptions("m"))  # doctest: +SKIP
        """
        held = options.replace(backend="torch", dtype="float32", compile=False, packing=False, device=str(loaded.device))
        classifier = cls(options=held, progress=False)
        classifier._loaded = loaded
        classifier._held_in_memory = True
        return classifier

    # Pickled as its options: the loaded model, its backend and the lock are rebuilt on the other side, on
    # first use (spaCy's n_process under spawn, Dask and Ray pickle whatever holds a classifier).
    def __getstate__(self) -> dict[str, Any]:
        if self._held_in_memory:
            raise ConfigurationError(
                "This classifier runs a model held in memory (being fine-tuned): another process would load the "
                "starting weights instead. Save the pipeline (nlp.to_disk) and load it in the other process."
            )
        return {"options": self.options, "progress": self.progress}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(options=state["options"], progress=state["progress"])  # type: ignore[misc]

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.options.to_dict().items() if v != ClassifierOptions.__dataclass_fields__[k].default}
        return f"EmotionClassifier({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    @property
    def model_name(self) -> str:
        """The ``model`` option as a string."""
        return self.options.model_name

    @property
    def loaded(self) -> LoadedModel:
        """The loaded model (loads it on first access)."""
        if self._loaded is None:
            from .loading import load_model

            spec = backend_spec(self.backend_name)
            device = "cpu" if spec.cpu_only else self.options.device
            dtype = spec.load_dtype or self.options.dtype
            self._loaded = load_model(self.model_name, self.options.revision, device, dtype, quiet=self.progress is not True)
        return self._loaded

    @property
    def is_loaded(self) -> bool:
        """Whether the model is loaded already (reading this never loads it)."""
        return self._loaded is not None

    @property
    def backend(self) -> Backend[Any]:
        """What runs the model (see :mod:`spacy_goemotions.backends`); built on first use."""
        if self._backend is None:
            loaded = self.loaded
            with self._lock:
                if self._backend is None:
                    self._backend = create_backend(self.options, loaded, self.backend_name)
        return self._backend

    @property
    def labels(self) -> tuple[str, ...]:
        """The model's labels in score-column order (loads the model)."""
        return self.loaded.labels

    def known_labels(self) -> tuple[str, ...] | None:
        """The labels if they are known without loading or any network: from the loaded model, or
        from a local or bundled model's ``config.json``; None for a hub model not loaded yet.

        Returns:
            the label names in column order, or None when only loading would tell.
        """
        if self._loaded is not None:
            return self._loaded.labels
        from .loading import is_local_source, model_labels, resolve_model_source

        try:
            source = resolve_model_source(self.model_name)
            return model_labels(source) if is_local_source(source) else None
        except (OSError, ValueError):
            return None

    @property
    def effective_max_tokens(self) -> int:
        """The token budget per batch in force: ``max_tokens``, or the device's default (loads the model)."""
        budget = self.options.max_tokens or scoring.DEFAULT_MAX_TOKENS.get(self.loaded.device_type, 4096)
        return max(budget, self.options.max_length)

    def policy(self, threshold: ThresholdSpec | None = 0.5, top_k: int | None = None) -> ThresholdPolicy:
        """A validated :class:`ThresholdPolicy` for this model's labels.

        Args:
            threshold: as ``threshold=`` everywhere: a float, ``{label: float}``, a preset or a JSON path.
            top_k: keep at most this many labels per row.

        Returns:
            the policy, checked against this model's labels.
        """
        return ThresholdPolicy.from_spec(threshold, top_k, labels=self.labels)

    def select(self, scores: ScoreMatrix, policy: ThresholdPolicy) -> list[list[str]]:
        """Labels the policy selects in each score row (highest first); NaN rows give [].

        Args:
            scores: (n, len(labels)) scores of this classifier.
            policy: what decides; ``"tuned"`` uses this model's shipped thresholds.

        Returns:
            per row, the selected labels, highest score first.
        """
        return policy.select_labels(scores, self.labels, self.loaded.shipped_thresholds)

    def scores(self, texts: Iterable[str | None], *, progress: bool | None = None, out: ScoreMatrix | None = None) -> ScoreMatrix:
        """Score texts: an (n, len(labels)) float32 array in input order; None gives a NaN row.

        Args:
            texts: strings, or None for a missing text.
            progress: show a progress bar (None: the classifier's setting).
            out: an existing float32 array of shape (n, len(labels)) to fill and return instead of a
                new one; any memory layout (e.g. the transpose of a column block a DataFrame will
                own), so a caller can avoid holding the scores twice.

        Returns:
            float32 array of shape (n, len(labels)): row i holds text i's scores, NaN for a missing text.

        Raises:
            TypeError: for an element that is neither a string nor None, naming its position.
            ValueError: for an ``out`` of the wrong shape or dtype.

        Examples:
            >>> clf = EmotionClassifier("goemotions-small")                     # doctest: +SKIP
            >>> clf.scores(["Thank you so much!", None]).shape                   # doctest: +SKIP
            (2, 28)
        """
        return self.run(texts, progress=progress, out=out).scores

    def run(self, texts: Iterable[str | None], *, progress: bool | None = None, out: ScoreMatrix | None = None) -> ScoringResult:
        """Like :meth:`scores`, also returning the run's :class:`RunStats`.

        Args:
            texts: strings, or None for a missing text.
            progress: show a progress bar (None: the classifier's setting).
            out: an existing float32 array to fill, as for :meth:`scores`.

        Returns:
            the scores, the labels and the run's statistics (the engine that ran, batches, tokens, seconds).
        """
        if isinstance(texts, str):
            raise TypeError("texts must be a list of strings, not a single string: pass [text]")
        items = texts if isinstance(texts, Sequence) else list(texts)
        loaded = self.loaded
        stats = RunStats(rows=len(items))
        output = _output_array(out, (len(items), len(loaded.labels)))
        started = time.perf_counter()
        wanted = self.progress if progress is None else progress
        with progress_bar(len(items), wanted, desc="goemotions", auto_min=AUTO_PROGRESS_MIN_ROWS) as bar:
            self._scoring_run().run(items, output, stats, bar)
        stats.seconds = time.perf_counter() - started
        return ScoringResult(output, loaded.labels, stats)

    def warmup(self, *, for_tokens: float | None = None) -> float:
        """Load the model and prepare what runs it now, not inside the first large run; returns seconds.

        Args:
            for_tokens: the size of the runs to come, in tokens (texts x their average length). With
                it, a backend that decides by a run's size decides now (none does today). OpenVINO
                converts or reads its model here in any case; ``compile=True`` compiles here.

        The warm-up runs the shape classes a real run meets (one row and several, texts inside and
        beyond the local attention window, with and without padding), so later batches do not recompile.

        Returns:
            the seconds the warm-up took.

        Examples:
            >>> EmotionClassifier("goemotions-small", compile=True).warmup()  # doctest: +SKIP
            81.2
        """
        started = time.perf_counter()
        loaded, backend = self.loaded, self.backend
        encoder = TextEncoder(loaded.text_tokenizer, self.options)
        estimate = for_tokens if for_tokens is not None else float("inf") if self.options.compile is True else 0.0
        with backend.open(estimate) as runner:
            if runner.warms_up:
                window = int(loaded.config_data.get("local_attention", 128))
                for group in ([8, 8], [9, 6, 3], [8], [window + 24, window + 16], [window + 24]):
                    sequences = [encoder.synthetic_ids(min(n, self.options.max_length)) for n in group]
                    batch = build_batch(np.arange(len(group)), sequences, loaded.pad_token_id, packed=backend.layout == "packed")
                    runner.submit(backend.prepare(batch), lambda scores: None)
                runner.wait()
        return time.perf_counter() - started

    def iter_scores(self, texts: Iterable[str | None], *, chunk_rows: int = scoring.DEFAULT_WINDOW_ROWS) -> Iterator[ScoreMatrix]:
        """Score a stream lazily, ``chunk_rows`` texts at a time, yielding one matrix per chunk.

        Args:
            texts: strings or None, consumed lazily.
            chunk_rows: texts scored together (deduplicated and batched within a chunk).

        Returns:
            an iterator of float32 matrices, one per chunk, in input order.
        """
        buffer: list[str | None] = []
        for text in texts:
            buffer.append(text)
            if len(buffer) >= chunk_rows:
                yield self.scores(buffer, progress=False)
                buffer = []
        if buffer:
            yield self.scores(buffer, progress=False)

    def _scoring_run(self) -> scoring.ScoringRun:
        loaded, options = self.loaded, self.options
        prefetch = options.prefetch if options.prefetch is not None else loaded.device_type == "cuda"
        return scoring.ScoringRun(
            TextEncoder(loaded.text_tokenizer, options),
            self.backend,
            len(loaded.labels),
            loaded.device_name,
            max_tokens=self.effective_max_tokens,
            batch_size=options.batch_size,
            aggregate=options.aggregate,
            prefetch=prefetch,
        )


def _output_array(out: ScoreMatrix | None, shape: tuple[int, int]) -> ScoreMatrix:
    """``out`` checked and filled with NaN (rows of missing texts stay NaN), or a new NaN array."""
    if out is None:
        return np.full(shape, np.nan, dtype=np.float32)
    if not isinstance(out, np.ndarray) or out.shape != shape or out.dtype != np.float32:
        got = f"{type(out).__name__} {getattr(out, 'shape', '')} {getattr(out, 'dtype', '')}".strip()
        raise ValueError(
            f"out must be a float32 numpy array of shape {shape}, got {got}; e.g. out=np.empty({shape}, dtype=np.float32)"
        )
    out.fill(np.nan)
    return out


_CLASSIFIERS: dict[ClassifierOptions, EmotionClassifier] = {}
_CLASSIFIERS_LOCK = threading.Lock()


def get_classifier(
    model: str | os.PathLike[str] | None = None, *, options: ClassifierOptions | None = None, **overrides: Unpack[InferenceKwargs]
) -> EmotionClassifier:
    """The classifier for these options, shared across calls (integrations call this on every request).

    Takes what :class:`EmotionClassifier` takes (but ``progress``, which each call passes).

    Args:
        model: hub id, local directory or bundled model name (or ``options.model``).
        options: the options as one object.
        **overrides: options that override ``options``' fields.

    Returns:
        the process-wide classifier for these options (created on first use; its model loads on first use).

    Examples:
        >>> get_classifier("goemotions-small") is get_classifier(options=ClassifierOptions("goemotions-small"))  # doctest: +SKIP
        True
    """
    changes: dict[str, Any] = dict(overrides)
    if model is not None:
        changes["model"] = model
    resolved = resolve_options(options, changes)
    with _CLASSIFIERS_LOCK:
        classifier = _CLASSIFIERS.get(resolved)
        if classifier is None:
            classifier = _CLASSIFIERS[resolved] = EmotionClassifier(options=resolved)
        return classifier
