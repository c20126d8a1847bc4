"""The ``goemotions`` spaCy component, in spaCy's own shape: ``predict`` scores, ``set_annotations`` writes.

spaCy finds the factory through the ``spacy_factories`` entry point, so ``nlp.add_pipe("goemotions")`` and
``spacy.load(path)`` work without importing this package. The model loads lazily, on the first Doc: spaCy
builds every component *before* ``from_disk`` restores it, so a factory that loaded eagerly could not load a
saved pipeline whose original model directory is gone.

The config keys are the component's settings and every field of :class:`~spacy_goemotions.core.ClassifierOptions`:
the factory's signature, which spaCy validates configs against, is built from those two definitions.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from spacy import util
from spacy.pipeline import Pipe
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.vocab import Vocab

from ...core.classifier import EmotionClassifier, get_classifier
from ...core.explanations import MAX_WORDS, Explanation, explain_segmented
from ...core.options import ClassifierKwargs, ClassifierOptions, resolve_options
from ...core.table import GroupOutput, TableOptions
from ...core.thresholds import ThresholdPolicy, check_top_k
from ...errors import ConfigurationError
from ...labels import GOEMOTIONS_LABELS
from ...training import TrainingSettings, check_label_set
from ...visual.words import segment
from . import serialization
from .serialization import CFG_FORMAT, WEIGHTS_DIR
from .training import TrainableEmotions

if sys.version_info >= (3, 11):
    from typing import Unpack
else:  # pragma: no cover - the factory's signature is read at run time, so this import must be real
    from typing_extensions import Unpack

__all__ = ["EmotionComponent"]

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
SCORER_DEFAULT = {"@scorers": "spacy_goemotions.scorer.v1"}


#: Extensions the component writes (plain data, or None): on the Doc, and on sentences with ``per_sentence``.
DOC_EXTENSIONS = ("emotions", "emotion_groups", "emotion_group_scores", "emotion_explanation")
SPAN_EXTENSIONS = ("emotions", "emotion_scores", "emotion_groups", "emotion_group_scores")


def _register_extensions() -> None:
    for cls, names in ((Doc, DOC_EXTENSIONS), (Span, SPAN_EXTENSIONS)):
        for name in names:
            if not cls.has_extension(name):
                cls.set_extension(name, default=None)


_register_extensions()


def _json_form(value: Any) -> Any:
    """A JSON-normalised copy (tuples -> lists, paths -> str), to compare specs across a save."""
    return json.loads(json.dumps(value, sort_keys=True, default=os.fspath))


@dataclass
class EmotionPredictions:
    """What :meth:`EmotionComponent.predict` returns and :meth:`~EmotionComponent.set_annotations` writes.

    Attributes:
        scores: ``(docs + sentences, labels)`` float32: each Doc's row, then each sentence's (``per_sentence``).
        explanations: one per Doc with ``explain``, else None.
    """

    scores: npt.NDArray[np.float32]
    explanations: list[Explanation | None] | None = None


class EmotionComponent(TrainableEmotions, Pipe):
    """Writes ``doc.cats`` (every label's score) and ``doc._.emotions`` (the labels the policy selects).

    Build it with ``nlp.add_pipe("goemotions", config={...})``; the arguments are the config keys (the
    site's spaCy page lists them all). Every value is validated here, and the model is not loaded until
    the first Doc arrives.

    Args:
        vocab: the pipeline's vocabulary (spaCy passes it).
        name: the component's name in the pipeline.
        threshold: the threshold policy that selects ``doc._.emotions``: a float, ``{label: float}``,
            ``"model_card"``, ``"tuned"`` or a thresholds JSON path.
        top_k: keep at most this many labels in ``doc._.emotions``, highest first; None keeps every label that passes.
        write_cats: write every label's raw score to ``doc.cats``; False leaves ``doc.cats`` to other components.
        per_sentence: also annotate each ``doc.sents`` span: ``span._.emotions``, ``span._.emotion_scores``
            (needs sentence boundaries: a sentencizer, parser or senter before this component).
        save_weights: ``to_disk``/``to_bytes`` also save the model, so the pipeline loads offline anywhere.
        explain: also store each Doc's word-level explanation in ``doc._.emotion_explanation``. Off by
            default: a Doc of n words costs n + 1 scored sequences.
        explain_top_k: how many of the Doc's highest-scoring labels ``explain`` explains.
        taxonomy: emotion groups: ``"ekman"``, ``"sentiment"``, a registered name, a JSON file, or a list of
            them. ``doc._.emotion_groups`` holds ``{taxonomy: {group: score}}`` for the groups that are on,
            ``doc._.emotion_group_scores`` every group's score (sentences too).
        group_threshold: the groups' policy: a float, ``{group: float}`` or a thresholds JSON path.
        group_top_k: keep at most this many groups per Doc and taxonomy.
        scorer: what ``nlp.evaluate`` calls: ``spacy_goemotions.scorer.v1`` scores ``doc.cats`` under the
            component's own policy.
        labels: the label set ``spacy train`` trains (a data label outside it is an error); None: the labels of
            the training data's ``doc.cats``.
        training: how ``spacy train`` fine-tunes: ``learning_rate``, ``weight_decay``, ``warmup_steps``,
            ``total_steps``, ``grad_clip``, ``freeze_layers``, ``autocast``, ``max_length``, ``tokens_per_pass``,
            ``positive_weight``, ``tune_thresholds`` (see :class:`~spacy_goemotions.training.TrainingSettings`; the
            seed is ``system.seed``).
        options: the classifier options as one object; the keyword options below override its fields.
        **overrides: the classifier options (:class:`~spacy_goemotions.core.options.ClassifierOptions`'
            fields), as for ``df.emotions.classify``.

    Examples:
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
        threshold: float | dict[str, float] | str = 0.5,
        top_k: int | None = None,
        write_cats: bool = True,
        per_sentence: bool = False,
        save_weights: bool = False,
        explain: bool = False,
        explain_top_k: int = 3,
        taxonomy: str | list[str] | None = None,
        group_threshold: float | dict[str, float] | str = 0.5,
        group_top_k: int | None = None,
        scorer: Callable[..., dict[str, Any]] | None = None,
        labels: list[str] | None = None,
        training: dict[str, Any] | None = None,
        options: ClassifierOptions | None = None,
        **overrides: Unpack[ClassifierKwargs],
    ) -> None:
        flags = (("write_cats", write_cats), ("per_sentence", per_sentence), ("save_weights", save_weights), ("explain", explain))
        for flag, value in flags:
            if not isinstance(value, bool):
                raise ConfigurationError(f"{flag} must be true or false, got {value!r}. Example: {flag} = true")
        self.vocab = vocab
        self.name = name
        self.write_cats = write_cats
        self.per_sentence = per_sentence
        self.save_weights = save_weights
        self.explain = explain
        self.explain_top_k = check_top_k(explain_top_k) or 3
        self.scorer = scorer
        self.train_labels = None if labels is None else check_label_set(labels)
        self.training = dict(training or {})
        _training_settings(self.training)  # a bad setting fails here, not when training starts
        self._trainer = None
        self._added_labels = []
        # What the config says, kept apart from where the weights come from after from_disk.
        self._config_options = resolve_options(options, overrides)  # validates every option, loads nothing
        self._threshold_spec = _json_form(threshold)
        self._saved_revision: str | None = None  # the config's revision, when the weights come from a saved pipeline
        self._weights_source: str | None = None
        self._use_classifier(self._config_options)
        self.policy = ThresholdPolicy.from_spec(threshold, top_k, labels=self._labels)
        self._group_spec = _json_form({"taxonomy": taxonomy, "group_threshold": group_threshold, "group_top_k": group_top_k})
        groups = TableOptions(taxonomy=taxonomy, group_threshold=group_threshold, group_top_k=group_top_k)
        self.groups: list[GroupOutput] = groups.layout(self._labels).groups
        _register_extensions()

    def _use_labels(self, labels: Sequence[str]) -> None:
        """Bind the policy and the groups to another label set (training's)."""
        self._labels = tuple(labels)
        self.policy = ThresholdPolicy.from_spec(self._threshold_spec, self.policy.top_k, labels=self._labels)
        groups = TableOptions(**{key: value for key, value in self._group_spec.items()})
        self.groups = groups.layout(self._labels).groups

    def _use_classifier(self, options: ClassifierOptions) -> None:
        self._classifier: EmotionClassifier = get_classifier(options=options)
        # spaCy reads labels while building and saving pipelines (nlp.meta), when the model directory may
        # be gone (a saved pipeline with its own weights): never load, never go to the hub for them here.
        self._labels = self._classifier.known_labels() or GOEMOTIONS_LABELS

    @property
    def classifier(self) -> EmotionClassifier:
        """The shared core classifier this component calls (the model loads on its first use)."""
        return self._classifier

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels, in score order. Reading this never loads the model (spaCy reads it for meta)."""
        return self._classifier.labels if self._classifier.is_loaded else self._labels

    @property
    def cfg(self) -> dict[str, Any]:
        """Everything that defines the component's behaviour, as saved by ``to_disk``/``to_bytes``."""
        revision = self._config_options.revision if self._weights_source is None else self._saved_revision
        return {
            "format": CFG_FORMAT,
            **self._config_options.to_dict(),
            "revision": revision,
            "threshold": self._threshold_spec,
            "top_k": self.policy.top_k,
            "policy": self.policy.to_dict(),
            "labels": list(self.labels),
            # What scored with this pipeline on the machine that saved it (a record: where it loads, its own
            # machine decides again, by the same rule).
            "engine": self._classifier.engine.to_dict(),
            "write_cats": self.write_cats,
            "per_sentence": self.per_sentence,
            "save_weights": self.save_weights,
            "explain": self.explain,
            "explain_top_k": self.explain_top_k,
            "training": self.training,
            **self._group_spec,
            "taxonomies": [group.to_dict() for group in self.groups],
        }

    @cfg.setter
    def cfg(self, value: Mapping[str, Any]) -> None:
        """Apply a changed ``threshold`` or ``top_k`` (what ``spacy find-threshold`` sets); other keys are read-only."""
        serialization.check_cfg_change(self.cfg, value)
        self._threshold_spec = _json_form(value["threshold"])
        self.policy = ThresholdPolicy.from_spec(value["threshold"], value["top_k"], labels=self._labels)

    # --- processing ------------------------------------------------------------------------

    def __call__(self, doc: Doc) -> Doc:
        """Annotate one Doc; an error goes to the pipeline's error handler (by default: raised)."""
        error_handler = self.get_error_handler()
        try:
            self.set_annotations([doc], self.predict([doc]))
            return doc
        except Exception as error:
            error_handler(self.name, self, [doc], error)
        # As spaCy's TrainablePipe: with a handler that swallows the error no Doc comes back, and
        # Language refuses to go on (E005) rather than pass the Doc on unannotated.
        return None

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 1000) -> Iterator[Doc]:
        """Annotate a stream, ``batch_size`` Docs per call to the core (``nlp.pipe`` passes its own).

        The core sorts each batch by length and packs it to a token budget, so large batches
        across Docs are what makes this fast. Errors go to the pipeline's error handler
        (by default: raised), like spaCy's own components; nothing is annotated silently empty.

        Args:
            stream: the Docs to annotate.
            batch_size: Docs per call to the core.

        Returns:
            the same Docs, annotated, in order.
        """
        error_handler = self.get_error_handler()
        for docs in util.minibatch(stream, size=batch_size):  # type: ignore[no-untyped-call]
            try:
                self.set_annotations(docs, self.predict(docs))
            except Exception as error:
                error_handler(self.name, self, docs, error)
                continue
            yield from docs

    def predict(self, docs: Iterable[Doc]) -> EmotionPredictions:
        """The scores of each Doc and then, with ``per_sentence``, of each sentence, in order (one core call,
        shape ``(docs + sentences, labels)``); with ``explain``, each Doc's explanation too. Touches no Doc.

        Args:
            docs: the Docs to score.

        Returns:
            the scores (and explanations) for :meth:`set_annotations`.
        """
        docs = list(docs)
        if self._trainer is not None:
            self._trainer.model.eval()  # no dropout while scoring the weights being trained
        spans = self._sentences(docs)
        scores = self._classifier.scores([doc.text for doc in docs] + [span.text for span in spans], progress=False)
        explanations = None
        if self.explain:  # the Docs' own tokens; every occluded variant of every Doc in one batched run
            segmented = list(segment(docs, MAX_WORDS))
            explanations = explain_segmented(self._classifier, segmented, top_k=self.explain_top_k, progress=False)
        return EmotionPredictions(scores, explanations)

    def set_annotations(self, docs: Iterable[Doc], predictions: EmotionPredictions) -> None:
        """Write ``doc.cats`` (with ``write_cats``), ``doc._.emotions``, the sentences' values and, with
        ``explain``, ``doc._.emotion_explanation`` (an ``Explanation.to_dict()``) from ``predict``'s output.

        Args:
            docs: the Docs :meth:`predict` scored, in the same order.
            predictions: what :meth:`predict` returned.
        """
        docs = list(docs)
        spans = self._sentences(docs)
        scores = predictions.scores
        if len(scores) != len(docs) + len(spans):
            raise ValueError(f"Expected {len(docs) + len(spans)} score rows (docs, then sentences), got {len(scores)}")
        labels = self.labels
        selected = self.policy.select(scores, labels, self._classifier.loaded.shipped_thresholds)
        rows = scores.tolist()  # plain Python floats: msgpack (DocBin, n_process) takes them as is
        for index, doc in enumerate(docs):
            if self.write_cats:
                doc.cats.update(zip(labels, rows[index], strict=True))
            doc._.emotions = {labels[i]: rows[index][i] for i in selected[index]}
        for index, span in enumerate(spans, start=len(docs)):
            span._.emotion_scores = dict(zip(labels, rows[index], strict=True))
            span._.emotions = {labels[i]: rows[index][i] for i in selected[index]}
        if self.groups:
            targets: list[Any] = [*docs, *spans]
            for target, (chosen, every) in zip(targets, self._group_values(scores, labels), strict=True):
                target._.emotion_groups, target._.emotion_group_scores = chosen, every
        for doc, explanation in zip(docs, predictions.explanations or [], strict=False):
            doc._.emotion_explanation = explanation.to_dict() if explanation is not None else None

    def _group_values(
        self, scores: npt.NDArray[np.float32], labels: Sequence[str]
    ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Per score row: {taxonomy: {selected group: score}} (highest first) and {taxonomy: {group: score}}."""
        values: list[tuple[dict[str, Any], dict[str, Any]]] = [({}, {}) for _ in range(len(scores))]
        for group in self.groups:
            group_scores = group.scores(scores, labels)
            names = group.taxonomy.group_names
            for (chosen, every), row, picked in zip(values, group_scores.tolist(), group.select(group_scores), strict=True):
                every[group.taxonomy.name] = dict(zip(names, row, strict=True))
                chosen[group.taxonomy.name] = {name: row[names.index(name)] for name in picked}
        return values

    def _sentences(self, docs: list[Doc]) -> list[Span]:
        if not self.per_sentence:
            return []
        spans: list[Span] = []
        for doc in docs:
            if len(doc) and not doc.has_annotation("SENT_START"):
                raise ConfigurationError(
                    f"The {self.name!r} component has per_sentence=True, but this Doc has no sentence "
                    f"boundaries ({doc.text[:40]!r}). Add a component that sets them before it, e.g. "
                    f"nlp.add_pipe('sentencizer', before={self.name!r}), or a parser/senter."
                )
            spans.extend(doc.sents if len(doc) else [])
        return spans

    # --- scoring ---------------------------------------------------------------------------

    def score(self, examples: Iterable[Example], **kwargs: Any) -> dict[str, Any]:
        """P/R/F of ``doc.cats`` with this component's policy (per-label thresholds, top_k).

        Args:
            examples: examples whose ``reference.cats`` hold the gold labels (1.0/0.0).
            **kwargs: passed on to the scorer.

        Returns:
            ``cats_micro_f``, ``cats_macro_f``, ``cats_f_per_type``, ``cats_macro_auc``, ``cats_auc_per_type`` and
                ``cats_score``.
        """
        examples = list(examples)
        self._tune_while_training(examples)
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
        """Save the config and policy (``cfg``) and, with ``save_weights``, the model (``model/``).

        Args:
            path: the component's folder (spaCy passes it).
            exclude: names of fields not to save (spaCy's convention).
        """
        write_cfg: Callable[[Path], Any] = lambda p: p.write_text(serialization.cfg_json(self.cfg), encoding="utf-8")  # noqa: E731
        serializers: dict[str, Callable[[Path], Any]] = {"cfg": write_cfg}
        if self._holds_weights:
            serializers[WEIGHTS_DIR] = lambda p: serialization.write_weights(self._classifier, p)
        util.to_disk(Path(path), serializers, exclude)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = util.SimpleFrozenList()) -> EmotionComponent:
        """Restore the policy and, when the pipeline holds the model, use those weights (offline).

        Args:
            path: the component's folder.
            exclude: names of fields not to load.

        Returns:
            this component, restored.
        """
        path = Path(path)
        data: dict[str, Any] = {}
        util.from_disk(path, {"cfg": lambda p: data.update(json.loads(p.read_text(encoding="utf-8")))}, exclude)
        weights = path / WEIGHTS_DIR
        self._restore(data, weights if WEIGHTS_DIR not in exclude and (weights / "config.json").is_file() else None)
        return self

    def to_bytes(self, *, exclude: Iterable[str] = util.SimpleFrozenList()) -> bytes:
        """Like :meth:`to_disk`; with ``save_weights`` the model files travel as bytes (size of the model).

        Args:
            exclude: names of fields not to save.

        Returns:
            the serialized component.
        """
        serializers: dict[str, Callable[[], bytes]] = {"cfg": lambda: serialization.cfg_json(self.cfg).encode("utf-8")}
        if self._holds_weights:
            serializers[WEIGHTS_DIR] = lambda: serialization.weights_bytes(self._classifier)
        return util.to_bytes(serializers, exclude)

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = util.SimpleFrozenList()) -> EmotionComponent:
        """Inverse of :meth:`to_bytes`; model files are written to a temporary directory kept until exit.

        Args:
            bytes_data: what :meth:`to_bytes` returned.
            exclude: names of fields not to load.

        Returns:
            this component, restored.
        """
        data: dict[str, Any] = {}
        weights: list[Path | None] = [None]

        def read_weights(content: bytes) -> None:
            weights[0] = serialization.unpack_weights(content)

        util.from_bytes(bytes_data, {"cfg": lambda b: data.update(json.loads(b)), WEIGHTS_DIR: read_weights}, exclude)
        self._restore(data, weights[0])
        return self

    @property
    def _holds_weights(self) -> bool:
        # Trained weights, or weights a saved pipeline brought with it, always travel with the pipeline.
        return self.save_weights or self._trainer is not None or self._weights_source is not None

    def _restore(self, data: Mapping[str, Any], weights: Path | None) -> None:
        """Apply a saved ``cfg``: the config.cfg values (or load-time overrides) stay authoritative.

        The saved policy replaces the one built from config.cfg only when the config asks for the
        same threshold spec, so a preset or file that changed since saving changes nothing, while
        ``spacy.load(path, config={"components.goemotions.threshold": 0.3})`` still wins. Likewise
        the saved weights are used when the config names the model they were saved from.
        """
        if not data:
            return
        serialization.check_cfg(data)
        if weights is not None and data.get("model") == self._config_options.model_name:
            self._weights_source = str(weights)
            self._saved_revision = data.get("revision")
            self._use_classifier(self._config_options.replace(model=str(weights), revision=None))
        same_spec = data.get("threshold") == self._threshold_spec and data.get("top_k") == self.policy.top_k
        if same_spec and data.get("policy") is not None:
            self.policy = ThresholdPolicy.from_dict(data["policy"], labels=self._labels)
        saved_groups = {key: data.get(key) for key in self._group_spec}
        if saved_groups == self._group_spec and data.get("taxonomies"):  # the saved definitions: a file may be gone since
            self.groups = [GroupOutput.from_dict(item, self._labels) for item in data["taxonomies"]]


def _training_settings(training: dict[str, Any]) -> TrainingSettings:
    if "seed" in training:
        raise ConfigurationError("The training seed is spaCy's: set [system] seed = 0, not training.seed.", options=("training",))
    try:
        return TrainingSettings(**training)
    except TypeError:
        known = sorted(TrainingSettings.__dataclass_fields__)
        unknown = sorted(set(training) - set(known) - {"seed"})
        raise ConfigurationError(
            f"Unknown training setting(s) {unknown!r}; the settings: {', '.join(known)}. Example: learning_rate = 3e-5",
            options=("training",),
        ) from None
