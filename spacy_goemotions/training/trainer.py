"""Fine-tuning a sequence classifier on multi-label data: sigmoid + binary cross-entropy, AdamW, warmup.

The trainer owns its torch optimizer rather than spaCy's (thinc's) optimizer: the model is a transformers
torch module whose parameters thinc does not see, and AdamW with decoupled weight decay, a warmup and a
linear decay is the recipe the checkpoint was trained with. The settings are plain fields
(:class:`TrainingSettings`) that a spaCy config can hold.

Training runs in float32 master weights; where the device computes bfloat16 natively (AMX or
AVX512-BF16 CPUs, Ampere+ GPUs) the forward pass runs under ``torch.autocast`` in bfloat16
(``autocast="auto"``). With the same seed, data and device, two runs give the same weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from ..errors import ConfigurationError

if TYPE_CHECKING:
    import torch

AutocastOption = Literal["auto", "bfloat16", "off"]
PositiveWeightOption = Literal["none", "balanced"]
#: The largest weight ``positive_weight="balanced"`` gives a label's positives.
MAX_POSITIVE_WEIGHT = 10.0


@dataclass(frozen=True)
class TrainingSettings:
    """How to fine-tune, validated on construction.

    Attributes:
        learning_rate: AdamW's peak learning rate.
        weight_decay: decoupled weight decay (not applied to biases and norms).
        warmup_steps: steps of linear warmup from 0 to ``learning_rate``.
        total_steps: with it, the learning rate decays linearly to 0 at this step; None keeps it constant.
        grad_clip: the largest gradient norm (0 turns clipping off).
        freeze_layers: 0 trains everything; N > 0 freezes the embeddings and the lowest N encoder layers;
            -1 freezes the whole encoder (only the head trains).
        seed: seeds new head rows, dropout and the optimizer's state: the same seed gives the same weights.
        autocast: ``"auto"`` (bfloat16 where the device computes it natively), ``"bfloat16"`` or ``"off"``.
        max_length: most tokens per text (longer texts are truncated).
        tokens_per_pass: the most padded tokens one forward and backward pass holds; a batch with more is split
            into passes whose gradients add up before the one optimizer step (gradient accumulation by token
            budget: the step is the same, the memory is bounded). None: the whole batch in one pass.
        positive_weight: ``"none"``: plain binary cross-entropy; ``"balanced"``: each label's positive examples weigh
            min(sqrt(negatives / positives), 10) in the loss, counted on the training data (rare labels are not
            drowned out; the recipe goemotions-small was trained with).
        tune_thresholds: the spaCy component tunes per-label thresholds on the examples it is evaluated on while
            it trains (``spacy train``'s dev corpus) and saves them with the trained model (``threshold="tuned"``).
        temperature: the logits are divided by it in the loss, which is multiplied by its square (so gradients keep
            their size): above 1 softens the sigmoid, for distillation against soft targets softened the same way
            (:mod:`spacy_goemotions.distillation`). 1 is plain training; the model is always used at 1.

    Raises:
        ConfigurationError: for a value out of range, naming it with a right example.

    Examples:
        >>> TrainingSettings(learning_rate=2e-5, warmup_steps=100).learning_rate_at(50)
        1e-05
    """

    learning_rate: float = 3e-5
    weight_decay: float = 0.01
    warmup_steps: int = 0
    total_steps: int | None = None
    grad_clip: float = 1.0
    freeze_layers: int = 0
    seed: int = 0
    autocast: AutocastOption = "auto"
    max_length: int = 512
    tokens_per_pass: int | None = None
    positive_weight: PositiveWeightOption = "none"
    tune_thresholds: bool = True
    temperature: float = 1.0

    def __post_init__(self) -> None:
        checks: list[tuple[str, bool, str]] = [
            ("learning_rate", is_number(self.learning_rate) and 0 < self.learning_rate < 1, "learning_rate=3e-5"),
            ("weight_decay", is_number(self.weight_decay) and 0 <= self.weight_decay < 1, "weight_decay=0.01"),
            ("warmup_steps", is_integer(self.warmup_steps) and self.warmup_steps >= 0, "warmup_steps=100"),
            (
                "total_steps",
                self.total_steps is None or (is_integer(self.total_steps) and self.total_steps > 0),
                "total_steps=2000",
            ),
            ("grad_clip", is_number(self.grad_clip) and self.grad_clip >= 0, "grad_clip=1.0"),
            ("freeze_layers", is_integer(self.freeze_layers) and self.freeze_layers >= -1, "freeze_layers=2"),
            ("seed", is_integer(self.seed), "seed=0"),
            ("autocast", self.autocast in ("auto", "bfloat16", "off"), "autocast='auto'"),
            ("max_length", is_integer(self.max_length) and self.max_length >= 8, "max_length=512"),
            (
                "tokens_per_pass",
                self.tokens_per_pass is None or (is_integer(self.tokens_per_pass) and self.tokens_per_pass >= 8),
                "tokens_per_pass=8192",
            ),
            ("positive_weight", self.positive_weight in ("none", "balanced"), "positive_weight='balanced'"),
            ("tune_thresholds", isinstance(self.tune_thresholds, bool), "tune_thresholds=true"),
            ("temperature", is_number(self.temperature) and 0 < self.temperature <= 100, "temperature=2.0"),
        ]
        for name, ok, example in checks:
            if not ok:
                raise ConfigurationError(
                    f"{name} = {getattr(self, name)!r} is not a valid training setting. Example: {example}",
                    options=(name,),
                    value=getattr(self, name),
                )

    def learning_rate_at(self, step: int) -> float:
        """The learning rate of optimizer step ``step`` (from 0): linear warmup, then constant or linear decay.

        Args:
            step: the number of steps taken before this one.

        Returns:
            the learning rate.
        """
        if step < self.warmup_steps:  # as transformers' linear warmup: 0 at the first step
            return self.learning_rate * step / self.warmup_steps
        if self.total_steps is None:
            return self.learning_rate
        remaining = max(0, self.total_steps - step)
        return self.learning_rate * remaining / max(1, self.total_steps - self.warmup_steps)


def balanced_positive_weights(gold: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Per label, min(sqrt(negatives / positives), 10): the weight of its positive examples in the loss.

    Args:
        gold: (n, labels) 0/1 training labels (soft labels count by their sum).

    Returns:
        float32 weights; 1.0 for a label without positive or without negative examples.

    Examples:
        >>> balanced_positive_weights([[1, 1], [0, 1], [0, 1], [0, 1], [0, 0]]).tolist()
        [2.0, 0.5]
    """
    matrix = np.asarray(gold, dtype=np.float64)
    positives = matrix.sum(axis=0)
    negatives = len(matrix) - positives
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = np.minimum(np.sqrt(negatives / positives), MAX_POSITIVE_WEIGHT)
    return np.where((positives > 0) & (negatives > 0), weights, 1.0).astype(np.float32)


def is_number(value: Any) -> bool:
    """A finite int or float, not a bool (a setting's check)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_integer(value: Any) -> bool:
    """An int, not a bool (a setting's check)."""
    return isinstance(value, int) and not isinstance(value, bool)


class Trainer:
    """Fine-tunes a transformers sequence classifier on texts with 0/1 labels.

    :meth:`step` is one optimizer step on a batch; :meth:`accumulate` and :meth:`apply` are its two halves, for
    callers that gather the gradients of several batches into one step (spaCy's ``accumulate_gradient``).

    Args:
        model: a ``*ForSequenceClassification`` model with one head row per label of ``labels``; trained in place.
        tokenizer: its fast tokenizer.
        labels: the head's labels, in order (the columns of the gold matrices).
        settings: how to train.
        positive_weights: one weight per label for its positive examples in the loss (what
            :func:`balanced_positive_weights` computes from the training data); needed by
            ``positive_weight="balanced"``, ignored otherwise.

    Examples:
        >>> trainer = Trainer(model, tokenizer, ("joy", "anger"), TrainingSettings(seed=1))  # doctest: +SKIP
        >>> trainer.step(["so happy", "so angry"], [[1, 0], [0, 1]])                         # doctest: +SKIP
        0.69
    """

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: Any,
        labels: Sequence[str],
        settings: TrainingSettings,
        positive_weights: npt.ArrayLike | None = None,
    ) -> None:
        import torch

        self.model = model
        self.tokenizer = tokenizer
        self.labels = tuple(labels)
        self.settings = settings
        self.steps = 0
        self.pending = 0  # batches whose gradients wait for apply()
        self.device = next(model.parameters()).device
        config: Any = model.config
        if int(getattr(config, "num_labels", len(self.labels))) != len(self.labels):
            raise ConfigurationError(
                f"The model's head has {config.num_labels} rows for {len(self.labels)} labels: adapt it first "
                "(training.heads.adapt_head)."
            )
        torch.manual_seed(settings.seed)  # dropout draws from torch's global generator
        model.float()  # float32 master weights; autocast computes in bfloat16 where it pays
        _freeze(model, settings.freeze_layers)
        decay: list[torch.nn.Parameter] = []
        no_decay: list[torch.nn.Parameter] = []
        for name, parameter in model.named_parameters():
            if parameter.requires_grad:
                (no_decay if parameter.ndim < 2 or "norm" in name.lower() else decay).append(parameter)
        self.optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": settings.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=settings.learning_rate_at(0),
        )
        self.autocast_dtype = _autocast_dtype(settings.autocast, self.device)
        if settings.positive_weight == "balanced" and positive_weights is None:
            raise ConfigurationError(
                'positive_weight="balanced" needs the training data\'s label counts: pass '
                "positive_weights=balanced_positive_weights(gold)."
            )
        self.positive_weights = None
        if settings.positive_weight == "balanced":
            weights = np.asarray(positive_weights, dtype=np.float32)
            if weights.shape != (len(self.labels),):
                raise ValueError(f"positive_weights must have one weight per label ({len(self.labels)}), got {weights.shape}")
            self.positive_weights = torch.from_numpy(weights).to(self.device)

    def _passes(self, texts: Sequence[str]) -> list[tuple[slice, dict[str, torch.Tensor]]]:
        """The batch tokenized once, in consecutive passes of at most ``tokens_per_pass`` padded tokens each."""
        ids: list[list[int]] = self.tokenizer(list(texts), truncation=True, max_length=self.settings.max_length)["input_ids"]
        budget = self.settings.tokens_per_pass
        bounds = [0]
        longest = 0
        for index, row in enumerate(ids):
            longest = max(longest, len(row))
            if budget is not None and index > bounds[-1] and longest * (index - bounds[-1] + 1) > budget:
                bounds.append(index)  # this text starts the next pass
                longest = len(row)
        bounds.append(len(ids))
        passes = []
        for start, stop in zip(bounds, bounds[1:], strict=False):
            padded = self.tokenizer.pad({"input_ids": ids[start:stop]}, return_tensors="pt").to(self.device)
            passes.append((slice(start, stop), dict(padded)))
        return passes

    def _forward(self, encoded: dict[str, torch.Tensor]) -> torch.Tensor:
        import torch

        with torch.autocast(
            self.device.type, dtype=self.autocast_dtype or torch.float32, enabled=self.autocast_dtype is not None
        ):
            logits: torch.Tensor = self.model(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"]).logits
        return logits.float()

    def _summed_loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Binary cross-entropy summed over the pass, at the settings' temperature (times its square)."""
        import torch

        temperature = self.settings.temperature
        summed = torch.nn.functional.binary_cross_entropy_with_logits(
            logits / temperature, target, reduction="sum", pos_weight=self.positive_weights
        )
        return summed * temperature**2 if temperature != 1 else summed

    def _gold(self, gold: npt.ArrayLike, rows: int) -> torch.Tensor:
        import torch

        matrix = np.asarray(gold, dtype=np.float32)
        if matrix.shape != (rows, len(self.labels)):
            raise ValueError(f"gold must have shape ({rows}, {len(self.labels)}) (texts x labels), got {matrix.shape}")
        return torch.from_numpy(matrix).to(self.device)

    def accumulate(self, texts: Sequence[str], gold: npt.ArrayLike) -> float:
        """Forward and backward on a batch, adding its gradients to those waiting for :meth:`apply`.

        The batch runs in passes of at most ``tokens_per_pass`` padded tokens; each pass's loss is scaled so that
        the gradients add up to those of the batch's mean loss.

        Args:
            texts: the batch's texts.
            gold: (len(texts), len(labels)) 0/1 labels (floats between 0 and 1 work too: soft labels).

        Returns:
            the batch's mean binary cross-entropy.
        """
        target = self._gold(gold, len(texts))
        if not len(texts):
            return 0.0
        self.model.train()
        total = 0.0
        for rows, encoded in self._passes(texts):
            loss = self._summed_loss(self._forward(encoded), target[rows]) / target.numel()
            loss.backward()  # type: ignore[no-untyped-call]
            total += float(loss.item())
        self.pending += 1
        return total

    def apply(self) -> None:
        """The optimizer step on the gradients :meth:`accumulate` gathered (clipped), then clear them.

        Does nothing when no batch is waiting.
        """
        import torch

        if not self.pending:
            return
        for group in self.optimizer.param_groups:
            group["lr"] = self.settings.learning_rate_at(self.steps)
        if self.settings.grad_clip:
            torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], self.settings.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.steps += 1
        self.pending = 0

    def step(self, texts: Sequence[str], gold: npt.ArrayLike) -> float:
        """One optimizer step on a batch: :meth:`accumulate`, then :meth:`apply`.

        Args:
            texts: the batch's texts.
            gold: (len(texts), len(labels)) 0/1 labels (floats between 0 and 1 work too: soft labels).

        Returns:
            the batch's mean loss before the update.
        """
        loss = self.accumulate(texts, gold)
        self.apply()
        return loss

    def loss(self, texts: Sequence[str], gold: npt.ArrayLike) -> float:
        """The mean binary cross-entropy on a batch, without dropout and without changing anything.

        Args:
            texts: the texts.
            gold: (len(texts), len(labels)) 0/1 labels.

        Returns:
            the loss.
        """
        import torch

        self.model.eval()
        target = self._gold(gold, len(texts))
        with torch.no_grad():
            total = sum(self._summed_loss(self._forward(encoded), target[rows]) for rows, encoded in self._passes(texts))
        return float(total) / target.numel()


def _autocast_dtype(option: AutocastOption, device: torch.device) -> torch.dtype | None:
    import torch

    if option == "off":
        return None
    if option == "bfloat16":
        return torch.bfloat16
    from ..core.devices import resolve_dtype

    return torch.bfloat16 if resolve_dtype("auto", device) == torch.bfloat16 else None


def _encoder_layers(model: torch.nn.Module) -> tuple[Any, Any] | None:
    """The embeddings and the list of layers of a transformers encoder (ModernBERT, BERT-likes), or None."""
    base = getattr(model, "base_model", model)
    layers = getattr(base, "layers", None) or getattr(getattr(base, "encoder", None), "layer", None)
    embeddings = getattr(base, "embeddings", None)
    return (embeddings, layers) if layers is not None and embeddings is not None else None


def _freeze(model: torch.nn.Module, freeze_layers: int) -> None:
    for parameter in model.parameters():
        parameter.requires_grad_(True)
    if freeze_layers == 0:
        return
    found = _encoder_layers(model)
    if found is None:
        raise ConfigurationError(
            f"freeze_layers={freeze_layers} needs an encoder with embeddings and layers; {type(model).__name__} has none "
            "that this library knows. Use freeze_layers=0."
        )
    embeddings, layers = found
    frozen = [getattr(model, "base_model", model)] if freeze_layers == -1 else [embeddings, *list(layers)[:freeze_layers]]
    if freeze_layers > len(layers):
        raise ConfigurationError(
            f"freeze_layers={freeze_layers}, but the encoder has {len(layers)} layers. Example: freeze_layers=1"
        )
    for module in frozen:
        for parameter in module.parameters():
            parameter.requires_grad_(False)
