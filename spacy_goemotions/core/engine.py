"""What computes the scores: the backend, its precision and the device, named once and recorded with results.

The engine is a function of the options, the model and the machine (its device, its CPU's native
precisions, the packages installed): never of what ran before in the process or on the machine. It is
known before a run (:attr:`EmotionClassifier.engine <spacy_goemotions.core.classifier.EmotionClassifier.engine>`),
reported after one (:attr:`RunStats.engine <spacy_goemotions.core.scoring.RunStats.engine>`), and kept
wherever a result is kept: the ``classify`` fingerprint (a resume refuses another engine), the saved
spaCy pipeline's cfg, the header of the HTML report.

Two results computed by the same engine on the same kind of CPU are identical; float32 results of
different engines agree to about 1e-5, reduced precisions to what the precision table of the docs' core page says (docs/core.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: OpenVINO's names of element types, as the dtype names used everywhere else.
_OPENVINO_PRECISIONS = {"f32": "float32", "bf16": "bfloat16", "f16": "float16", "i8": "int8", "u8": "int8"}


def precision_name(name: str) -> str:
    """One vocabulary for precisions: ``"bf16"`` (OpenVINO) and ``"torch.bfloat16"`` are ``"bfloat16"``."""
    name = str(name).strip().lower().removeprefix("torch.")
    return _OPENVINO_PRECISIONS.get(name, name)


@dataclass(frozen=True)
class Engine:
    """The backend, precision and device that compute a classifier's scores.

    Attributes:
        backend: ``"torch"`` or ``"openvino"`` (never ``"auto"``: that is resolved before).
        precision: ``"float32"``, ``"bfloat16"``, ``"float16"`` or ``"int8"`` (int8 models run the
            operations they do not quantize in the CPU's float precision).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``.

    Examples:
        >>> str(Engine("openvino", "bfloat16", "cpu"))
        'openvino/bfloat16/cpu'
        >>> Engine.parse("torch/float32/cpu") == Engine("torch", "float32", "cpu")
        True
    """

    backend: str
    precision: str
    device: str

    def __str__(self) -> str:
        return f"{self.backend}/{self.precision}/{self.device}"

    def describe(self) -> str:
        """For people: ``"openvino, bfloat16, on cpu"``.

        Returns:
            the engine in words.
        """
        return f"{self.backend}, {self.precision}, on {self.device}"

    def to_dict(self) -> dict[str, Any]:
        """Plain form, as saved in checkpoints and pipelines: ``{"backend", "precision", "device"}``.

        Returns:
            the three fields by name.
        """
        return {"backend": self.backend, "precision": self.precision, "device": self.device}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Engine:
        """The engine :meth:`to_dict` wrote.

        Args:
            data: ``{"backend", "precision", "device"}``.

        Returns:
            the engine.
        """
        return cls(str(data["backend"]), str(data["precision"]), str(data["device"]))

    @classmethod
    def parse(cls, text: str) -> Engine:
        """The inverse of ``str(engine)``.

        Args:
            text: ``"backend/precision/device"``, as ``str(engine)`` writes it.

        Returns:
            the engine.
        """
        backend, precision, device = text.split("/", 2)
        return cls(backend, precision, device)

    def options_hint(self) -> str:
        """The options that ask for this engine, for messages: ``backend='openvino', dtype='bfloat16', device='cpu'``.

        Returns:
            ``backend=..., dtype=..., device=...`` in Python syntax.
        """
        return f"backend={self.backend!r}, dtype={self.precision!r}, device={self.device!r}"
