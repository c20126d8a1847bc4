"""The 28 GoEmotions labels: the single source of truth for their names and order."""

from __future__ import annotations

#: Label names in GoEmotions id order (0..27); ``neutral`` is last.
GOEMOTIONS_LABELS: tuple[str, ...] = (
    "admiration",
    "amusement",
    "anger",
    "annoyance",
    "approval",
    "caring",
    "confusion",
    "curiosity",
    "desire",
    "disappointment",
    "disapproval",
    "disgust",
    "embarrassment",
    "excitement",
    "fear",
    "gratitude",
    "grief",
    "joy",
    "love",
    "nervousness",
    "optimism",
    "pride",
    "realization",
    "relief",
    "remorse",
    "sadness",
    "surprise",
    "neutral",
)

#: The model every adapter uses unless told otherwise.
DEFAULT_MODEL = "cirimus/modernbert-base-go-emotions"
