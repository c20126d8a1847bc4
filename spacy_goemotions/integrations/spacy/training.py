"""The ``goemotions`` component's training contract, as spaCy's trainable components have it.

``initialize(get_examples, nlp=..., labels=...)`` reads the label set from the training data's ``doc.cats`` (or
from ``labels``), loads a private float32 copy of the checkpoint, adapts its head to the labels
(:mod:`spacy_goemotions.training.heads`) and from then on the component predicts with that copy, so that
``spacy train``'s evaluations score the weights as they train. ``update`` adds a batch's gradients and
``finish_update`` takes the optimizer step (:class:`spacy_goemotions.training.Trainer`), as spaCy's trainable
components do, so that ``[training] accumulate_gradient`` gathers several batches into one step; ``to_disk``
saves the trained weights with the pipeline.

While it trains, each evaluation (``spacy train``'s, on the dev corpus) tunes the per-label thresholds of the
weights it scored (:func:`spacy_goemotions.evaluation.tune_thresholds`); they are saved with the trained model,
so that ``threshold = "tuned"`` means the trained model's thresholds.

The component owns its torch optimizer (AdamW, warmup, decay, clipping; the ``training`` config key): the
``sgd`` that spaCy passes is thinc's and cannot see a torch model's parameters, and ``drop`` is the model's own
dropout. ``system.seed`` seeds torch, from which the new head rows and dropout come: with spaCy's own
shuffling seeded by it too, the same seed gives the same weights on the same machine.

Calling ``initialize`` without examples, or with examples of which none has ``doc.cats`` (what
``nlp.initialize()`` passes on its own), changes nothing: the component keeps predicting with its checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ...errors import ConfigurationError

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.training import Example

    from ...core.classifier import EmotionClassifier
    from ...core.thresholds import ThresholdPolicy
    from ...training import Trainer


class TrainableEmotions:
    """Mixin of :class:`~spacy_goemotions.integrations.spacy.component.EmotionComponent`: its training methods."""

    #: The torch model being trained (None until ``initialize`` sees labelled examples). Not a thinc model: spaCy
    #: calls ``finish_update`` for it, which steps the component's own torch optimizer, not thinc's.
    model: Any = None
    name: str
    training: dict[str, Any]
    train_labels: tuple[str, ...] | None
    _trainer: Trainer | None
    _classifier: EmotionClassifier
    _added_labels: list[str]
    policy: ThresholdPolicy

    def _use_labels(self, labels: Sequence[str]) -> None:  # the component rebinds its policy and groups
        raise NotImplementedError

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]] | None = None,
        *,
        nlp: Language | None = None,
        labels: list[str] | None = None,  # spaCy validates [initialize] settings from this annotation: a builtin type
    ) -> None:
        """Prepare to train on the examples' ``doc.cats``: choose the label set, load a trainable copy of the model.

        Args:
            get_examples: returns the training examples (spaCy passes the training corpus).
            nlp: the pipeline (spaCy passes it).
            labels: the label set to train (``[initialize.components.goemotions] labels``); None: the ``labels``
                config key, else the labels of the examples' ``doc.cats`` (the model's own order when they are the
                model's labels, sorted otherwise).

        Raises:
            ConfigurationError: when only some examples have ``doc.cats`` (how many lack them), or a label of the
                data is outside a fixed label set (naming it).
        """
        if get_examples is None:
            return
        examples = list(get_examples())
        with_cats = sum(bool(example.reference.cats) for example in examples)
        if with_cats == 0:  # nlp.initialize() without data, or data for other components: nothing to train here
            return
        if with_cats < len(examples):
            raise ConfigurationError(
                f"{len(examples) - with_cats} of {len(examples)} training examples have no doc.cats: {self.name} trains "
                "on every label of every example. Convert the data with `spacy-goemotions convert` (every label 1.0 or 0.0)."
            )
        found = sorted({label for example in examples for label in example.reference.cats})
        fixed = tuple(labels) if labels is not None else self.train_labels
        chosen = training_labels(found, fixed, self._added_labels, self._classifier.labels)
        self._start_training(chosen, gold_matrix(examples, chosen))

    def _start_training(self, labels: tuple[str, ...], gold: npt.NDArray[np.float32]) -> None:
        import torch

        from ...core.classifier import EmotionClassifier
        from ...core.devices import resolve_device
        from ...core.loading import LoadedModel
        from ...core.quiet import quiet_transformers
        from ...training import LabelSetChange, Trainer, TrainingSettings, adapt_head, balanced_positive_weights

        start = self._classifier.loaded  # the checkpoint: the config's model, or the weights a saved pipeline holds
        seed = int(torch.initial_seed() % 2**31)  # what system.seed set (thinc's fix_random_seed seeds torch)
        from transformers import AutoModelForSequenceClassification

        with quiet_transformers():
            model = AutoModelForSequenceClassification.from_pretrained(
                start.source, revision=start.revision, use_safetensors=True, trust_remote_code=False, dtype=torch.float32
            )
        options = self._classifier.options
        model.to(resolve_device(options.device))
        adapt_head(model, LabelSetChange(start.labels, labels), seed=seed)
        settings = TrainingSettings(**{**self.training, "seed": seed})
        weights = balanced_positive_weights(gold) if settings.positive_weight == "balanced" else None
        self._trainer = Trainer(model, start.tokenizer, labels, settings, positive_weights=weights)
        self.model = model
        held = LoadedModel.in_memory(model, start.tokenizer, source=start.source, revision=start.revision)
        self._classifier = EmotionClassifier.held_in_memory(held, options)
        self._use_labels(labels)
        if self.policy.thresholds is None:  # "tuned" before the first evaluation tunes them: 0.5, as the record says
            if not self._trainer.settings.tune_thresholds:
                raise ConfigurationError(
                    f'{self.name} has threshold = "tuned" but training.tune_thresholds = false: the trained weights '
                    "have no tuned thresholds. Set tune_thresholds = true, or a float threshold."
                )
            held.shipped_thresholds = dict.fromkeys(labels, 0.5)
            held.thresholds_record = {"tuned_on": None, "note": "not tuned yet: 0.5 until the first evaluation"}

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Any = None,
        losses: dict[str, float] | None = None,
    ) -> dict[str, float]:
        """Learn from a batch: its ``doc.cats`` against the model's scores, gradients added for :meth:`finish_update`.

        As spaCy's trainable components: with an ``sgd``, the optimizer step follows at once; without one (what
        ``nlp.update`` and ``spacy train`` pass), the step waits for ``finish_update``.

        Args:
            examples: the batch (gold labels in ``reference.cats``).
            drop: ignored: the model's own dropout applies (its config's dropout rates).
            sgd: any optimizer (not None or False) to step at once; the step is the component's own torch
                optimizer's (see the ``training`` config key), not thinc's.
            losses: the losses so far, by component name; this component's batch loss is added.

        Returns:
            ``losses``, with this component's loss added.

        Raises:
            ConfigurationError: when ``initialize`` had no examples with ``doc.cats`` to train on.
        """
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        batch = list(examples)
        if not batch:
            return losses
        if self._trainer is None:
            raise ConfigurationError(
                f"{self.name} cannot train: initialize saw no example with doc.cats. Train on DocBins whose docs "
                "carry every label in doc.cats (`spacy-goemotions convert`), or freeze the component "
                f'(frozen_components = ["{self.name}"]).'
            )
        gold = gold_matrix(batch, self._trainer.labels)
        losses[self.name] += self._trainer.accumulate([example.predicted.text for example in batch], gold)
        if sgd not in (None, False):
            self.finish_update(sgd)
        return losses

    def finish_update(self, sgd: Any = None) -> None:
        """The optimizer step on the gradients of the batches :meth:`update` saw since the last step.

        Args:
            sgd: ignored: the component steps its own torch optimizer (AdamW; the ``training`` config key).
        """
        if self._trainer is not None:
            self._trainer.apply()

    def _tune_while_training(self, examples: Sequence[Example]) -> None:
        """Tune the thresholds of the weights being trained on labelled examples they scored (the dev corpus)."""
        trainer = self._trainer
        if trainer is None or not trainer.settings.tune_thresholds or not examples:
            return
        if not all(example.reference.cats for example in examples):
            return
        from ...evaluation.tuning import tune_thresholds

        labels = trainer.labels
        predicted = [example.predicted.cats for example in examples]
        if all(set(labels) <= set(cats) for cats in predicted):  # write_cats: the scores are there
            scores = np.array([[cats[label] for label in labels] for cats in predicted], dtype=np.float32)
        else:
            scores = self._classifier.scores([example.predicted.text for example in examples], progress=False)
        tuned = tune_thresholds(scores, gold_matrix(examples, labels), labels)
        tuned["tuned_on"] = {"examples": len(examples), "training_step": trainer.steps}
        self._classifier.loaded.shipped_thresholds = tuned["thresholds"]
        self._classifier.loaded.thresholds_record = tuned

    def get_loss(self, examples: Iterable[Example], scores: npt.ArrayLike) -> tuple[float, npt.NDArray[np.float32]]:
        """Binary cross-entropy of ``scores`` (probabilities) against the examples' ``doc.cats``, and its gradient
        (positives weighted as the ``training`` setting ``positive_weight`` says).

        Args:
            examples: the examples scored.
            scores: (n, labels) probabilities, e.g. :meth:`predict`'s scores of their Docs.

        Returns:
            the mean loss, and its gradient with respect to ``scores``.
        """
        batch = list(examples)
        labels = self._trainer.labels if self._trainer is not None else self._classifier.labels
        gold = gold_matrix(batch, labels)
        probabilities = np.clip(np.asarray(scores, dtype=np.float64)[: len(batch)], 1e-7, 1 - 1e-7)
        weights = self._trainer.positive_weights if self._trainer is not None else None
        weight = np.ones(len(labels)) if weights is None else weights.cpu().numpy().astype(np.float64)  # positives' weight
        loss = float(-(weight * gold * np.log(probabilities) + (1 - gold) * np.log(1 - probabilities)).mean())
        gradient = (-weight * gold / probabilities + (1 - gold) / (1 - probabilities)) / gold.size
        return loss, gradient.astype(np.float32)

    def add_label(self, label: str) -> int:
        """Add a label to the set to train (before ``initialize``).

        Args:
            label: the label.

        Returns:
            1 if it was added, 0 if the set already has it.

        Raises:
            ConfigurationError: after training has started (the head's rows are fixed then).
        """
        if self._trainer is not None:
            raise ConfigurationError(f"Cannot add label {label!r} while {self.name} trains: add labels before initialize.")
        if label in self._added_labels or (self.train_labels and label in self.train_labels):
            return 0
        self._added_labels.append(label)
        return 1

    @property
    def is_trainable(self) -> bool:
        """True: ``spacy train`` updates the component and logs its loss (unless it is frozen)."""
        return True

    @property
    def is_training(self) -> bool:
        """Whether the component predicts with a copy being trained (after ``initialize`` with labelled examples)."""
        return self._trainer is not None


def training_labels(
    found: Sequence[str], fixed: Sequence[str] | None, added: Sequence[str], model_labels: Sequence[str]
) -> tuple[str, ...]:
    """The label set to train.

    Args:
        found: the labels the training data's ``doc.cats`` name.
        fixed: a label set given in the config or to ``initialize`` (None: none given).
        added: labels added with ``add_label``.
        model_labels: the checkpoint's labels.

    Returns:
        ``fixed`` (plus ``added``) when given; else the model's labels, in the model's order, when the data names
        exactly those; else the data's labels plus ``added``, sorted.

    Raises:
        ConfigurationError: for a data label outside ``fixed``, naming it.

    Examples:
        >>> training_labels(["joy", "urgency"], None, [], ["joy", "anger"])
        ('joy', 'urgency')
        >>> training_labels(["anger", "joy"], None, [], ["joy", "anger"])
        ('joy', 'anger')
    """
    from ...training import check_label_set

    if fixed is not None:
        chosen = (*fixed, *(label for label in added if label not in fixed))
        outside = [label for label in found if label not in chosen]
        if outside:
            raise ConfigurationError(
                f"The training data has label(s) {outside!r} outside the label set {list(chosen)!r}. Add them to "
                "`labels`, or leave `labels` out to train the labels of the data."
            )
        return check_label_set(chosen)
    if set(found) == set(model_labels) and not set(added) - set(model_labels):
        return tuple(model_labels)
    return check_label_set(sorted({*found, *added}))


def gold_matrix(examples: Sequence[Example], labels: Sequence[str]) -> npt.NDArray[np.float32]:
    """The examples' ``doc.cats`` as a (n, labels) matrix; a label a Doc does not name is 0.

    Args:
        examples: the examples (gold labels in ``reference.cats``).
        labels: the columns.

    Returns:
        float32 values between 0 and 1.

    Raises:
        ConfigurationError: for a value outside [0, 1], naming the example and the label.
    """
    matrix = np.zeros((len(examples), len(labels)), dtype=np.float32)
    column = {label: index for index, label in enumerate(labels)}
    for row, example in enumerate(examples):
        for label, value in example.reference.cats.items():
            if label in column:
                if not 0.0 <= float(value) <= 1.0:
                    raise ConfigurationError(f"doc.cats[{label!r}] = {value!r} in training example {row}: gold is 0.0 to 1.0")
                matrix[row, column[label]] = float(value)
    return matrix
