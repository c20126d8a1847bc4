"""The classification head for another label set: what training starts from when the labels change.

A checkpoint's head has one row (weights and bias) per label. Training on other labels keeps the encoder
and adapts the head by name:

- ``"same"``: the labels and their order are the checkpoint's: continue training as it is;
- ``"subset"``: some of the checkpoint's labels (their rows, in the new order);
- ``"added"``: all of them plus new ones (the old rows kept, new rows initialized);
- ``"changed"``: some kept, some new, some dropped;
- ``"new"``: no label in common (a new head on the kept encoder).

New rows are drawn from a normal distribution with the config's ``initializer_range`` (as transformers
initializes heads) from a generator seeded by ``seed``, with zero bias, so the same seed gives the same head.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ConfigurationError

if TYPE_CHECKING:
    import torch

LabelSetMode = Literal["same", "subset", "added", "changed", "new"]


@dataclass(frozen=True)
class LabelSetChange:
    """How a training label set relates to a checkpoint's labels.

    Attributes:
        before: the checkpoint's labels, in its head's order.
        after: the labels to train, in the order the new head will have.

    Examples:
        >>> change = LabelSetChange(("joy", "anger", "fear"), ("joy", "fear"))
        >>> change.mode, change.kept, change.new
        ('subset', ('joy', 'fear'), ())
    """

    before: tuple[str, ...]
    after: tuple[str, ...]

    def __post_init__(self) -> None:
        check_label_set(self.after)

    @property
    def kept(self) -> tuple[str, ...]:
        """The labels of ``after`` that the checkpoint has (their head rows are kept)."""
        return tuple(label for label in self.after if label in self.before)

    @property
    def new(self) -> tuple[str, ...]:
        """The labels of ``after`` that the checkpoint does not have (their rows start fresh)."""
        return tuple(label for label in self.after if label not in self.before)

    @property
    def mode(self) -> LabelSetMode:
        """``"same"``, ``"subset"``, ``"added"``, ``"changed"`` or ``"new"`` (see the module)."""
        if self.after == self.before:
            return "same"
        if not self.kept:
            return "new"
        if not self.new:
            return "subset"
        if set(self.before) <= set(self.after):
            return "added"
        return "changed"


def check_label_set(labels: Sequence[str]) -> tuple[str, ...]:
    """A label set fit for a head: at least one label, each a non-empty string, no label twice.

    Args:
        labels: the labels.

    Returns:
        the labels as a tuple.

    Raises:
        ConfigurationError: naming what is wrong, with an example.

    Examples:
        >>> check_label_set(["frustration", "urgency"])
        ('frustration', 'urgency')
    """
    found = tuple(labels)
    if not found:
        raise ConfigurationError("A label set needs at least one label. Example: labels=['frustration', 'urgency']")
    bad = [label for label in found if not isinstance(label, str) or not label.strip()]
    if bad:
        raise ConfigurationError(f"Labels must be non-empty strings, got {bad!r}. Example: labels=['frustration', 'urgency']")
    twice = sorted({label for label in found if found.count(label) > 1})
    if twice:
        raise ConfigurationError(f"The label set names {twice!r} more than once; each label is one column of the head.")
    return found


def adapt_head(model: torch.nn.Module, change: LabelSetChange, *, seed: int = 0) -> None:
    """Give ``model`` (a transformers sequence classifier) a head for ``change.after``, in place.

    Kept labels keep their rows; new labels get fresh rows; the config's ``id2label``, ``label2id`` and
    ``num_labels`` follow, so that the model saves and loads with its new labels.

    Args:
        model: a ``*ForSequenceClassification`` model whose head is the ``Linear`` layer ``model.classifier``.
        change: the checkpoint's labels and the labels to train.
        seed: seeds the initialization of new rows.

    Raises:
        ConfigurationError: for a model without a linear ``classifier`` head of ``len(change.before)`` rows.

    Examples:
        >>> change = LabelSetChange(tuple(model.config.id2label.values()), ("joy", "urgency"))  # doctest: +SKIP
        >>> adapt_head(model, change, seed=0)                                                # doctest: +SKIP
        >>> model.config.id2label                                                            # doctest: +SKIP
        {0: 'joy', 1: 'urgency'}
    """
    import torch

    head = getattr(model, "classifier", None)
    if not isinstance(head, torch.nn.Linear) or head.out_features != len(change.before):
        raise ConfigurationError(
            f"Cannot adapt the head of {type(model).__name__}: training needs a Linear `classifier` layer with one row "
            f"per label ({len(change.before)}), as transformers' *ForSequenceClassification models have."
        )
    if change.mode == "same":
        return
    generator = torch.Generator().manual_seed(seed)
    std = float(getattr(model.config, "initializer_range", 0.02))
    weight = torch.empty(len(change.after), head.in_features, dtype=torch.float32).normal_(0.0, std, generator=generator)
    bias = torch.zeros(len(change.after), dtype=torch.float32)
    with torch.no_grad():
        for row, label in enumerate(change.after):
            if label in change.before:
                weight[row] = head.weight[change.before.index(label)].float()
                bias[row] = head.bias[change.before.index(label)].float() if head.bias is not None else 0.0
        new_head = torch.nn.Linear(head.in_features, len(change.after), bias=True)
        new_head.weight.copy_(weight)
        new_head.bias.copy_(bias)
    model.classifier = new_head.to(device=head.weight.device, dtype=head.weight.dtype)
    model.num_labels = len(change.after)  # type: ignore[assignment]
    config: Any = model.config
    config.num_labels = len(change.after)
    config.id2label = dict(enumerate(change.after))
    config.label2id = {label: index for index, label in enumerate(change.after)}
