"""The inference core: texts in, an (n, labels) float32 score matrix out, in input order.

Imports neither spaCy nor pandas; every adapter converts its types to and from this.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
import torch

from . import _backends, _openvino
from ._batching import Batch, build_batch, plan_batches, plan_packed_batches, prefetch, split_batch
from ._loading import LoadedModel, load_model
from ._text import repair_text
from .errors import ConfigurationError
from .labels import DEFAULT_MODEL
from .thresholds import ThresholdPolicy, ThresholdSpec

logger = logging.getLogger("spacy_goemotions")

LongTextPolicy = Literal["truncate", "chunk"]
Aggregation = Literal["max", "mean"]
CompileOption = bool | Literal["auto"]
Backend = Literal["torch", "openvino"]
ScoreMatrix = npt.NDArray[np.float32]
TokenIds = npt.NDArray[np.int32] | list[int]

#: Token budget per batch when ``max_tokens`` is not given. On CPU a small budget wins (the long
#: tail of a sorted corpus otherwise forms a few huge padded batches); a GPU needs big batches.
DEFAULT_MAX_TOKENS = {"cpu": 4096, "cuda": 65536, "mps": 16384}
#: Inputs are processed this many rows at a time, so memory stays bounded for millions of rows.
DEFAULT_WINDOW_ROWS = 65536
#: With ``progress=None`` a bar is shown for inputs at least this large, in interactive use.
AUTO_PROGRESS_MIN_ROWS = 1000
#: ``compile="auto"`` compiles (on CPU) only for runs of at least this many tokens: compiling costs
#: 75-80 s cold on 2 cores and about doubles bf16 throughput, so it pays after ~300k tokens; the
#: margin covers noisy machines and a cold inductor cache.
AUTO_COMPILE_MIN_TOKENS = 1_000_000
#: On CPU each padded batch spends at least this share of its compute on real tokens (see
#: plan_batches): compute is linear in padded tokens there, and small batches of long texts still run
#: efficiently. Not applied on GPUs (unmeasured: small batches cost launches; packing avoids padding).
MIN_BATCH_EFFICIENCY = 0.97
#: Texts per tokenizer call inside a window (bounds the tokenizer's transient memory).
TOKENIZE_CHUNK = 8192
#: Padded batches prepared ahead of the device when prefetching (each holds up to max_tokens tokens).
PREFETCH_BATCHES = 4


@dataclass
class RunStats:
    """What one scoring run did; the benchmark and the CLI summary read it."""

    rows: int = 0
    missing: int = 0
    repaired: int = 0
    unique_texts: int = 0
    sequences: int = 0
    batches: int = 0
    real_tokens: int = 0
    computed_tokens: int = 0
    seconds: float = 0.0
    compiled: bool = False
    packed: bool = False

    @property
    def padding_efficiency(self) -> float:
        """Real tokens / computed tokens (1.0 means no compute spent on padding)."""
        return self.real_tokens / self.computed_tokens if self.computed_tokens else 1.0


@dataclass
class ScoringResult:
    """Scores in input order (NaN rows for missing texts), and the run's statistics."""

    scores: ScoreMatrix
    labels: tuple[str, ...]
    stats: RunStats = field(default_factory=RunStats)


def _store_rows(target: ScoreMatrix, rows: npt.NDArray[np.intp], scores: ScoreMatrix) -> None:
    target[rows] = scores


def _check_openvino_options(device: str, compile: CompileOption, packing: bool | None) -> None:
    """backend='openvino' runs on CPU without torch.compile or packing: say so now, not mid-run."""
    _openvino.require_openvino()
    if not isinstance(device, str) or device.strip().lower() not in ("auto", "cpu"):
        raise ConfigurationError(
            f"backend='openvino' runs on the CPU, got device={device!r}. Use device='cpu', or backend='torch' for GPUs."
        )
    if compile is True or packing is True:
        raise ConfigurationError(
            "backend='openvino' compiles the model itself; drop compile=True / packing=True, or use backend='torch'."
        )


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigurationError(f"{name} must be one of {choices}, got {value!r}. Example: {name}={choices[0]!r}")


def _check_positive_int(name: str, value: Any, example: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigurationError(f"{name} must be an integer >= 1, got {value!r}. Example: {name}={example}")
    return int(value)


class EmotionClassifier:
    """Batched multi-label emotion scoring with a transformers sequence-classification model.

    Construction is cheap: the model loads on first use, from a process-wide cache shared with
    every other classifier (and every spaCy component and pandas call) asking for the same
    ``(model, revision, device, dtype)``.

    Args:
        model: hub id, local directory saved with ``save_pretrained``, or a bundled model name.
        revision: hub revision (branch, tag or commit) to pin.
        device: ``"auto"`` (cuda, mps, cpu), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``.
        dtype: ``"auto"``, ``"float32"``, ``"bfloat16"`` or ``"float16"``.
        batch_size: most sequences per padded batch (packed batches are bounded by max_tokens alone).
        max_tokens: token budget per batch (rows x padded length); None picks one per device.
        max_length: most tokens per sequence, special tokens included (ModernBERT takes 8192).
        long_text: ``"truncate"`` longer texts, or ``"chunk"`` them into overlapping windows.
        aggregate: how chunk scores combine into a text's scores, ``"max"`` or ``"mean"``.
        chunk_overlap: tokens shared by consecutive chunks (default: max_length // 8, 64 at 512).
        progress: True/False, or None for a bar on large inputs when stderr is a terminal.
        compile: run the model through ``torch.compile`` (dynamic shapes). ``"auto"`` compiles on
            CPU in bfloat16 for runs of at least ``AUTO_COMPILE_MIN_TOKENS`` tokens, where the ~80 s cold start
            pays (and reuses a model already compiled in this process); ``True`` always; ``False`` never.
        prefetch: tokenize and pad the next batches on a background thread while the device
            computes; None (default) turns it on for CUDA, where it hides the tokenizer's cost.
        packing: run batches as one row of concatenated texts without padding, through
            flash-attn's variable-length kernel; None (default) turns it on where it works (CUDA,
            ``flash_attn`` importable, a ModernBERT classifier); True insists (error otherwise).
        backend: ``"torch"`` (default), or ``"openvino"``: the same model converted once per process
            and run by OpenVINO on CPU (``pip install 'spacy-goemotions[openvino]'``); the fastest
            CPU path where the CPU has bf16 (AVX512-BF16 or AMX). ``dtype`` picks its precision.

    Example:
        >>> clf = EmotionClassifier("goemotions-small")            # doctest: +SKIP
        >>> clf.scores(["Thank you so much!"]).shape               # doctest: +SKIP
        (1, 28)
    """

    def __init__(
        self,
        model: str | Path = DEFAULT_MODEL,
        *,
        revision: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 256,
        max_tokens: int | None = None,
        max_length: int = 512,
        long_text: LongTextPolicy = "truncate",
        aggregate: Aggregation = "max",
        chunk_overlap: int | None = None,
        progress: bool | None = None,
        compile: CompileOption = "auto",
        prefetch: bool | None = None,
        packing: bool | None = None,
        backend: Backend = "torch",
    ) -> None:
        if not isinstance(model, (str, Path)) or not str(model):
            raise ConfigurationError(f"model must be a hub id, a directory or a bundled name, got {model!r}")
        if revision is not None and not isinstance(revision, str):
            raise ConfigurationError(f"revision must be a string (branch, tag or commit), got {revision!r}")
        _check_choice("long_text", long_text, get_args(LongTextPolicy))
        _check_choice("aggregate", aggregate, get_args(Aggregation))
        self.model_name = str(model)
        self.revision = revision
        self.device_spec = device
        self.dtype_spec = dtype
        self.batch_size = _check_positive_int("batch_size", batch_size, 256)
        self.max_tokens = None if max_tokens is None else _check_positive_int("max_tokens", max_tokens, 8192)
        self.max_length = _check_positive_int("max_length", max_length, 512)
        if self.max_length < 8:
            raise ConfigurationError(f"max_length must be at least 8 tokens, got {max_length}")
        if chunk_overlap is None:
            chunk_overlap = self.max_length // 8
        if isinstance(chunk_overlap, bool) or not isinstance(chunk_overlap, int) or not 0 <= chunk_overlap < self.max_length // 2:
            raise ConfigurationError(
                f"chunk_overlap must be an integer in [0, max_length // 2), got {chunk_overlap!r}. Example: chunk_overlap=64"
            )
        self.long_text: LongTextPolicy = long_text
        self.aggregate: Aggregation = aggregate
        self.chunk_overlap = chunk_overlap
        self.progress = progress
        if compile not in (True, False, "auto") or isinstance(compile, (int, float)) and not isinstance(compile, bool):
            raise ConfigurationError(f"compile must be True, False or 'auto', got {compile!r}. Example: compile='auto'")
        for name, value in (("prefetch", prefetch), ("packing", packing)):
            if value not in (None, True, False) or not isinstance(value, (bool, type(None))):
                raise ConfigurationError(f"{name} must be True, False or None (automatic), got {value!r}. Example: {name}=None")
        _check_choice("backend", backend, get_args(Backend))
        if backend == "openvino":
            _check_openvino_options(device, compile, packing)
        self.compile: CompileOption = compile
        self.prefetch = prefetch
        self.packing = packing
        self.backend: Backend = backend
        # Fail now, not at the first batch: device and dtype names are checked without loading.
        from ._device import resolve_device, resolve_dtype

        resolve_dtype(dtype, resolve_device(device))
        self._loaded: LoadedModel | None = None

    def __repr__(self) -> str:
        return (
            f"EmotionClassifier(model={self.model_name!r}, revision={self.revision!r}, device={self.device_spec!r}, "
            f"dtype={self.dtype_spec!r}, long_text={self.long_text!r}, compile={self.compile!r}, backend={self.backend!r})"
        )

    @property
    def loaded(self) -> LoadedModel:
        """The loaded model (loads it on first access)."""
        if self._loaded is None:
            if self.backend == "openvino":  # OpenVINO converts the float32 model and picks its own precision
                self._loaded = load_model(self.model_name, self.revision, "cpu", "float32")
            else:
                self._loaded = load_model(self.model_name, self.revision, self.device_spec, self.dtype_spec)
        return self._loaded

    @property
    def labels(self) -> tuple[str, ...]:
        """The model's labels in score-column order (loads the model)."""
        return self.loaded.labels

    @property
    def effective_max_tokens(self) -> int:
        budget = self.max_tokens or DEFAULT_MAX_TOKENS.get(self.loaded.device.type, 4096)
        return max(budget, self.max_length)

    def policy(self, threshold: ThresholdSpec | None = 0.5, top_k: int | None = None) -> ThresholdPolicy:
        """A validated :class:`ThresholdPolicy` for this model's labels."""
        return ThresholdPolicy.from_spec(threshold, top_k, labels=self.labels)

    def select(self, scores: ScoreMatrix, policy: ThresholdPolicy) -> list[list[str]]:
        """Labels the policy selects in each score row (highest first); NaN rows give []."""
        return policy.select_labels(scores, self.labels, self.loaded.shipped_thresholds)

    def scores(
        self, texts: Iterable[str | None], *, progress: bool | None = None, out: ScoreMatrix | None = None
    ) -> ScoreMatrix:
        """Score texts: an (n, len(labels)) float32 array in input order; None gives a NaN row.

        Args:
            texts: strings, or None for a missing text.
            progress: show a progress bar (None: the classifier's setting).
            out: an existing float32 array of shape (n, len(labels)) to fill and return instead of a
                new one; any memory layout (e.g. the transpose of a column block a DataFrame will
                own), so a caller can avoid holding the scores twice.

        Raises:
            TypeError: for an element that is neither a string nor None, naming its position.
            ValueError: for an ``out`` of the wrong shape or dtype.
        """
        return self.run(texts, progress=progress, out=out).scores

    def run(
        self, texts: Iterable[str | None], *, progress: bool | None = None, out: ScoreMatrix | None = None
    ) -> ScoringResult:
        """Like :meth:`scores`, also returning the run's :class:`RunStats`."""
        items = texts if isinstance(texts, Sequence) and not isinstance(texts, str) else list(texts)
        if isinstance(texts, str):
            raise TypeError("texts must be a list of strings, not a single string: pass [text]")
        loaded = self.loaded
        stats = RunStats(rows=len(items))
        shape = (len(items), len(loaded.labels))
        if out is None:
            output = np.full(shape, np.nan, dtype=np.float32)
        elif not isinstance(out, np.ndarray) or out.shape != shape or out.dtype != np.float32:
            got = f"{type(out).__name__} {getattr(out, 'shape', '')} {getattr(out, 'dtype', '')}".strip()
            raise ValueError(f"out must be a float32 numpy array of shape {shape}, got {got}; "
                             f"e.g. out=np.empty({shape}, dtype=np.float32)")  # fmt: skip
        else:
            output = out
            output.fill(np.nan)
        started = time.perf_counter()
        packed = self._use_packing(loaded)
        stats.packed = packed
        with self._progress_bar(len(items), progress) as bar:
            self._score_all(items, output, stats, bar, packed)
        stats.seconds = time.perf_counter() - started
        return ScoringResult(output, loaded.labels, stats)

    def warmup(self) -> float:
        """Load the model and, when this classifier would compile it, compile it now; returns seconds.

        Compilation otherwise happens inside the first large run. The warm-up runs the shape
        classes a real run meets (one row and several, texts inside and beyond the local attention
        window, with and without padding), so later batches do not recompile.

        Example:
            >>> EmotionClassifier("goemotions-small", compile=True).warmup()  # doctest: +SKIP
            81.2
        """
        started = time.perf_counter()
        loaded = self.loaded
        module = self._choose_module(loaded, estimated_tokens=float("inf") if self.compile is True else 0.0)
        if module is not loaded.model or self._use_packing(loaded):
            window = int(getattr(loaded.model.config, "local_attention", 128))
            lengths = ([8, 8], [9, 6, 3], [8], [window + 24, window + 16], [window + 24])
            run = _Run(module=module, stats=RunStats())
            packed = self._use_packing(loaded)
            for group in lengths:
                sequences = [self._synthetic_ids(min(n, self.max_length)) for n in group]
                self._run_batch(build_batch(np.arange(len(group)), sequences, loaded.tokenizer.pad_token_id, packed=packed), run)
        return time.perf_counter() - started

    def iter_scores(self, texts: Iterable[str | None], *, chunk_rows: int = DEFAULT_WINDOW_ROWS) -> Iterator[ScoreMatrix]:
        """Score a stream lazily, ``chunk_rows`` texts at a time, yielding one matrix per chunk."""
        buffer: list[str | None] = []
        for text in texts:
            buffer.append(text)
            if len(buffer) >= chunk_rows:
                yield self.scores(buffer, progress=False)
                buffer = []
        if buffer:
            yield self.scores(buffer, progress=False)

    # --- internals -------------------------------------------------------------------------

    def _progress_bar(self, total: int, progress: bool | None) -> Any:
        from tqdm.auto import tqdm

        wanted = self.progress if progress is None else progress
        if wanted is None:
            wanted = total >= AUTO_PROGRESS_MIN_ROWS and sys.stderr.isatty()
        return tqdm(total=total, unit="text", desc="goemotions", disable=not wanted, dynamic_ncols=True)

    def _unique_texts(self, window: Sequence[str | None], offset: int, stats: RunStats) -> tuple[list[str], npt.NDArray[np.intp]]:
        """Repair and deduplicate a window: the unique texts, and each row's index into them (-1: missing)."""
        position: dict[str, int] = {}
        owners = np.full(len(window), -1, dtype=np.intp)
        for row, text in enumerate(window):
            if text is None:
                stats.missing += 1
                continue
            if not isinstance(text, str):
                raise TypeError(
                    f"texts[{offset + row}] is a {type(text).__name__} ({text!r:.60}), not a string. "
                    "Convert the values first, e.g. [str(t) for t in texts], or pass None for a missing text."
                )
            text, repaired = repair_text(text)
            stats.repaired += repaired
            owners[row] = position.setdefault(text, len(position))
        return list(position), owners

    def _special_tokens(self) -> tuple[list[int], list[int]]:
        """The ids the tokenizer puts before and after a text ([CLS] and [SEP] for ModernBERT)."""
        tokenizer = self.loaded.tokenizer
        bare = tokenizer("a", add_special_tokens=False)["input_ids"]
        full = tokenizer("a", add_special_tokens=True)["input_ids"]
        for start in range(len(full) - len(bare) + 1):
            if full[start : start + len(bare)] == bare:
                return full[:start], full[start + len(bare) :]
        return [], []

    def _sequences(self, texts: list[str]) -> tuple[list[TokenIds], npt.NDArray[np.intp]]:
        """Token id sequences to run and, for each, the index of the text it belongs to.

        Texts are tokenized ``TOKENIZE_CHUNK`` at a time and each sequence is kept as a compact
        int32 array: a tokenizer call holds rich per-token objects (offsets, strings) for every
        text it encodes, and a Python list spends ~36 bytes per token, so a whole window of
        65,536 texts at once would cost hundreds of MB for a moment.
        """
        sequences: list[TokenIds] = []
        owners: list[npt.NDArray[np.intp]] = []
        for start in range(0, len(texts), TOKENIZE_CHUNK):
            chunk_sequences, chunk_owners = self._tokenize(texts[start : start + TOKENIZE_CHUNK])
            sequences.extend(np.asarray(ids, dtype=np.int32) for ids in chunk_sequences)
            owners.append(chunk_owners + start)
        return sequences, np.concatenate(owners) if owners else np.zeros(0, dtype=np.intp)

    def _tokenize(self, texts: list[str]) -> tuple[list[list[int]], npt.NDArray[np.intp]]:
        tokenizer = self.loaded.tokenizer
        if self.long_text == "truncate":
            encoded = tokenizer(texts, truncation=True, max_length=self.max_length, return_attention_mask=False,
                                return_token_type_ids=False)["input_ids"]  # fmt: skip
            return encoded, np.arange(len(texts), dtype=np.intp)
        prefix, suffix = self._special_tokens()
        body = self.max_length - len(prefix) - len(suffix)
        step = body - self.chunk_overlap
        bodies = tokenizer(texts, add_special_tokens=False, return_attention_mask=False, return_token_type_ids=False)["input_ids"]
        sequences: list[list[int]] = []
        owners: list[int] = []
        for index, ids in enumerate(bodies):
            starts = range(0, max(len(ids) - self.chunk_overlap, 1), step) if len(ids) > body else [0]
            for start in starts:
                sequences.append(prefix + ids[start : start + body] + suffix)
                owners.append(index)
        return sequences, np.asarray(owners, dtype=np.intp)

    def _synthetic_ids(self, length: int) -> list[int]:
        """``length`` token ids of plain words with the model's special tokens (for warm-up batches)."""
        tokenizer = self.loaded.tokenizer
        body = tokenizer(" ".join(["word"] * length), add_special_tokens=False)["input_ids"]
        prefix, suffix = self._special_tokens()
        body = (body * (length // max(len(body), 1) + 1))[: max(length - len(prefix) - len(suffix), 1)]
        return prefix + body + suffix

    def _use_packing(self, loaded: LoadedModel) -> bool:
        if self.packing is False:
            return False
        supported = _backends.supports_packing(loaded.model, loaded.device)
        if self.packing is True and not supported:
            raise ConfigurationError(
                f"packing=True needs a CUDA device, the flash_attn package and a ModernBERT classifier; "
                f"here the device is {loaded.device} and flash_attn is "
                f"{'installed' if _backends.flash_attn_available() else 'not installed'}. Use packing=None (automatic)."
            )
        if supported:
            _backends.enable_flash_attention(loaded.model)
        return supported

    def _choose_module(self, loaded: LoadedModel, estimated_tokens: float) -> torch.nn.Module:
        """The eager model, its compiled twin when this run should use (or build) it, or the OpenVINO module."""
        model = loaded.model
        if self.backend == "openvino":
            return _openvino.module_for(model, self.dtype_spec, torch.get_num_threads())  # type: ignore[return-value]
        if self.compile is False or _backends.supports_packing(model, loaded.device):
            return model
        if self.compile is True:
            return _backends.compiled(model)
        if _backends.compile_failed(model):
            return model
        if _backends.is_compiled(model):
            return _backends.compiled(model)
        # "auto": measured to pay with bf16 on CPU (see benchmarks/README.md); elsewhere it stays eager.
        if loaded.device.type == "cpu" and loaded.dtype == torch.bfloat16 and estimated_tokens >= AUTO_COMPILE_MIN_TOKENS:
            logger.info("Compiling the model for a run of ~%d tokens (compile='auto')", estimated_tokens)
            return _backends.compiled(model)
        return model

    def _prepare_window(self, window: Sequence[str | None], offset: int, stats: RunStats, packed: bool) -> _Window:
        """Deduplicate, tokenize and plan the batches of one window (runs on the prefetch thread if any)."""
        texts, row_owners = self._unique_texts(window, offset, stats)
        stats.unique_texts += len(texts)
        sequences, sequence_owners = self._sequences(texts) if texts else ([], np.zeros(0, dtype=np.intp))
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
        if not sequences:
            batches: list[npt.NDArray[np.intp]] = []
        elif packed:
            # Packed rows cost nothing beyond their tokens (no padding, no per-row tensor), so only the
            # token budget bounds a packed batch; batch_size caps padded batches.
            batches = plan_packed_batches(lengths, self.effective_max_tokens, len(lengths))
        else:
            on_cpu = self.loaded.device.type == "cpu"
            budget = self.effective_max_tokens
            floor = MIN_BATCH_EFFICIENCY if on_cpu else 0.0
            batches = plan_batches(lengths, budget, self.batch_size, floor, min_tokens=budget // 8, bucket_rows=on_cpu)
        return _Window(offset, len(window), len(texts), row_owners, sequences, sequence_owners, lengths, batches)

    def _stream(self, items: Sequence[str | None], stats: RunStats, packed: bool) -> Iterator[_Window | Batch]:
        """Each window, followed by its batches, in order: the one sequence the consumer reads.

        With prefetching, tokenizing window k+1 and padding (and pinning) the next batches both run
        on background threads, overlapping the device's work on the current batch.
        """
        pad_id = self.loaded.tokenizer.pad_token_id
        pin = self.loaded.device.type == "cuda"
        windows: Iterator[_Window] = (
            self._prepare_window(items[start : start + DEFAULT_WINDOW_ROWS], start, stats, packed)
            for start in range(0, len(items), DEFAULT_WINDOW_ROWS)
        )
        use_prefetch = self.prefetch if self.prefetch is not None else self.loaded.device.type == "cuda"
        if use_prefetch:
            windows = prefetch(windows, 1, name="goemotions-tokenize")

        def batches() -> Iterator[_Window | Batch]:
            for window in windows:
                yield window
                for indices in window.batches:
                    yield build_batch(indices, [window.sequences[i] for i in indices], pad_id, packed=packed, pin=pin)

        return prefetch(batches(), PREFETCH_BATCHES, name="goemotions-batches") if use_prefetch else batches()

    def _score_all(self, items: Sequence[str | None], output: ScoreMatrix, stats: RunStats, bar: Any, packed: bool) -> None:
        loaded = self.loaded
        run: _Run | None = None
        current: _Window | None = None
        done_sequences = done_rows = 0
        with contextlib.ExitStack() as cleanup:
            # OpenVINO runs several batches at once (one per stream); their scores land in the window's
            # array from OpenVINO's threads, so a window is finished only after waiting for them.
            in_flight: _openvino.AsyncRun | None = None
            for item in self._stream(items, stats, packed):
                if isinstance(item, _Window):
                    if current is not None:
                        if in_flight is not None:
                            in_flight.wait()
                        self._finish_window(current, output, stats)
                    current, done_sequences, done_rows = item, 0, 0
                    current.scores = np.empty((len(item.sequences), len(loaded.labels)), dtype=np.float32)
                    if run is None:  # decided once per run, from the first window's token count
                        estimate = float(item.lengths.sum()) * len(items) / max(item.rows, 1)
                        run = _Run(module=self._choose_module(loaded, estimate), stats=stats)
                        if isinstance(run.module, _openvino.OpenVinoModule):
                            in_flight = cleanup.enter_context(run.module.async_run())
                    if not item.sequences:
                        bar.update(item.rows)
                    continue
                assert current is not None and run is not None
                if in_flight is not None:
                    assert item.attention_mask is not None
                    sink = functools.partial(_store_rows, current.scores, item.indices)
                    in_flight.submit(item.input_ids, item.attention_mask, sink)
                else:
                    current.scores[item.indices] = self._run_batch(item, run)
                stats.batches += 1
                stats.real_tokens += item.real_tokens
                stats.computed_tokens += item.computed_tokens
                done_sequences += len(item)
                rows_now = current.rows * done_sequences // len(current.sequences)
                bar.update(rows_now - done_rows)
                done_rows = rows_now
            if current is not None:
                if in_flight is not None:
                    in_flight.wait()
                self._finish_window(current, output, stats)
        stats.compiled = run is not None and isinstance(run.module, torch.nn.Module) and run.module is not loaded.model

    def _finish_window(self, window: _Window, output: ScoreMatrix, stats: RunStats) -> None:
        stats.sequences += len(window.sequences)
        if not window.sequences:
            return
        text_scores = self._aggregate(window.scores, window.sequence_owners, window.texts)
        present = window.row_owners >= 0
        output[window.offset + np.flatnonzero(present)] = text_scores[window.row_owners[present]]

    def _aggregate(self, sequence_scores: ScoreMatrix, owners: npt.NDArray[np.intp], n_texts: int) -> ScoreMatrix:
        if len(owners) == n_texts:  # one sequence per text (truncate, or no text needed chunks)
            return sequence_scores
        if self.aggregate == "max":
            combined = np.full((n_texts, sequence_scores.shape[1]), -np.inf, dtype=np.float32)
            np.maximum.at(combined, owners, sequence_scores)
            return combined
        sums = np.zeros((n_texts, sequence_scores.shape[1]), dtype=np.float64)
        np.add.at(sums, owners, sequence_scores)
        counts = np.bincount(owners, minlength=n_texts)[:, None]
        return (sums / counts).astype(np.float32)

    def _run_batch(self, batch: Batch, run: _Run) -> ScoreMatrix:
        """Forward one batch; on out-of-memory, split it in halves and retry (rows stay in order)."""
        try:
            return self._forward(batch, run.module)
        except torch.OutOfMemoryError:
            if len(batch) == 1:
                raise torch.OutOfMemoryError(
                    f"Out of memory on a single sequence of {batch.real_tokens} tokens on {self.loaded.device}. "
                    "Lower max_length, use long_text='chunk', or run on a device with more memory."
                ) from None
            if self.loaded.device.type == "cuda":
                torch.cuda.empty_cache()
            logger.warning("Out of memory on a batch of %d; retrying as two halves", len(batch))
            first, second = split_batch(batch, self.loaded.tokenizer.pad_token_id)
            return np.concatenate([self._run_batch(first, run), self._run_batch(second, run)])
        except Exception as error:
            eager = self.loaded.model
            if run.module is eager or self.compile is True or self.backend != "torch":
                raise
            # compile="auto" must never make a run fail that the eager model would finish.
            _backends.mark_compile_failed(eager, error)
            run.module = eager
            return self._forward(batch, eager)

    @torch.inference_mode()
    def _forward(self, batch: Batch, module: torch.nn.Module) -> ScoreMatrix:
        loaded = self.loaded
        device = loaded.device
        # non_blocking: from pinned memory (CUDA) the copy is asynchronous; elsewhere it is a no-op flag.
        input_ids = batch.input_ids.to(device, non_blocking=True)
        if batch.packed:
            assert batch.position_ids is not None and batch.cu_seqlens is not None
            logits = _backends.packed_logits(
                loaded.model, input_ids, batch.position_ids.to(device, non_blocking=True),
                batch.cu_seqlens.to(device, non_blocking=True), batch.max_length,
            )  # fmt: skip
        else:
            assert batch.attention_mask is not None
            logits = module(input_ids=input_ids, attention_mask=batch.attention_mask.to(device, non_blocking=True)).logits
        # Sigmoid in float32 on the device, then one copy back per batch.
        return torch.sigmoid(logits.float()).cpu().numpy()


@dataclass
class _Window:
    """One window of rows, tokenized and planned; ``scores`` is filled batch by batch."""

    offset: int
    rows: int
    texts: int
    row_owners: npt.NDArray[np.intp]
    sequences: list[TokenIds]
    sequence_owners: npt.NDArray[np.intp]
    lengths: npt.NDArray[np.int64]
    batches: list[npt.NDArray[np.intp]]
    scores: ScoreMatrix = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))


@dataclass
class _Run:
    """Per-run state (the classifier itself is shared across threads, so it holds none)."""

    module: torch.nn.Module
    stats: RunStats


_CLASSIFIERS: dict[tuple[Any, ...], EmotionClassifier] = {}


def get_classifier(model: str | Path = DEFAULT_MODEL, **options: Any) -> EmotionClassifier:
    """A classifier for these options, reused across calls (adapters call this on every request)."""
    key = (str(model), tuple(sorted((k, v if isinstance(v, (str, int, float, bool, type(None))) else repr(v)) for k, v in options.items())))
    classifier = _CLASSIFIERS.get(key)
    if classifier is None:
        classifier = _CLASSIFIERS.setdefault(key, EmotionClassifier(model, **options))
    return classifier

