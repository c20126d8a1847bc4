"""spaCy integration: the ``goemotions`` component and the ``spacy_goemotions.scorer.v1`` scorer.

Both are registered with spaCy through entry points (``spacy_factories``, ``spacy_scorers``) and when
this package is imported.
"""

from __future__ import annotations

from .component import EmotionComponent
from .factory import DEFAULT_CONFIG, make_goemotions
from .scorer import make_emotion_scorer, score_emotions

__all__ = ["DEFAULT_CONFIG", "EmotionComponent", "make_emotion_scorer", "make_goemotions", "score_emotions"]
