"""The inference core: texts in, an (n, labels) float32 score matrix out, in input order.

Imports neither spaCy nor pandas; every adapter converts its types to and from this.
"""

from __future__ import annotations

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

from ._batching import pad_batch, plan_batches
from ._loading import LoadedModel, load_model
from ._text import repair_text
from .errors import ConfigurationError
from .labels import DEFAULT_MODEL
from .thresholds import ThresholdPolicy, ThresholdSpec

logger = logging.getLogger("spacy_goemotions")

LongTextPolicy = Literal["truncate", "chunk"]
Aggregation = Literal["max", "mean"]
ScoreMatrix = npt.NDArray[np.float32]

#: Token budget per batch when ``max_tokens`` is not given. On CPU a small budget wins (the long
#: tail of a sorted corpus otherwise forms a few huge padded batches); a GPU needs big batches.
DEFAULT_MAX_TOKENS = {"cpu": 4096, "cuda": 65536, "mps": 16384}
#: Inputs are processed this many rows at a time, so memory stays bounded for millions of rows.
DEFAULT_WINDOW_ROWS = 65536
#: With ``progress=None`` a bar is shown for inputs at least this large, in interactive use.
AUTO_PROGRESS_MIN_ROWS = 1000


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
        batch_size: most sequences per batch.
        max_tokens: token budget per batch (rows x padded length); None picks one per device.
        max_length: most tokens per sequence, special tokens included (ModernBERT takes 8192).
        long_text: ``"truncate"`` longer texts, or ``"chunk"`` them into overlapping windows.
        aggregate: how chunk scores combine into a text's scores, ``"max"`` or ``"mean"``.
        chunk_overlap: tokens shared by consecutive chunks (default: max_length // 8, 64 at 512).
        progress: True/False, or None for a bar on large inputs when stderr is a terminal.

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
        # Fail now, not at the first batch: device and dtype names are checked without loading.
        from ._device import resolve_device, resolve_dtype

        resolve_dtype(dtype, resolve_device(device))
        self._loaded: LoadedModel | None = None

    def __repr__(self) -> str:
        return (
            f"EmotionClassifier(model={self.model_name!r}, revision={self.revision!r}, device={self.device_spec!r}, "
            f"dtype={self.dtype_spec!r}, long_text={self.long_text!r})"
        )

    @property
    def loaded(self) -> LoadedModel:
        """The loaded model (loads it on first access)."""
        if self._loaded is None:
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

    def scores(self, texts: Iterable[str | None], *, progress: bool | None = None) -> ScoreMatrix:
        """Score texts: an (n, len(labels)) float32 array in input order; None gives a NaN row.

        Raises:
            TypeError: for an element that is neither a string nor None, naming its position.
        """
        return self.run(texts, progress=progress).scores

    def run(self, texts: Iterable[str | None], *, progress: bool | None = None) -> ScoringResult:
        """Like :meth:`scores`, also returning the run's :class:`RunStats`."""
        items = texts if isinstance(texts, Sequence) and not isinstance(texts, str) else list(texts)
        if isinstance(texts, str):
            raise TypeError("texts must be a list of strings, not a single string: pass [text]")
        loaded = self.loaded
        stats = RunStats(rows=len(items))
        output = np.full((len(items), len(loaded.labels)), np.nan, dtype=np.float32)
        started = time.perf_counter()
        with self._progress_bar(len(items), progress) as bar:
            for start in range(0, len(items), DEFAULT_WINDOW_ROWS):
                window = items[start : start + DEFAULT_WINDOW_ROWS]
                self._score_window(window, start, output, stats, bar)
        stats.seconds = time.perf_counter() - started
        return ScoringResult(output, loaded.labels, stats)

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

    def _sequences(self, texts: list[str]) -> tuple[list[list[int]], npt.NDArray[np.intp]]:
        """Token id sequences to run and, for each, the index of the text it belongs to."""
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

    def _score_window(self, window: Sequence[str | None], offset: int, output: ScoreMatrix, stats: RunStats, bar: Any) -> None:
        texts, row_owners = self._unique_texts(window, offset, stats)
        stats.unique_texts += len(texts)
        if not texts:
            bar.update(len(window))
            return
        sequences, sequence_owners = self._sequences(texts)
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
        sequence_scores = np.empty((len(sequences), len(self.labels)), dtype=np.float32)
        batches = plan_batches(lengths, self.effective_max_tokens, self.batch_size)
        done_sequences, done_rows = 0, 0
        for batch in batches:
            input_ids, attention_mask = pad_batch([sequences[i] for i in batch], self.loaded.tokenizer.pad_token_id)
            sequence_scores[batch] = self._run_batch(input_ids, attention_mask)
            stats.batches += 1
            stats.real_tokens += int(lengths[batch].sum())
            stats.computed_tokens += int(input_ids.size)
            done_sequences += len(batch)
            rows_now = len(window) * done_sequences // len(sequences)
            bar.update(rows_now - done_rows)
            done_rows = rows_now
        stats.sequences += len(sequences)
        text_scores = self._aggregate(sequence_scores, sequence_owners, len(texts))
        present = row_owners >= 0
        output[offset + np.flatnonzero(present)] = text_scores[row_owners[present]]

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

    def _run_batch(self, input_ids: npt.NDArray[np.int64], attention_mask: npt.NDArray[np.int64]) -> ScoreMatrix:
        """Forward one batch; on CUDA out-of-memory, split it in halves and retry (rows stay in order)."""
        try:
            return self._forward(input_ids, attention_mask)
        except torch.OutOfMemoryError:
            if len(input_ids) == 1:
                raise torch.OutOfMemoryError(
                    f"Out of memory on a single sequence of {input_ids.shape[1]} tokens on {self.loaded.device}. "
                    "Lower max_length, use long_text='chunk', or run on a device with more memory."
                ) from None
            if self.loaded.device.type == "cuda":
                torch.cuda.empty_cache()
            half = len(input_ids) // 2
            logger.warning("Out of memory on a batch of %d; retrying as two halves", len(input_ids))
            first = self._run_batch(*_trim(input_ids[:half], attention_mask[:half]))
            second = self._run_batch(*_trim(input_ids[half:], attention_mask[half:]))
            return np.concatenate([first, second])

    @torch.inference_mode()
    def _forward(self, input_ids: npt.NDArray[np.int64], attention_mask: npt.NDArray[np.int64]) -> ScoreMatrix:
        loaded = self.loaded
        ids = torch.from_numpy(input_ids).to(loaded.device, non_blocking=True)
        mask = torch.from_numpy(attention_mask).to(loaded.device, non_blocking=True)
        logits = loaded.model(input_ids=ids, attention_mask=mask).logits
        # Sigmoid in float32 on the device, then one copy back per batch.
        return torch.sigmoid(logits.float()).cpu().numpy()


def _trim(input_ids: npt.NDArray[np.int64], attention_mask: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Drop padding columns that no row of a sub-batch uses."""
    width = int(attention_mask.sum(axis=1).max())
    return input_ids[:, :width], attention_mask[:, :width]


_CLASSIFIERS: dict[tuple[Any, ...], EmotionClassifier] = {}


def get_classifier(model: str | Path = DEFAULT_MODEL, **options: Any) -> EmotionClassifier:
    """A classifier for these options, reused across calls (adapters call this on every request)."""
    key = (str(model), tuple(sorted((k, v if isinstance(v, (str, int, float, bool, type(None))) else repr(v)) for k, v in options.items())))
    classifier = _CLASSIFIERS.get(key)
    if classifier is None:
        classifier = _CLASSIFIERS.setdefault(key, EmotionClassifier(model, **options))
    return classifier

