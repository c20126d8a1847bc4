"""``backend="torch"``: packed batches where flash-attn makes them possible, padded ones otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .torch_eager import TorchBackend, TorchBatch
from .torch_packed import TorchPackedBackend, use_packing

if TYPE_CHECKING:
    from ..core.backend import Backend
    from ..core.loading import LoadedModel
    from ..core.options import ClassifierOptions


def create_backend(options: ClassifierOptions, loaded: LoadedModel) -> Backend[TorchBatch]:
    """Packed batches (:mod:`.torch_packed`) when :func:`use_packing` says so, else padded (:mod:`.torch_eager`)."""
    if use_packing(options, loaded):
        return TorchPackedBackend(options, loaded)
    return TorchBackend(options, loaded)
