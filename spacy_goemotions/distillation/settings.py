"""How to distil: the settings of :func:`~spacy_goemotions.distillation.distill`, validated on construction."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigurationError
from ..training.trainer import is_integer as _integer
from ..training.trainer import is_number as _number


@dataclass(frozen=True)
class DistillSettings:
    """How to distil, validated on construction.

    Attributes:
        student: ``"small"``, ``"tiny"`` or the path of a ModernBERT ``config.json``.
        epochs: passes over the teacher-scored texts.
        max_steps: stop after this many optimizer steps, whatever ``epochs`` says (None: all the epochs).
        batch_size: texts per optimizer step.
        learning_rate: AdamW's peak learning rate (a student trains from scratch: higher than fine-tuning's).
        warmup_share: the share of steps over which the learning rate rises from 0 (then decays linearly to 0).
        temperature: softens teacher and student alike in the loss (see the module); 1 is plain BCE on the scores.
        max_length: the most tokens of a text the student trains on (longer texts are truncated in training only).
        held_out_share: the share of the texts kept out of training to tune thresholds and measure agreement.
        seed: seeds the student's initialization, the batches and dropout.
        teacher_embeddings: start the student's token embeddings from the teacher's (projected when narrower).
        speed_texts: how many distinct texts time the student and the teacher, held-out ones first (0: no timing).

    Raises:
        ConfigurationError: for a value out of range, naming it with a right example.

    Examples:
        >>> DistillSettings(student="tiny", epochs=3).temperature
        1.0
    """

    student: str = "tiny"
    epochs: int = 3
    max_steps: int | None = None
    batch_size: int = 32
    learning_rate: float = 1e-3
    warmup_share: float = 0.06
    temperature: float = 1.0
    max_length: int = 128
    held_out_share: float = 0.05
    seed: int = 0
    teacher_embeddings: bool = True
    speed_texts: int = 1000

    def __post_init__(self) -> None:
        checks = [
            ("epochs", _integer(self.epochs) and self.epochs >= 1, "epochs=3"),
            ("max_steps", self.max_steps is None or (_integer(self.max_steps) and self.max_steps >= 1), "max_steps=300"),
            ("batch_size", _integer(self.batch_size) and self.batch_size >= 1, "batch_size=32"),
            ("learning_rate", _number(self.learning_rate) and 0 < self.learning_rate < 1, "learning_rate=1e-3"),
            ("warmup_share", _number(self.warmup_share) and 0 <= self.warmup_share < 1, "warmup_share=0.06"),
            ("temperature", _number(self.temperature) and 0 < self.temperature <= 100, "temperature=2.0"),
            ("max_length", _integer(self.max_length) and self.max_length >= 8, "max_length=128"),
            ("held_out_share", _number(self.held_out_share) and 0 < self.held_out_share < 0.5, "held_out_share=0.05"),
            ("seed", _integer(self.seed), "seed=0"),
            ("teacher_embeddings", isinstance(self.teacher_embeddings, bool), "teacher_embeddings=True"),
            ("speed_texts", _integer(self.speed_texts) and self.speed_texts >= 0, "speed_texts=1000"),
        ]
        for name, ok, example in checks:
            if not ok:
                raise ConfigurationError(
                    f"{name} = {getattr(self, name)!r} is not a valid distillation setting. Example: {example}",
                    options=(name,),
                    value=getattr(self, name),
                )
