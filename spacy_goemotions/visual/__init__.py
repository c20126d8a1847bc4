"""What people look at: word-level explanations and the HTML visualizer.

``explain`` cuts texts into spaCy's words and hands them to the core's occlusion
(:mod:`spacy_goemotions.core.explanations`); ``render`` turns texts, Docs and explanations into a page
that works offline. spaCy is imported when either is first called.
"""

from __future__ import annotations

from .explain import explain
from .render import render

__all__ = ["explain", "render"]
