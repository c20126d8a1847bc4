"""Model loading: safetensors only, never remote code, one process-wide cache.

spaCy and pandas in the same process share one loaded model per (model, revision, device,
dtype): loading ModernBERT-base costs seconds and 600 MB, so it must happen once.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError, ModelLoadError
from .devices import resolve_device_name, resolve_dtype_name
from .tokenizer_file import read_tokenizer_file

if TYPE_CHECKING:
    from collections.abc import Sequence

    import torch

    from .options import ClassifierOptions

logger = logging.getLogger("spacy_goemotions")

#: Folder of the models shipped inside the package, one sub-folder per model name.
BUNDLED_MODELS_DIR = Path(__file__).parents[1] / "models"
#: Per-label thresholds shipped beside a model's weights (used by ``threshold="tuned"``).
MODEL_THRESHOLDS_FILE = "thresholds.json"


def bundled_model_names() -> list[str]:
    """Names usable as ``model=`` that load from package data, with no network.

    Returns:
        the names, sorted.

    Examples:
        >>> bundled_model_names()
        ['goemotions-small']
    """
    if not BUNDLED_MODELS_DIR.is_dir():
        return []
    return sorted(p.name for p in BUNDLED_MODELS_DIR.iterdir() if (p / "config.json").is_file())


def resolve_model_source(model: str | Path) -> str:
    """A bundled model name, a local directory, or (anything else) a Hugging Face hub id."""
    text = str(model)
    bundled = BUNDLED_MODELS_DIR / text
    if "/" not in text and "\\" not in text and (bundled / "config.json").is_file():
        return str(bundled)
    path = Path(text).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelLoadError(
                f"{text!r} is a directory but has no config.json, so it is not a saved model. "
                "Point model= at a folder written by save_pretrained (config.json, model.safetensors, "
                "tokenizer files), a hub id such as 'cirimus/modernbert-base-go-emotions', or one of "
                f"the bundled models {bundled_model_names()}."
            )
        return str(path.resolve())
    if path.suffix or text.startswith((".", "/", "~")) or text.count("/") > 1:
        raise ModelLoadError(
            f"Model {text!r} is neither an existing directory nor a hub id ('owner/name'). "
            f"Bundled models: {bundled_model_names()}."
        )
    return text


def is_local_source(source: str) -> bool:
    return Path(source).is_dir()


class LoadedModel:
    """A model ready for inference, shared by every classifier that asks for the same key.

    What scoring needs loads at once and light: the config as JSON (labels, model type) and, for a
    local model with a ``tokenizer.json``, its tokenizer through ``tokenizers``
    (:mod:`.tokenizer_file`), so a backend that runs from a cached conversion starts without importing
    torch or transformers. The rest loads on first use: transformers' tokenizer and config
    (:attr:`tokenizer`, :attr:`config`: training and saving use them) and the weights (:attr:`model`).
    ``weight_files`` are the safetensors files the weights come from, whose content keys the persistent cache.
    """

    def __init__(
        self,
        *,
        config_data: dict[str, Any],
        device_name: str,
        dtype_name: str,
        source: str,
        revision: str | None,
        weight_files: list[Path],
        text_tokenizer: Any = None,
        tokenizer: Any = None,
        config: Any = None,
        quiet: bool = True,
    ) -> None:
        self.config_data = config_data
        self.labels = labels_from_config(SimpleNamespace(id2label=config_data.get("id2label", {})))
        self.device_name = device_name
        self.dtype_name = dtype_name
        self.source = source
        self.revision = revision
        self.weight_files = weight_files
        self.shipped_thresholds = read_shipped_thresholds(source, revision)
        #: How ``shipped_thresholds`` were found (a tuning result: F1, support, the data), saved with them.
        self.thresholds_record: dict[str, Any] | None = None
        self.quiet = quiet
        self._tokenizer = tokenizer
        self._text_tokenizer = text_tokenizer
        self._config = config
        self._model: torch.nn.Module | None = None
        self._lock = threading.Lock()

    @classmethod
    def in_memory(cls, model: torch.nn.Module, tokenizer: Any, *, source: str, revision: str | None) -> LoadedModel:
        """A model held in memory, as it is (a model being fine-tuned): float32, no files, no shipped thresholds.

        Args:
            model: a transformers sequence classifier in float32.
            tokenizer: its fast tokenizer.
            source: where it started from (for messages and saved copies).
            revision: the revision of ``source``.

        Returns:
            a loaded model whose weights are ``model`` itself.
        """
        held = cls.__new__(cls)
        held._tokenizer, held._text_tokenizer, held._config = tokenizer, None, model.config
        held.config_data = dict(model.config.to_dict())  # type: ignore[operator,union-attr]
        held.labels = labels_from_config(model.config)
        held.device_name, held.dtype_name = str(next(model.parameters()).device), "float32"
        held.source, held.revision, held.weight_files = source, revision, []
        held.shipped_thresholds = None  # thresholds of the starting model do not hold for trained weights
        held.thresholds_record = None
        held.quiet, held._model, held._lock = True, model, threading.Lock()
        return held

    @property
    def device(self) -> torch.device:
        """Where the weights run, as a ``torch.device`` (imports torch)."""
        import torch

        return torch.device(self.device_name)

    @property
    def device_type(self) -> str:
        """``"cpu"``, ``"cuda"`` or ``"mps"`` (no torch needed)."""
        return self.device_name.split(":")[0]

    @property
    def dtype(self) -> torch.dtype:
        """The weights' dtype, as a ``torch.dtype`` (imports torch)."""
        import torch

        dtype: torch.dtype = getattr(torch, self.dtype_name)
        return dtype

    @property
    def tokenizer(self) -> Any:
        """transformers' fast tokenizer (imports transformers on first use; scoring uses :attr:`text_tokenizer`)."""
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    self._tokenizer = _load_tokenizer(self.source, self.revision, self.quiet)
        return self._tokenizer

    @property
    def text_tokenizer(self) -> Any:
        """What scoring tokenizes with: the ``tokenizer.json`` read with ``tokenizers`` where it can be
        (same ids, no transformers import), else :attr:`tokenizer`."""
        return self._text_tokenizer if self._text_tokenizer is not None else self.tokenizer

    @property
    def pad_token_id(self) -> int:
        """The pad token's id."""
        return int(self.text_tokenizer.pad_token_id)

    @property
    def config(self) -> Any:
        """transformers' config object (imports transformers on first use; :attr:`config_data` is the JSON)."""
        if self._config is None:
            from transformers import AutoConfig

            from .quiet import quiet_transformers

            with quiet_transformers(self.quiet):
                self._config = AutoConfig.from_pretrained(self.source, revision=self.revision, trust_remote_code=False)
        return self._config

    @property
    def model(self) -> torch.nn.Module:
        """The torch model, loaded (safetensors only) on first access."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = _load_weights(self)
        return self._model

    @property
    def weights_loaded(self) -> bool:
        """Whether the torch weights are in memory (reading this never loads them)."""
        return self._model is not None

    def release_weights(self) -> None:
        """Let the torch weights go (they load again on next use): for a backend that has its own copy."""
        with self._lock:
            self._model = None

    def content_files(self) -> list[Path]:
        """The files whose content decides what the model computes: its config and its weights."""
        config = Path(self.weight_files[0]).parent / "config.json" if self.weight_files else None
        return [*([config] if config is not None and config.is_file() else []), *self.weight_files]


def labels_from_config(config: Any) -> tuple[str, ...]:
    """Label names in column order, from a transformers config's ``id2label``."""
    id2label = {int(k): str(v) for k, v in config.id2label.items()}
    if sorted(id2label) != list(range(len(id2label))):
        raise ModelLoadError(f"The model config's id2label has gaps: {sorted(id2label)}")
    return tuple(id2label[i] for i in range(len(id2label)))


def model_labels(model: str | Path, revision: str | None = None) -> tuple[str, ...]:
    """A model's label names in score-column order, read from its config alone (no weights).

    Adapters that must describe their output before any model loads (a Dask ``meta``) use this.
    A local or bundled model's ``config.json`` is read directly, so the caller does not even import
    transformers; a hub id goes through ``transformers.AutoConfig`` (served from the local cache
    when the hub is offline).

    Examples:
        >>> model_labels("goemotions-small")[:2]  # doctest: +SKIP
        ('admiration', 'amusement')
    """
    source = resolve_model_source(model)
    return _config_labels(source, revision)


def declared_labels(options: ClassifierOptions, labels: Sequence[str] | None) -> tuple[str, ...]:
    """The label names a lazy integration declares its output with, before any model loads: a ``labels=``
    override (checked for form here, against the model where it runs), else the model's config.

    Raises:
        ConfigurationError: for an override that is not a non-empty list of distinct names.
    """
    if labels is None:
        return model_labels(options.model_name, options.revision)
    if isinstance(labels, str) or not labels or not all(isinstance(name, str) for name in labels):
        raise ConfigurationError(
            f"labels must be a non-empty list of label names in the model's id2label order, got {labels!r}. "
            "Example: labels=spacy_goemotions.GOEMOTIONS_LABELS"
        )
    if len(set(labels)) != len(labels):
        raise ConfigurationError(f"labels has duplicates: {sorted({n for n in labels if list(labels).count(n) > 1})}")
    return tuple(labels)


@functools.lru_cache(maxsize=32)
def _config_labels(source: str, revision: str | None) -> tuple[str, ...]:
    if is_local_source(source):
        config_file = Path(source) / "config.json"
        try:
            data = json.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ModelLoadError(f"Could not read the label names from {config_file}: {error}") from error
        # Without id2label, transformers invents LABEL_0..; only AutoConfig knows those defaults.
        if isinstance(data, dict) and isinstance(data.get("id2label"), dict) and data["id2label"]:
            return labels_from_config(SimpleNamespace(id2label=data["id2label"]))
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(source, revision=revision, trust_remote_code=False)
    except (OSError, ValueError) as error:
        raise ModelLoadError(
            f"Could not read the config of model {source!r} (revision {revision!r}): {str(error).rstrip('.')}. "
            "Offline, pass a local directory saved with save_pretrained, or give the label names "
            "where the caller takes them (ddf.emotions.classify(..., labels=[...]))."
        ) from error
    return labels_from_config(config)


def read_shipped_thresholds(source: str, revision: str | None) -> dict[str, float] | None:
    """The model's ``thresholds.json`` if it ships one, else None."""
    if is_local_source(source):
        file: Path | None = Path(source) / MODEL_THRESHOLDS_FILE
    else:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

        try:
            file = Path(hf_hub_download(source, MODEL_THRESHOLDS_FILE, revision=revision))
        except (EntryNotFoundError, LocalEntryNotFoundError):
            file = None
    if file is None or not file.is_file():
        return None
    data = json.loads(file.read_text(encoding="utf-8"))
    mapping = data.get("thresholds", data) if isinstance(data, dict) else None
    if not isinstance(mapping, dict):
        raise ModelLoadError(f"{file} must hold a JSON object of label -> threshold")
    return {str(k): float(v) for k, v in mapping.items()}


_HINT = "Only safetensors weights are loaded."


def _hint() -> str:
    return (
        "Check the name, or, offline, pass a local directory saved with save_pretrained "
        f"(or a bundled model: {bundled_model_names()}). {_HINT}"
    )


def _load_uncached(source: str, revision: str | None, device: str, dtype: str, quiet: bool) -> LoadedModel:
    from .fork import install_fork_guard

    install_fork_guard()  # before torch runs: forked workers (nlp.pipe n_process) must not hang
    try:
        folder = _local_files(source, revision)
        config: Any = None
        tokenizer: Any = None
        text_tokenizer = read_tokenizer_file(folder) if folder is not None else None
        config_data = _read_config_json(folder / "config.json") if folder is not None and text_tokenizer is not None else None
        if config_data is None:  # what only transformers reads (or a hub model it cannot find): load both with it
            text_tokenizer = None
            tokenizer = _load_tokenizer(source, revision, quiet)
            from transformers import AutoConfig

            from .quiet import quiet_transformers

            with quiet_transformers(quiet):
                config = AutoConfig.from_pretrained(source, revision=revision, trust_remote_code=False)
            config_data = config.to_dict()
        files = _weight_files(source, revision)
    except (OSError, ValueError) as error:
        raise ModelLoadError(f"Could not load model {source!r} (revision {revision!r}): {error}. {_hint()}") from error
    loaded = LoadedModel(
        config_data=config_data,
        device_name=device,
        dtype_name=dtype,
        source=source,
        revision=revision,
        weight_files=files,
        text_tokenizer=text_tokenizer,
        tokenizer=tokenizer,
        config=config,
        quiet=quiet,
    )
    logger.info("Loaded %s (revision %s) for %s as %s", source, revision, device, dtype)
    return loaded


def _load_tokenizer(source: str, revision: str | None, quiet: bool) -> Any:
    """transformers' tokenizer for ``source``, checked: fast, with a pad token."""
    from transformers import AutoTokenizer

    from .quiet import quiet_transformers

    try:
        with quiet_transformers(quiet):
            tokenizer = AutoTokenizer.from_pretrained(source, revision=revision, trust_remote_code=False)
    except (OSError, ValueError) as error:
        raise ModelLoadError(f"Could not load model {source!r} (revision {revision!r}): {error}. {_hint()}") from error
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(f"Model {source!r} has no fast tokenizer (tokenizer.json); one is required.")
    if tokenizer.pad_token_id is None:
        raise ModelLoadError(f"The tokenizer of {source!r} has no pad token; batched inference needs one.")
    return tokenizer


def _local_files(source: str, revision: str | None) -> Path | None:
    """The folder holding the model's config and tokenizer files: the model's own folder, or, for a hub model, its
    snapshot of this revision in the hub cache (downloaded there when missing and online, as transformers would).
    None where they cannot all be had: transformers then loads them, and reports what is wrong."""
    if is_local_source(source):
        return Path(source)
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    try:
        folder = Path(hf_hub_download(source, "config.json", revision=revision)).parent
        if Path(hf_hub_download(source, "tokenizer.json", revision=revision)).parent != folder:
            return None  # the revision moved between the two calls: let transformers resolve it once
        for optional in ("tokenizer_config.json", "special_tokens_map.json"):
            with contextlib.suppress(EntryNotFoundError):
                hf_hub_download(source, optional, revision=revision)
    except (OSError, ValueError):  # offline and not cached, no such repository, a bad id: transformers says which
        return None
    return folder


def _read_config_json(file: Path) -> dict[str, Any] | None:
    """The config as JSON, or None where only transformers knows the labels (no ``id2label``: it invents LABEL_0...)."""
    data = json.loads(file.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("id2label"), dict) or not data["id2label"]:
        return None
    return data


def _weight_files(source: str, revision: str | None) -> list[Path]:
    """The model's safetensors files (downloaded from the hub if need be); no safetensors is an error."""
    if is_local_source(source):
        files = sorted(Path(source).glob("*.safetensors"))
    else:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError

        try:
            files = [Path(hf_hub_download(source, "model.safetensors", revision=revision))]
        except EntryNotFoundError:  # a sharded model: its index names the shards
            index = Path(hf_hub_download(source, "model.safetensors.index.json", revision=revision))
            shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
            files = [Path(hf_hub_download(source, shard, revision=revision)) for shard in shards]
    if not files:
        raise ModelLoadError(f"Model {source!r} has no safetensors weights (model.safetensors). {_HINT}")
    return files


def _load_weights(loaded: LoadedModel) -> torch.nn.Module:
    from transformers import AutoModelForSequenceClassification

    from .quiet import quiet_transformers

    try:
        with quiet_transformers(loaded.quiet):
            model = AutoModelForSequenceClassification.from_pretrained(
                loaded.source, revision=loaded.revision, use_safetensors=True, trust_remote_code=False, dtype=loaded.dtype
            )
    except (OSError, ValueError) as error:
        raise ModelLoadError(
            f"Could not load the weights of {loaded.source!r} (revision {loaded.revision!r}): {error}. {_hint()}"
        ) from error
    model.to(loaded.device).eval()
    logger.info("Loaded the weights of %s on %s as %s", loaded.source, loaded.device_name, loaded.dtype_name)
    module: torch.nn.Module = model
    return module


_CACHE: dict[tuple[str, str | None, str, str], LoadedModel] = {}
_CACHE_LOCK = threading.Lock()
load_count = 0  # how many models were loaded in this process (tests use it to prove sharing)


def load_model(
    model: str | Path,
    revision: str | None = None,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype = "auto",
    *,
    quiet: bool = True,
) -> LoadedModel:
    """Load (or fetch from the process-wide cache) a model and its tokenizer; the weights load on first use.

    ``quiet``: keep transformers' own progress bars and warnings to itself (on unless progress is asked for).
    Thread-safe."""
    global load_count
    source = resolve_model_source(model)
    device_name = resolve_device_name(device)
    key = (source, revision, device_name, resolve_dtype_name(dtype, device_name))
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = _load_uncached(source, revision, key[2], key[3], quiet)
            load_count += 1
        return _CACHE[key]


def clear_model_cache() -> None:
    """Drop every cached model (frees memory; the next call loads again).

    Examples:
        >>> clear_model_cache()  # the next get_classifier(...) call loads its model again
    """
    with _CACHE_LOCK:
        _CACHE.clear()
