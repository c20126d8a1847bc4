"""Fine-tuning: a checkpoint's head adapted to a label set (:mod:`.heads`) and the training step (:mod:`.trainer`).

Below the integrations (the spaCy component's ``update`` and ``finish_update`` call :meth:`.trainer.Trainer.accumulate`
and :meth:`.trainer.Trainer.apply`) and above
the core, whose loading and devices it uses. torch and transformers are imported inside the functions that need them.
"""

from .heads import LabelSetChange, adapt_head, check_label_set
from .trainer import Trainer, TrainingSettings, balanced_positive_weights

__all__ = ["LabelSetChange", "Trainer", "TrainingSettings", "adapt_head", "balanced_positive_weights", "check_label_set"]
