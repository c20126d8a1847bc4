"""The one definition of the inference options, which every entry point takes and passes on.

:class:`ClassifierOptions` is a frozen dataclass. It is validated once, when it is built, with the
error messages users know (the bad value ``!r``, the choices, a right example). It is hashable, so it
serves as the key of the classifier cache, and picklable, so Dask and Ray tasks carry it instead of a
model. Its fields, with their defaults and help texts, are what the command-line flags, the spaCy
config keys and the adapters' keyword arguments are built from, so a field added here is an option
everywhere. :class:`ClassifierKwargs` spells the same fields as keyword arguments for type checkers
(``**options: Unpack[ClassifierKwargs]``); a test keeps the two in step.

Nothing here imports torch: options are checked for their form (a device *name*), not against the
machine. Whether a GPU exists is decided when a classifier is built, on the machine that runs it.
"""

import dataclasses
import difflib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Literal, TypedDict, get_args

import numpy as np

from ..errors import ConfigurationError
from ..labels import DEFAULT_MODEL
from .backend_registry import check_backend_options

LongTextPolicy = Literal["truncate", "chunk"]
Aggregation = Literal["max", "mean"]
CompileOption = bool | Literal["auto"]
BackendName = Literal["auto", "torch", "openvino"]

#: Device names, as the help texts show them; ``cuda:N`` means any GPU index.
DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N", "mps")
DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
#: Compute precisions by name; ``"auto"`` picks per device (see ``devices.resolve_dtype``); ``"int8"``
#: is OpenVINO's quantized model (see ``backends.openvino_int8``).
DTYPE_CHOICES = ("auto", "float32", "bfloat16", "float16", "int8")
#: Fewest calibration texts accepted for ``dtype="int8"`` (fewer give unstable activation ranges).
MIN_CALIBRATION_TEXTS = 16


def _option(default: Any, help: str, **metadata: Any) -> Any:
    """A dataclass field with the help text every interface shows for it."""
    return field(default=default, metadata={"help": help, **metadata})


@dataclass(frozen=True)
class ClassifierOptions:
    """Every inference option of the core, validated once.

    Args:
        model: hub id, local directory saved with ``save_pretrained``, or a bundled model name.
        revision: hub revision (branch, tag or commit) to pin.
        device: ``"auto"`` (cuda, mps, cpu), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``.
        dtype: ``"auto"``, ``"float32"``, ``"bfloat16"``, ``"float16"``, or ``"int8"`` (OpenVINO's
            quantized model: faster on CPU, scores change slightly; see the docs' core page).
        backend: ``"auto"`` (OpenVINO on a CPU where it is installed, torch elsewhere: decided by the
            options and the machine alone, never by the job's size or what ran before), ``"torch"``, or
            ``"openvino"`` (CPU).
        batch_size: most sequences per padded batch (packed batches are bounded by ``max_tokens`` alone).
        max_tokens: token budget per batch (rows x padded length); None picks one per device.
        max_length: most tokens per sequence, special tokens included (ModernBERT takes 8192).
        long_text: ``"truncate"`` longer texts, or ``"chunk"`` them into overlapping windows.
        aggregate: how chunk scores combine into a text's scores, ``"max"`` or ``"mean"``.
        chunk_overlap: tokens shared by consecutive chunks; None: ``max_length // 8`` (64 at 512).
        compile: ``torch.compile`` the torch model: True, False; ``"auto"`` (the default) does not compile,
            so that a run's size never changes its engine (OpenVINO is the fast CPU path).
        prefetch: tokenize and pad ahead on a background thread; None: on for CUDA.
        packing: padding-free batches through flash-attn; None: where it works (CUDA + flash_attn).
        cache_dir: where converted models are kept between processes; ``"off"`` for none; None: the
            ``SPACY_GOEMOTIONS_CACHE_DIR`` environment variable, else ``~/.cache/spacy-goemotions``.
        calibration_texts: the texts ``dtype="int8"`` calibrates on: a text file (one text per line)
            or a sequence of strings; None: the bundled sample of GoEmotions comments.

    Raises:
        ConfigurationError: for any value of the wrong type or outside its choices, naming the
            value and giving a right example.

    Examples:
        >>> ClassifierOptions("goemotions-small", dtype="float32").batch_size
        256
    """

    model: str | os.PathLike[str] = _option(DEFAULT_MODEL, "hub id, local directory or bundled model name")
    _: KW_ONLY
    revision: str | None = _option(None, "hub revision (branch, tag or commit) to pin")
    device: str = _option("auto", "where the model runs", choices=DEVICE_CHOICES)
    dtype: str = _option("auto", "compute precision (auto: bfloat16 where the hardware has it)", choices=DTYPE_CHOICES)
    backend: BackendName = _option(
        "auto", "what runs the model: auto (openvino on CPU if installed, else torch), torch, openvino"
    )
    batch_size: int = _option(256, "most sequences per model batch")
    max_tokens: int | None = _option(None, "token budget per batch (default: 4096 on CPU, 65536 on CUDA)")
    max_length: int = _option(512, "most tokens per sequence, special tokens included")
    long_text: LongTextPolicy = _option("truncate", "truncate longer texts, or chunk them into overlapping windows")
    aggregate: Aggregation = _option("max", "how chunk scores combine (with long_text chunk)")
    chunk_overlap: int | None = _option(None, "tokens shared by consecutive chunks (default: max_length // 8)")
    compile: CompileOption = _option("auto", "torch.compile the torch model: true, false; auto (default) does not compile")
    prefetch: bool | None = _option(None, "tokenize and pad ahead on a thread: auto (on for CUDA), true, false")
    packing: bool | None = _option(None, "padding-free batches via flash-attn: auto (where it works), true, false")
    cache_dir: str | os.PathLike[str] | None = _option(
        None, "folder for converted models, or 'off' (default: ~/.cache/spacy-goemotions)"
    )
    calibration_texts: str | os.PathLike[str] | Sequence[str] | None = _option(
        None, "text file (one per line) to calibrate dtype int8 on (default: a bundled sample)"
    )

    def __post_init__(self) -> None:
        if not isinstance(self.model, (str, os.PathLike)) or not os.fspath(self.model):
            raise ConfigurationError(
                f"model must be a hub id, a directory or a bundled name, got {self.model!r}", options=("model",)
            )
        object.__setattr__(self, "model", os.fspath(self.model))  # one form, so equal options hash equal
        if self.revision is not None and not isinstance(self.revision, str):
            raise ConfigurationError(
                f"revision must be a string (branch, tag or commit), got {self.revision!r}", options=("revision",)
            )
        _check_device(self.device)
        object.__setattr__(self, "dtype", _dtype_name(self.dtype))
        _check_choice("backend", self.backend, get_args(BackendName))
        for name, example in (("batch_size", 256), ("max_tokens", 8192), ("max_length", 512)):
            value = getattr(self, name)
            if value is not None or name != "max_tokens":
                object.__setattr__(self, name, _check_positive_int(name, value, example))
        if self.max_length < 8:
            raise ConfigurationError(f"max_length must be at least 8 tokens, got {self.max_length}", options=("max_length",))
        _check_choice("long_text", self.long_text, get_args(LongTextPolicy))
        _check_choice("aggregate", self.aggregate, get_args(Aggregation))
        overlap = self.chunk_overlap
        if overlap is not None and (
            isinstance(overlap, bool) or not isinstance(overlap, int) or not 0 <= overlap < self.max_length // 2
        ):
            raise ConfigurationError(
                f"chunk_overlap must be an integer in [0, max_length // 2), got {overlap!r}. Example: chunk_overlap=64",
                options=("chunk_overlap",),
            )
        if not isinstance(self.compile, bool) and self.compile != "auto":
            raise ConfigurationError(
                f"compile must be True, False or 'auto', got {self.compile!r}. Example: compile='auto'", options=("compile",)
            )
        for name in ("prefetch", "packing"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool):
                raise ConfigurationError(
                    f"{name} must be True, False or None (automatic), got {value!r}. Example: {name}=None", options=(name,)
                )
        if self.cache_dir is not None:
            if not isinstance(self.cache_dir, (str, os.PathLike)) or not os.fspath(self.cache_dir):
                raise ConfigurationError(
                    f"cache_dir must be a folder path or 'off', got {self.cache_dir!r}. Example: cache_dir='/data/cache'",
                    options=("cache_dir",),
                )
            object.__setattr__(self, "cache_dir", os.fspath(self.cache_dir))
        object.__setattr__(self, "calibration_texts", _calibration_form(self.calibration_texts, self.dtype))
        check_backend_options(self.backend, device=self.device, dtype=self.dtype, compile=self.compile, packing=self.packing)

    @property
    def model_name(self) -> str:
        """``model`` as a string (the dataclass already stores it so)."""
        return os.fspath(self.model)

    @property
    def effective_chunk_overlap(self) -> int:
        """``chunk_overlap``, or its default ``max_length // 8``."""
        return self.max_length // 8 if self.chunk_overlap is None else self.chunk_overlap

    def replace(self, **changes: Any) -> "ClassifierOptions":
        """A copy with ``changes`` applied and validated (unknown names raise ``TypeError``).

        Args:
            **changes: new values by field name.

        Returns:
            a new, validated ``ClassifierOptions``.
        """
        check_option_names(changes)
        return dataclasses.replace(self, **changes) if changes else self

    def to_dict(self) -> dict[str, Any]:
        """Plain values by field name (JSON-serializable).

        Returns:
            ``{field: value}`` for every field.
        """
        return dataclasses.asdict(self)


class InferenceKwargs(TypedDict, total=False):
    """The fields of :class:`ClassifierOptions` but ``model``, as keyword arguments (for type checkers)."""

    revision: str | None
    device: str
    dtype: str
    backend: BackendName
    batch_size: int
    max_tokens: int | None
    max_length: int
    long_text: LongTextPolicy
    aggregate: Aggregation
    chunk_overlap: int | None
    compile: CompileOption
    prefetch: bool | None
    packing: bool | None
    cache_dir: str | os.PathLike[str] | None
    calibration_texts: str | os.PathLike[str] | Sequence[str] | None


class ClassifierKwargs(InferenceKwargs, total=False):
    """Every field of :class:`ClassifierOptions` as keyword arguments (``**options: Unpack[ClassifierKwargs]``)."""

    model: str | os.PathLike[str]


def option_fields() -> tuple[dataclasses.Field[Any], ...]:
    """The fields of :class:`ClassifierOptions`, in order: what interfaces build their options from."""
    return tuple(f for f in dataclasses.fields(ClassifierOptions) if f.name != "_")


OPTION_NAMES: frozenset[str] = frozenset(f.name for f in option_fields())


def check_option_names(
    names: Mapping[str, Any] | set[str] | frozenset[str], also: frozenset[str] = frozenset(), kind: str = "classifier option"
) -> None:
    """Raise ``TypeError`` for a name that is no option (nor one of ``also``), suggesting the closest one."""
    known = OPTION_NAMES | also
    unknown = sorted(set(names) - known)
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise TypeError(f"Unknown {kind} {name!r}.{hint} The options: {', '.join(sorted(known))}.")


def resolve_options(options: ClassifierOptions | None = None, overrides: Mapping[str, Any] | None = None) -> ClassifierOptions:
    """``options`` (or the defaults) with keyword ``overrides`` applied: how every entry point merges them.

    Examples:
        >>> resolve_options(ClassifierOptions(dtype="float32"), {"batch_size": 8}).batch_size
        8
    """
    if options is not None and not isinstance(options, ClassifierOptions):
        raise TypeError(
            f"options must be a ClassifierOptions, got {type(options).__name__}. Example: options=ClassifierOptions()"
        )
    changes = dict(overrides or {})
    check_option_names(changes)
    return ClassifierOptions(**changes) if options is None else options.replace(**changes)


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ConfigurationError(
            f"{name} must be one of {choices}, got {value!r}. Example: {name}={choices[0]!r}",
            options=(name,),
            value=value,
            example={name: choices[0]},
        )


def _dtype_name(dtype: Any) -> str:
    """The dtype as one of ``DTYPE_CHOICES``; a ``torch.dtype`` or "torch.float32" are taken too."""
    text = str(dtype) if type(dtype).__module__ == "torch" else dtype
    name = text.strip().lower().removeprefix("torch.") if isinstance(text, str) else None
    if name not in DTYPE_CHOICES:
        raise ConfigurationError(
            f"Unknown dtype {dtype!r}. Choose one of {', '.join(DTYPE_CHOICES)}. Example: dtype='float32'",
            options=("dtype",),
            value=dtype,
            example={"dtype": "float32"},
        )
    return name


def _calibration_form(value: Any, dtype: str) -> str | tuple[str, ...] | None:
    """``calibration_texts`` as a path string or a tuple of strings (hashable), checked for its form."""
    if value is None:
        return None
    if dtype != "int8":
        raise ConfigurationError(
            f"calibration_texts only applies to dtype='int8' (got dtype={dtype!r}); drop it, or set dtype='int8'",
            options=("calibration_texts", "dtype"),
        )
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if not path:
            raise ConfigurationError("calibration_texts must not be an empty path", options=("calibration_texts",))
        return str(path)
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        texts = tuple(value)
        bad = next((i for i, text in enumerate(texts) if not isinstance(text, str) or not text.strip()), None)
        if bad is not None:
            raise ConfigurationError(
                f"calibration_texts[{bad}] must be a non-empty string, got {texts[bad]!r}", options=("calibration_texts",)
            )
        if len(texts) < MIN_CALIBRATION_TEXTS:
            raise ConfigurationError(
                f"calibration_texts needs at least {MIN_CALIBRATION_TEXTS} texts, got {len(texts)}; "
                "a few hundred like the data you will score are best",
                options=("calibration_texts",),
            )
        return texts
    raise ConfigurationError(
        f"calibration_texts must be a text file (one text per line) or a list of strings, got {type(value).__name__}. "
        "Example: calibration_texts='calibration.txt'",
        options=("calibration_texts",),
    )


def _check_device(device: Any) -> None:
    if not isinstance(device, str):
        raise ConfigurationError(f"device must be a string, got {device!r}. Example: device='cuda:0'", options=("device",))
    if not DEVICE_PATTERN.match(device.strip().lower()):
        raise ConfigurationError(
            f"Unknown device {device!r}. Choose one of {', '.join(DEVICE_CHOICES)}. Example: device='cuda'",
            options=("device",),
            value=device,
            example={"device": "cuda"},
        )


def _check_positive_int(name: str, value: Any, example: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigurationError(
            f"{name} must be an integer >= 1, got {value!r}. Example: {name}={example}",
            options=(name,),
            value=value,
            example={name: example},
        )
    return int(value)
