"""What the backends that bypass ``model.forward`` need to know of a ModernBERT sequence classifier.

Packed batches (flash-attn) and the OpenVINO conversion both run ModernBERT's encoder themselves and
then its classifier head on the pooled states; both check first that the model has that shape.
"""

from __future__ import annotations

from typing import Any

import torch


def has_modernbert_head(model: Any) -> bool:
    """A ModernBERT classifier with the parts we call: ``model`` (encoder), ``head``, ``drop``, ``classifier``."""
    config = getattr(model, "config", None)
    parts = ("model", "head", "drop", "classifier")
    return getattr(config, "model_type", None) == "modernbert" and all(hasattr(model, name) for name in parts)


def classify_pooled(model: Any, pooled: torch.Tensor) -> torch.Tensor:
    """The classifier head of a ModernBERT sequence classifier on already pooled states."""
    logits: torch.Tensor = model.classifier(model.drop(model.head(pooled)))
    return logits
