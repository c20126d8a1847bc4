"""Exception types. Every message says what was wrong and how to fix it."""

from __future__ import annotations


class GoEmotionsError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigurationError(GoEmotionsError, ValueError):
    """A bad argument or config value (threshold, top_k, device, dtype, ...)."""


class ModelLoadError(GoEmotionsError, OSError):
    """The model or tokenizer could not be loaded (missing files, no safetensors, no network)."""


class MissingExtraError(GoEmotionsError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the optional package {package!r}, which is not installed. "
            f"Install it with: pip install 'spacy-goemotions[{extra}]'"
        )
        self.package = package
        self.extra = extra
