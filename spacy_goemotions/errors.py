"""Exception types. Every message says what was wrong and how to fix it, in the library's own terms.

An error about options says what is wrong as fields besides its message, so that an interface with
other spellings can say it in its own terms (the command line says ``chunk_rows=10000`` as
``--chunk-rows 10000``, see :mod:`spacy_goemotions.cli`):

- ``options``: the names of the options the message is about, as the library spells them (``"prefix"``);
- ``value``: the bad value given (of the first option), where the error is about one value;
- ``example``: right values of the options, ``{"chunk_rows": 10000}``, where the message shows one.

A message names an option as its first word (``chunk_rows must be ...``), as a keyword (``prefix=``) or
as an assignment of a Python literal (``chunk_rows=10000``, ``prefix='emo_'``, ``resume=True``), and
never as a command-line flag.

Example:
    >>> error = ConfigurationError(
    ...     "chunk_rows must be an integer >= 1, got 0. Example: chunk_rows=10000",
    ...     options=("chunk_rows",), value=0, example={"chunk_rows": 10000},
    ... )
    >>> error.options, error.value, error.example
    (('chunk_rows',), 0, {'chunk_rows': 10000})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def _rebuild(cls: type[GoEmotionsError], message: str, state: dict[str, Any]) -> GoEmotionsError:
    """Unpickle an error whatever its constructor's arguments (they are not all ``(message)``)."""
    # Created by the built-in base whose layout the instance has (OSError's for InputNotFoundError, whose MRO
    # puts ValueError first): another base's __new__ refuses it.
    builtins = [base for base in cls.__mro__ if base.__module__ == "builtins" and issubclass(base, BaseException)]
    solid: type[BaseException] = max(builtins, key=lambda base: base.__basicsize__)
    error = solid.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class GoEmotionsError(Exception):
    """Base class of every error this package raises on purpose.

    Attributes:
        options: the names of the options the message is about (may be empty).
        value: the bad value of ``options[0]`` when the error is about one value given, else None.
        example: right values of the options, ``{option: value}``, as the message's example shows them (may be empty).

    Args:
        message: what was wrong and how to fix it.
        options: the names of the options the message is about.
        value: the bad value given, where the error is about one value.
        example: right values of the options.
    """

    def __init__(
        self,
        message: str = "",
        *,
        options: Sequence[str] = (),
        value: Any = None,
        example: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.options = tuple(options)
        self.value = value
        self.example: dict[str, Any] = dict(example or {})

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross process boundaries (Spark, Dask and Ray workers, spawn): keep the type and the fields.
        return _rebuild, (type(self), str(self), dict(self.__dict__))


class ConfigurationError(GoEmotionsError, ValueError):
    """A bad argument or config value (threshold, top_k, device, dtype, ...)."""


class ModelLoadError(GoEmotionsError, OSError):
    """The model or tokenizer could not be loaded (missing files, no safetensors, no network)."""


class InputError(GoEmotionsError, ValueError):
    """An input file cannot be read as the format it claims (no header, a missing column...)."""


class InputNotFoundError(InputError, FileNotFoundError):
    """The input names nothing to read: no such file, an empty folder, a glob that matches no file."""


class BadLineError(InputError):
    """A malformed line (bad CSV quoting, wrong number of fields, invalid JSON); ``line`` is 1-based.

    Args:
        message: what is wrong with the line.
        line: its 1-based line number in the input.
    """

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message, options=("on_bad_lines",))
        self.line = line


class NonFiniteScoresError(GoEmotionsError, ArithmeticError):
    """The model computed NaN or infinite logits for a batch: a numeric failure, never silently written as scores.

    float16 overflows and some attention kernels' fully masked rows give NaN; the message names the engine and
    says what to try (``dtype="float32"`` or ``"bfloat16"``, another backend).
    """


class MissingExtraError(GoEmotionsError, ImportError):
    """An optional dependency is missing; the message names the extra to install.

    Args:
        package: the missing package.
        extra: the extra of spacy-goemotions that installs it.
        purpose: what needed it (the message starts with it).
    """

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the optional package {package!r}, which is not installed. "
            f"Install it with: pip install 'spacy-goemotions[{extra}]'"
        )
        self.package = package
        self.extra = extra
