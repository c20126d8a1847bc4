"""Exception types. Every message says what was wrong and how to fix it, in the library's own terms.

An error about options names them in ``options`` (library parameter names, such as ``"prefix"``),
so that an interface with other spellings can add its own: the command line adds its flags.
"""

from __future__ import annotations

from collections.abc import Sequence


class GoEmotionsError(Exception):
    """Base class of every error this package raises on purpose.

    Attributes:
        options: the names of the options the message is about (may be empty).
    """

    def __init__(self, message: str = "", *, options: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.options = tuple(options)


class ConfigurationError(GoEmotionsError, ValueError):
    """A bad argument or config value (threshold, top_k, device, dtype, ...)."""


class ModelLoadError(GoEmotionsError, OSError):
    """The model or tokenizer could not be loaded (missing files, no safetensors, no network)."""


class InputError(GoEmotionsError, ValueError):
    """An input file cannot be read as the format it claims (no header, a missing column...)."""


class BadLineError(InputError):
    """A malformed line (bad CSV quoting, wrong number of fields, invalid JSON); ``line`` is 1-based."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message, options=("on_bad_lines",))
        self.line = line


class MissingExtraError(GoEmotionsError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the optional package {package!r}, which is not installed. "
            f"Install it with: pip install 'spacy-goemotions[{extra}]'"
        )
        self.package = package
        self.extra = extra
