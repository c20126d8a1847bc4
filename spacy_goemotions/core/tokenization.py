"""Texts to token id sequences: truncated, or cut into overlapping chunks, with the model's special tokens."""

from __future__ import annotations

import functools
import threading
import weakref
from typing import Any

import numpy as np
import numpy.typing as npt

from .options import ClassifierOptions

TokenIds = npt.NDArray[np.int32] | list[int]
#: Texts per tokenizer call (bounds the tokenizer's transient memory).
TOKENIZE_CHUNK = 8192


_LOCKS: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()
_LOCKS_LOCK = threading.Lock()


def tokenizer_lock(tokenizer: Any) -> threading.Lock:
    """One lock per tokenizer object. A fast tokenizer is a Rust object that a call with other truncation
    settings mutates; two threads in it at once fail with "Already borrowed" (DuckDB and Polars' streaming
    engine call from several threads)."""
    with _LOCKS_LOCK:
        lock = _LOCKS.get(tokenizer)
        if lock is None:
            lock = _LOCKS[tokenizer] = threading.Lock()
        return lock


class TextEncoder:
    """Turns texts into the sequences the model runs, and says which text each sequence belongs to.

    With ``long_text="truncate"`` each text is one sequence of at most ``max_length`` tokens; with
    ``"chunk"`` a longer text becomes windows of ``max_length`` tokens (special tokens included)
    that share ``chunk_overlap`` tokens with their neighbours.
    """

    def __init__(self, tokenizer: Any, options: ClassifierOptions) -> None:
        self.tokenizer = tokenizer
        self.max_length = options.max_length
        self.long_text = options.long_text
        self.chunk_overlap = options.effective_chunk_overlap
        self._lock = tokenizer_lock(tokenizer)

    def _tokenize_with_lock(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return self.tokenizer(*args, **kwargs)

    @functools.cached_property
    def special_tokens(self) -> tuple[list[int], list[int]]:
        """The ids the tokenizer puts before and after a text ([CLS] and [SEP] for ModernBERT)."""
        bare = self._tokenize_with_lock("a", add_special_tokens=False)["input_ids"]
        full = self._tokenize_with_lock("a", add_special_tokens=True)["input_ids"]
        for start in range(len(full) - len(bare) + 1):
            if full[start : start + len(bare)] == bare:
                return full[:start], full[start + len(bare) :]
        return [], []

    def encode(self, texts: list[str]) -> tuple[list[TokenIds], npt.NDArray[np.intp]]:
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
        if self.long_text == "truncate":
            encoded = self._tokenize_with_lock(
                texts, truncation=True, max_length=self.max_length, return_attention_mask=False, return_token_type_ids=False
            )["input_ids"]
            return encoded, np.arange(len(texts), dtype=np.intp)
        prefix, suffix = self.special_tokens
        body = self.max_length - len(prefix) - len(suffix)
        step = body - self.chunk_overlap
        bodies = self._bodies(texts)
        sequences: list[list[int]] = []
        owners: list[int] = []
        for index, ids in enumerate(bodies):
            starts = range(0, max(len(ids) - self.chunk_overlap, 1), step) if len(ids) > body else [0]
            for start in starts:
                sequences.append(prefix + ids[start : start + body] + suffix)
                owners.append(index)
        return sequences, np.asarray(owners, dtype=np.intp)

    def _bodies(self, texts: list[str]) -> list[list[int]]:
        """Whole texts without special tokens. Being longer than the model's length is the point here
        (they are cut into chunks next), so the tokenizer's warning about it (``verbose``) is off."""
        bodies: list[list[int]] = self._tokenize_with_lock(
            texts, add_special_tokens=False, return_attention_mask=False, return_token_type_ids=False, verbose=False
        )["input_ids"]
        return bodies

    def synthetic_ids(self, length: int) -> list[int]:
        """``length`` token ids of plain words with the model's special tokens (for warm-up batches). They are
        cut to ``length`` here, so the tokenizer's warning about texts longer than the model (``verbose``) is off."""
        words = " ".join(["word"] * length)
        body: list[int] = self._tokenize_with_lock(words, add_special_tokens=False, verbose=False)["input_ids"]
        prefix, suffix = self.special_tokens
        body = (body * (length // max(len(body), 1) + 1))[: max(length - len(prefix) - len(suffix), 1)]
        return prefix + body + suffix
