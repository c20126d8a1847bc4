"""The ``goemotions`` spaCy component: a thin adapter that converts Docs to and from the core.

spaCy finds the factory through the ``spacy_factories`` entry point, so ``nlp.add_pipe("goemotions")``
and ``spacy.load(path)`` work without importing this package. The model loads lazily, on the first
Doc: spaCy builds every component *before* ``from_disk`` restores it, so a factory that loaded
eagerly could not load a saved pipeline whose original model directory is gone.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import srsly
from spacy import util
from spacy.language import Language
from spacy.pipeline import Pipe
from spacy.scorer import Scorer
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.vocab import Vocab

from ._loading import (
    MODEL_THRESHOLDS_FILE,
    is_local_source,
    model_labels,
    read_shipped_thresholds,
    resolve_model_source,
)
from .core import EmotionClassifier, get_classifier
from .errors import ConfigurationError, ModelLoadError
from .labels import DEFAULT_MODEL, GOEMOTIONS_LABELS
from .thresholds import ThresholdPolicy

__all__ = ["EmotionComponent", "make_emotion_scorer", "make_goemotions", "score_emotions"]

#: Version tag of the ``cfg`` file a saved component writes; bump it when its layout changes.
CFG_FORMAT = "spacy-goemotions/component.v1"
#: Sub-folder (or bytes key) of a saved component that holds the model, with ``save_weights=True``.
WEIGHTS_DIR = "model"

DEFAULT_CONFIG: dict[str, Any] = {
    "model": DEFAULT_MODEL,
    "revision": None,
    "device": "auto",
    "dtype": "auto",
    "backend": "torch",
    "batch_size": 256,
    "max_tokens": None,
    "max_length": 512,
    "long_text": "truncate",
    "aggregate": "max",
    "threshold": 0.5,
    "top_k": None,
    "write_cats": True,
    "per_sentence": False,
    "save_weights": False,
    "scorer": {"@scorers": "spacy_goemotions.scorer.v1"},
}

SCORE_WEIGHTS: dict[str, float | None] = {
    "cats_macro_f": 1.0,
    "cats_score": None,
    "cats_score_desc": None,
    "cats_micro_p": None,
    "cats_micro_r": None,
    "cats_micro_f": None,
    "cats_macro_p": None,
    "cats_macro_r": None,
    "cats_macro_auc": None,
    "cats_f_per_type": None,
    "cats_auc_per_type": None,
}


def _register_extensions() -> None:
    """``doc._.emotions``, ``span._.emotions`` and ``span._.emotion_scores`` (plain dicts, or None)."""
    for cls, names in ((Doc, ("emotions",)), (Span, ("emotions", "emotion_scores"))):
        for name in names:
            if not cls.has_extension(name):
                cls.set_extension(name, default=None)


_register_extensions()


def _peek_labels(model: str) -> tuple[str, ...]:
    """The model's labels without loading it: a local model's config, else the GoEmotions labels.

    spaCy reads ``labels`` while building and saving pipelines (``nlp.meta``), and the model
    directory may be gone at that point (a saved pipeline with its own weights), so this never
    fails, and it never goes to the hub from inside a factory.
    """
    try:
        source = resolve_model_source(model)
        if is_local_source(source):
            return model_labels(source)
    except (ModelLoadError, OSError, ValueError):
        pass
    return GOEMOTIONS_LABELS


def _json_form(value: Any) -> Any:
    """A JSON-normalised copy (tuples -> lists, paths -> str), to compare specs across a save."""
    return json.loads(json.dumps(value, sort_keys=True, default=os.fspath))


_TEMP_DIRS: list[str] = []


def _remove_temp_dirs() -> None:
    for folder in _TEMP_DIRS:
        shutil.rmtree(folder, ignore_errors=True)


def _temp_dir() -> Path:
    """A directory that lives as long as the process (weights restored by ``from_bytes``)."""
    if not _TEMP_DIRS:
        atexit.register(_remove_temp_dirs)
    path = tempfile.mkdtemp(prefix="spacy-goemotions-")
    _TEMP_DIRS.append(path)
    return Path(path)


class EmotionComponent(Pipe):
    """Writes ``doc.cats`` (every label's score) and ``doc._.emotions`` (the labels the policy selects).

    Build it with ``nlp.add_pipe("goemotions", config={...})``; the arguments are the config keys
    documented in the README. Every value is validated here, and the model is not loaded until the
    first Doc arrives.

    Example:
        >>> nlp = spacy.blank("en")                                        # doctest: +SKIP
        >>> nlp.add_pipe("goemotions", config={"threshold": "model_card"})  # doctest: +SKIP
        >>> nlp("Thank you so much!")._.emotions                            # doctest: +SKIP
        {'gratitude': 0.98}
    """

    def __init__(
        self,
        vocab: Vocab,
        name: str = "goemotions",
        *,
        model: str = DEFAULT_MODEL,
        revision: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        backend: str = "torch",
        batch_size: int = 256,
        max_tokens: int | None = None,
        max_length: int = 512,
        long_text: str = "truncate",
        aggregate: str = "max",
        threshold: float | Mapping[str, float] | str = 0.5,
        top_k: int | None = None,
        write_cats: bool = True,
        per_sentence: bool = False,
        save_weights: bool = False,
        scorer: Callable[..., dict[str, Any]] | None = None,
    ) -> None:
        for flag, value in (("write_cats", write_cats), ("per_sentence", per_sentence), ("save_weights", save_weights)):
            if not isinstance(value, bool):
                raise ConfigurationError(f"{flag} must be true or false, got {value!r}. Example: {flag} = true")
        self.vocab = vocab
        self.name = name
        self._weights_source: str | None = None  # set when the model comes from a saved pipeline
        self._saved_revision: str | None = None
        self.write_cats = write_cats
        self.per_sentence = per_sentence
        self.save_weights = save_weights
        self.scorer = scorer
        # What the config says; kept apart from where the weights come from after from_disk.
        self._config_model = str(model)
        self._threshold_spec = _json_form(threshold)
        self._options: dict[str, Any] = {
            "device": device, "dtype": dtype, "backend": backend, "batch_size": batch_size, "max_tokens": max_tokens,
            "max_length": max_length, "long_text": long_text, "aggregate": aggregate,
        }  # fmt: skip
        self._use_model(model, revision)  # validates every core option, loads nothing
        self.policy = ThresholdPolicy.from_spec(threshold, top_k, labels=self._labels)
        _register_extensions()

    def _use_model(self, model: str | Path, revision: str | None) -> None:
        self._classifier: EmotionClassifier = get_classifier(model, revision=revision, **self._options)
        self._labels = _peek_labels(str(model))

    @property
    def classifier(self) -> EmotionClassifier:
        """The shared core classifier this component calls (the model loads on its first use)."""
        return self._classifier

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels, in score order. Reading this never loads the model (spaCy reads it for meta)."""
        loaded = self._classifier._loaded
        return loaded.labels if loaded is not None else self._labels

    @property
    def cfg(self) -> dict[str, Any]:
        """Everything that defines the component's behaviour, as saved by ``to_disk``/``to_bytes``."""
        return {
            "format": CFG_FORMAT,
            "model": self._config_model,
            "revision": self._classifier.revision if self._weights_source is None else self._saved_revision,
            **self._options,
            "threshold": self._threshold_spec,
            "top_k": self.policy.top_k,
            "policy": self.policy.to_dict(),
            "labels": list(self.labels),
            "write_cats": self.write_cats,
            "per_sentence": self.per_sentence,
            "save_weights": self.save_weights,
        }

    # --- processing ------------------------------------------------------------------------

    def __call__(self, doc: Doc) -> Doc:
        """Annotate one Doc (spaCy's ``nlp()`` routes errors through its error handler)."""
        self._annotate([doc])
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 1000) -> Iterator[Doc]:
        """Annotate a stream, ``batch_size`` Docs per call to the core (``nlp.pipe`` passes its own).

        The core sorts each batch by length and packs it to a token budget, so large batches
        across Docs are what makes this fast. Errors go to the pipeline's error handler
        (by default: raised), like spaCy's own components; nothing is annotated silently empty.
        """
        error_handler = self.get_error_handler()
        for docs in util.minibatch(stream, size=batch_size):  # type: ignore[no-untyped-call]
            try:
                self._annotate(docs)
            except Exception as error:
                error_handler(self.name, self, docs, error)
                continue
            yield from docs

    def _sentences(self, doc: Doc) -> list[Span]:
        if len(doc) == 0:
            return []
        if not doc.has_annotation("SENT_START"):
            raise ConfigurationError(
                f"The {self.name!r} component has per_sentence=True, but this Doc has no sentence "
                f"boundaries ({doc.text[:40]!r}). Add a component that sets them before it, e.g. "
                f"nlp.add_pipe('sentencizer', before={self.name!r}), or a parser/senter."
            )
        return list(doc.sents)

    def _annotate(self, docs: Sequence[Doc]) -> None:
        spans = [span for doc in docs for span in self._sentences(doc)] if self.per_sentence else []
        texts = [doc.text for doc in docs] + [span.text for span in spans]
        classifier = self._classifier
        scores = classifier.scores(texts, progress=False)  # one core call for the whole batch
        labels = classifier.labels
        selected = self.policy.select(scores, labels, classifier.loaded.shipped_thresholds)
        rows = scores.tolist()  # plain Python floats: msgpack (DocBin, n_process) takes them as is
        for index, doc in enumerate(docs):
            if self.write_cats:
                doc.cats.update(zip(labels, rows[index], strict=True))
            doc._.emotions = {labels[i]: rows[index][i] for i in selected[index]}
        for index, span in enumerate(spans, start=len(docs)):
            span._.emotion_scores = dict(zip(labels, rows[index], strict=True))
            span._.emotions = {labels[i]: rows[index][i] for i in selected[index]}

    # --- scoring ---------------------------------------------------------------------------

    def score(self, examples: Iterable[Example], **kwargs: Any) -> dict[str, Any]:
        """P/R/F of ``doc.cats`` with this component's policy (per-label thresholds, top_k)."""
        if self.scorer is None:
            return {}
        settings: dict[str, Any] = {"labels": self.labels, "thresholds": self._cutoffs(), "top_k": self.policy.top_k}
        settings.update(kwargs)
        return self.scorer(examples, **settings)

    def _cutoffs(self) -> dict[str, float]:
        # "tuned" (thresholds None) needs the thresholds shipped with the model, hence the load.
        shipped = self._classifier.loaded.shipped_thresholds if self.policy.thresholds is None else None
        return dict(zip(self.labels, self.policy.cutoffs(self.labels, shipped).tolist(), strict=True))

    # --- serialization ---------------------------------------------------------------------

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = util.SimpleFrozenList()) -> None:
        """Save the config and policy (``cfg``) and, with ``save_weights``, the model (``model/``)."""
        serializers: dict[str, Callable[[Path], Any]] = {"cfg": lambda p: p.write_text(self._cfg_json(), encoding="utf-8")}
        if self.save_weights:
            serializers[WEIGHTS_DIR] = self._write_weights
        util.to_disk(Path(path), serializers, exclude)

    def _cfg_json(self) -> str:
        # The stdlib json, not srsly's: srsly reads 0.3 back as 0.30000000000000004.
        return json.dumps(self.cfg, indent=2)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = util.SimpleFrozenList()) -> EmotionComponent:
        """Restore the policy and, when the pipeline holds the model, use those weights (offline)."""
        path = Path(path)
        data: dict[str, Any] = {}
        util.from_disk(path, {"cfg": lambda p: data.update(json.loads(p.read_text(encoding="utf-8")))}, exclude)
        weights = path / WEIGHTS_DIR
        self._restore(data, weights if WEIGHTS_DIR not in exclude and (weights / "config.json").is_file() else None)
        return self

    def to_bytes(self, *, exclude: Iterable[str] = util.SimpleFrozenList()) -> bytes:
        """Like :meth:`to_disk`; with ``save_weights`` the model files travel as bytes (size of the model)."""
        serializers: dict[str, Callable[[], bytes]] = {"cfg": lambda: self._cfg_json().encode("utf-8")}
        if self.save_weights:
            serializers[WEIGHTS_DIR] = self._weights_bytes
        return util.to_bytes(serializers, exclude)

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = util.SimpleFrozenList()) -> EmotionComponent:
        """Inverse of :meth:`to_bytes`; model files are written to a temporary directory kept until exit."""
        data: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        util.from_bytes(
            bytes_data,
            {"cfg": lambda b: data.update(json.loads(b)), WEIGHTS_DIR: lambda b: files.update(srsly.msgpack_loads(b))},
            exclude,
        )
        weights = None
        if files:
            weights = _temp_dir()
            for name, content in files.items():
                target = weights / name
                if target.resolve().parent != weights.resolve():
                    raise ValueError(f"Refusing to write model file {name!r} outside {weights}")
                target.write_bytes(content)
        self._restore(data, weights)
        return self

    def _restore(self, data: Mapping[str, Any], weights: Path | None) -> None:
        """Apply a saved ``cfg``: the config.cfg values (or load-time overrides) stay authoritative.

        The saved policy replaces the one built from config.cfg only when the config asks for the
        same threshold spec, so a preset or file that changed since saving changes nothing, while
        ``spacy.load(path, config={"components.goemotions.threshold": 0.3})`` still wins. Likewise
        the saved weights are used when the config names the model they were saved from.
        """
        if not data:
            return
        if data.get("format") != CFG_FORMAT:
            raise ValueError(f"Unsupported goemotions cfg format {data.get('format')!r}; expected {CFG_FORMAT!r}")
        if weights is not None and data.get("model") == self._config_model:
            self._weights_source = str(weights)
            self._saved_revision = data.get("revision")
            self._use_model(weights, None)
        same_spec = data.get("threshold") == self._threshold_spec and data.get("top_k") == self.policy.top_k
        if same_spec and data.get("policy") is not None:
            self.policy = ThresholdPolicy.from_dict(data["policy"], labels=self._labels)

    def _write_weights(self, out: Path) -> None:
        """Save the model as float32 safetensors, its tokenizer and shipped thresholds into ``out``."""
        source = resolve_model_source(self._classifier.model_name)
        revision = self._classifier.revision
        if out.exists() and Path(source).is_dir() and Path(source).resolve() == out.resolve():
            return  # saving a loaded pipeline over itself: the files are already there
        if out.exists():
            shutil.rmtree(out)
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        loaded = self._classifier._loaded
        model: Any
        if loaded is not None and loaded.dtype == torch.float32:
            model, tokenizer = loaded.model, loaded.tokenizer
        else:  # save full precision, not a bf16/fp16 copy: reload the original weights
            try:
                tokenizer = AutoTokenizer.from_pretrained(source, revision=revision, trust_remote_code=False)
                model = AutoModelForSequenceClassification.from_pretrained(
                    source, revision=revision, use_safetensors=True, trust_remote_code=False, dtype=torch.float32
                )
            except (OSError, ValueError) as error:
                raise ModelLoadError(f"Could not read model {source!r} to save its weights: {error}") from error
        model.save_pretrained(str(out))
        tokenizer.save_pretrained(str(out))
        shipped = read_shipped_thresholds(source, revision)
        if shipped is not None:
            (out / MODEL_THRESHOLDS_FILE).write_text(json.dumps({"thresholds": shipped}, indent=2), encoding="utf-8")

    def _weights_bytes(self) -> bytes:
        with tempfile.TemporaryDirectory(prefix="spacy-goemotions-") as tmp:
            folder = Path(tmp) / WEIGHTS_DIR
            self._write_weights(folder)
            files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
        return cast(bytes, srsly.msgpack_dumps(files))


@Language.factory(
    "goemotions",
    assigns=["doc.cats", "doc._.emotions"],
    default_config=DEFAULT_CONFIG,
    default_score_weights=SCORE_WEIGHTS,
)
def make_goemotions(
    nlp: Language,
    name: str,
    model: str,
    revision: str | None,
    device: str,
    dtype: str,
    backend: str,
    batch_size: int,
    max_tokens: int | None,
    max_length: int,
    long_text: str,
    aggregate: str,
    threshold: float | dict[str, float] | str,
    top_k: int | None,
    write_cats: bool,
    per_sentence: bool,
    save_weights: bool,
    scorer: Callable[..., dict[str, Any]] | None,
) -> EmotionComponent:
    """Build the ``goemotions`` component (spaCy calls this for ``add_pipe`` and ``spacy.load``).

    Validates every value and loads no model. See :class:`EmotionComponent` and the README's
    config table.

    Example:
        >>> nlp.add_pipe("goemotions", config={"threshold": "model_card", "top_k": 3})  # doctest: +SKIP
    """
    return EmotionComponent(
        nlp.vocab, name, model=model, revision=revision, device=device, dtype=dtype, backend=backend, batch_size=batch_size,
        max_tokens=max_tokens, max_length=max_length, long_text=long_text, aggregate=aggregate,
        threshold=threshold, top_k=top_k, write_cats=write_cats, per_sentence=per_sentence,
        save_weights=save_weights, scorer=scorer,
    )  # fmt: skip


def _predicted_rows(examples: Sequence[Example], labels: Sequence[str]) -> tuple[np.ndarray, list[bool]]:
    """Each predicted Doc's scores over ``labels``, and whether they came from ``doc.cats``.

    With ``write_cats=False`` a Doc has no cats; its ``doc._.emotions`` (already selected by the
    policy) counts as 1.0 for the labels it holds.
    """
    matrix = np.zeros((len(examples), len(labels)), dtype=np.float32)
    from_cats = []
    for row, example in enumerate(examples):
        doc = example.predicted
        source = doc.cats if all(label in doc.cats for label in labels) else None
        from_cats.append(source is not None)
        if source is None:
            chosen = (doc._.emotions or {}) if Doc.has_extension("emotions") else {}
            source = {label: 1.0 for label in chosen}
        matrix[row] = [float(source.get(label, 0.0)) for label in labels]
    return matrix, from_cats


def score_emotions(
    examples: Iterable[Example],
    *,
    labels: Sequence[str] = GOEMOTIONS_LABELS,
    thresholds: float | Mapping[str, float] = 0.5,
    top_k: int | None = None,
    **cfg: Any,
) -> dict[str, Any]:
    """Multi-label ``Scorer.score_cats`` results, with per-label thresholds and ``top_k``.

    spaCy's ``score_cats`` applies one threshold to every label. Here each predicted Doc's cats are
    first turned into 1.0/0.0 by the policy (``score >= thresholds[label]``, at most ``top_k``),
    then scored at 0.5, so ``cats_micro_f``, ``cats_macro_f`` and ``cats_f_per_type`` follow the
    policy. ``cats_macro_auc``/``cats_auc_per_type`` (and ``cats_score``, as for spaCy's
    multi-label textcat) come from the raw scores, which AUC is about.

    Args:
        examples: examples whose ``reference.cats`` hold the gold labels (1.0/0.0; absent = unknown).
        labels: the labels to score.
        thresholds: one threshold for all labels, or label -> threshold (others 0.5).
        top_k: keep at most this many of the passing labels per Doc.

    Example:
        >>> nlp.evaluate(examples)["cats_macro_f"]       # doctest: +SKIP
    """
    examples = list(examples)
    labels = list(labels)
    if isinstance(thresholds, Mapping):
        policy = ThresholdPolicy.from_spec(dict(thresholds), top_k, labels=labels)
    else:
        policy = ThresholdPolicy.from_spec(thresholds, top_k, labels=labels)
    matrix, from_cats = _predicted_rows(examples, labels)
    binary: dict[int, dict[str, float]] = {}
    for example, chosen in zip(examples, policy.select(matrix, labels), strict=True):
        picked = set(chosen)
        binary[id(example.predicted)] = {label: float(i in picked) for i, label in enumerate(labels)}

    def policy_getter(doc: Doc, attr: str) -> Any:
        return binary[id(doc)] if id(doc) in binary else getattr(doc, attr)

    results = Scorer.score_cats(examples, "cats", getter=policy_getter, labels=labels, multi_label=True, threshold=0.5)
    if all(from_cats):
        raw = Scorer.score_cats(examples, "cats", labels=labels, multi_label=True)
        for key in ("cats_score", "cats_score_desc", "cats_macro_auc", "cats_auc_per_type"):
            results[key] = raw[key]
    return results


def make_emotion_scorer() -> Callable[..., dict[str, Any]]:
    """The registered scorer ``spacy_goemotions.scorer.v1`` (see :func:`score_emotions`)."""
    return score_emotions


util.registry.scorers.register("spacy_goemotions.scorer.v1", func=make_emotion_scorer)
