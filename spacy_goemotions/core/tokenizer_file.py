"""A model's ``tokenizer.json`` run by the ``tokenizers`` library directly, without importing transformers.

Scoring only needs token ids, and transformers' fast tokenizer is a wrapper around this same Rust
tokenizer: importing transformers costs most of a second of start-up that the OpenVINO path never
needs. :class:`TokenizerFile` reads the same files and applies the same settings transformers applies
(truncation from the right or left, longest first, no padding), so the ids are the same
(``tests/test_tokenizer_file.py`` compares them with ``AutoTokenizer`` on the bundled and the
ModernBERT tokenizers). Where a tokenizer's config asks for something transformers would rewrite the
tokenizer for (a prefix space, added BOS/EOS tokens, a tokenizer class of its own), :func:`read_tokenizer_file`
declines and the loader uses transformers.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

#: tokenizer_config.json keys that make transformers change the tokenizer it read from tokenizer.json.
_REWRITING_KEYS = ("add_prefix_space", "add_bos_token", "add_eos_token", "do_lower_case", "legacy")
#: Tokenizer classes that take tokenizer.json as it is.
_PLAIN_CLASSES = ("PreTrainedTokenizerFast", "TokenizersBackend", None)


class TokenizerFile:
    """The subset of a transformers fast tokenizer that scoring calls: ``tokenizer(texts, ...)["input_ids"]``
    and ``pad_token_id``.

    Args:
        tokenizer: a ``tokenizers.Tokenizer``.
        pad_token_id: the id of the pad token.
        truncation_side: ``"right"`` or ``"left"``, as the tokenizer config says.
    """

    is_fast = True

    def __init__(self, tokenizer: Any, pad_token_id: int, truncation_side: str = "right") -> None:
        self._tokenizer = tokenizer
        self.pad_token_id = pad_token_id
        self.truncation_side = truncation_side
        self._lock = threading.Lock()  # the truncation setting and the call that uses it go together

    def __call__(
        self,
        text: str | list[str],
        *,
        truncation: bool = False,
        max_length: int | None = None,
        add_special_tokens: bool = True,
        **_ignored: Any,
    ) -> dict[str, Any]:
        """Token ids of one text or a list of texts, as ``{"input_ids": ...}`` (what transformers returns).

        Args:
            text: a text or a list of texts.
            truncation: cut to ``max_length`` tokens (special tokens included).
            max_length: the length to cut to.
            add_special_tokens: add the model's [CLS]/[SEP] (its post-processor's tokens).
            **_ignored: transformers' options that do not change the ids (``return_attention_mask``,
                ``return_token_type_ids``, ``verbose``).

        Returns:
            ``{"input_ids": ids}``: a list of ids for a text, a list of such lists for a list.
        """
        texts = [text] if isinstance(text, str) else list(text)
        with self._lock:
            if truncation and max_length is not None:
                self._tokenizer.enable_truncation(max_length, strategy="longest_first", direction=self.truncation_side)
            else:
                self._tokenizer.no_truncation()
            encodings = self._tokenizer.encode_batch(texts, add_special_tokens=add_special_tokens)
        ids = [encoding.ids for encoding in encodings]
        return {"input_ids": ids[0] if isinstance(text, str) else ids}

    def __len__(self) -> int:
        """The vocabulary size with added tokens (``len(tokenizer)`` in transformers).

        Returns:
            the number of token ids.
        """
        return int(self._tokenizer.get_vocab_size(with_added_tokens=True))


def read_tokenizer_file(folder: Path) -> TokenizerFile | None:
    """The tokenizer of a saved model folder, read with ``tokenizers``; None when transformers must read it.

    Args:
        folder: a folder with ``tokenizer.json`` and ``tokenizer_config.json`` (or ``special_tokens_map.json``).

    Returns:
        the tokenizer, or None: no ``tokenizer.json``, a config transformers would rewrite it for,
        or no pad token named (transformers then reports what is missing).

    Examples:
        >>> read_tokenizer_file(Path("spacy_goemotions/models/goemotions-small")).pad_token_id  # doctest: +SKIP
        0
    """
    if not (folder / "tokenizer.json").is_file():
        return None
    config = _read_json(folder / "tokenizer_config.json")
    if config.get("tokenizer_class") not in _PLAIN_CLASSES or any(key in config for key in _REWRITING_KEYS):
        return None
    pad = _token_text(config.get("pad_token")) or _token_text(_read_json(folder / "special_tokens_map.json").get("pad_token"))
    if pad is None:
        return None
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    pad_id = tokenizer.token_to_id(pad)
    if pad_id is None:
        return None
    tokenizer.no_padding()
    side = config.get("truncation_side", "right")
    return TokenizerFile(tokenizer, int(pad_id), side if side in ("left", "right") else "right")


def _read_json(file: Path) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _token_text(token: Any) -> str | None:
    """A special token as tokenizer configs write it: a string, or ``{"content": ...}``."""
    if isinstance(token, dict):
        token = token.get("content")
    return token if isinstance(token, str) and token else None
