"""Tracing the float32 torch model into OpenVINO IR: the one step of the OpenVINO path that needs torch.

:mod:`.openvino_export` calls :func:`convert` only when the converted model is not in the cache yet.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import torch

from ..core.quiet import quiet_transformers
from .modernbert import classify_pooled, has_modernbert_head

if TYPE_CHECKING:
    from ..core.loading import LoadedModel


class MaskedLogits(torch.nn.Module):
    """A ModernBERT classifier's logits with attention masks built here, for conversion.

    Each position may also attend to itself. That changes nothing for real tokens (they attend to
    themselves anyway), but a padding position whose sliding window holds only padding would
    otherwise get a fully masked softmax, which OpenVINO turns into NaN, and NaN then spreads through
    the next global-attention layer (NaN x 0 is NaN) into the real tokens' scores.
    """

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model
        self.half_window = int(model.config.local_attention) // 2
        self.pooling = model.config.classifier_pooling

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        itself = positions[:, None] == positions[None, :]
        full = attention_mask.bool()[:, None, None, :] | itself[None, None]
        near = (positions[:, None] - positions[None, :]).abs() <= self.half_window
        masks = {"full_attention": full, "sliding_attention": full & near[None, None]}
        hidden = self.model.model(input_ids=input_ids, attention_mask=masks).last_hidden_state
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = attention_mask.to(hidden.dtype).unsqueeze(-1)
            pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1)
        return classify_pooled(self.model, pooled)


class PlainLogits(torch.nn.Module):
    """Any other sequence classifier: its own masks (no sliding windows to empty out)."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.model(input_ids=input_ids, attention_mask=attention_mask).logits
        return logits


def convert(loaded: LoadedModel) -> Any:
    """Trace the float32 torch model into an ``openvino.Model`` with dynamic batch and length."""
    import openvino as ov

    model = loaded.model
    wrapper = MaskedLogits(model) if has_modernbert_head(model) else PlainLogits(model)
    # Two rows of different lengths: shapes stay dynamic in the IR.
    example = {"input_ids": torch.full((2, 16), 5, dtype=torch.long), "attention_mask": torch.ones(2, 16, dtype=torch.long)}
    example["attention_mask"][1, 9:] = 0
    # Tracing warns about Python-level branches that are constant for this model; they are not news to users.
    with torch.no_grad(), warnings.catch_warnings(), quiet_transformers():
        warnings.simplefilter("ignore")
        converted = ov.convert_model(wrapper.eval(), example_input=example)
    converted.reshape({"input_ids": [-1, -1], "attention_mask": [-1, -1]})
    return converted
