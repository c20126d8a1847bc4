"""One fixed colour per label, grouped by emotion family so that related emotions look related.

The families are the GoEmotions authors' Ekman groups (package data ``data/ekman_mapping.json``) plus
``neutral``: reds for anger, olive for disgust, purples for fear, warm yellows and oranges for joy,
blues for sadness, teals for surprise, grey for neutral. Labels of other models get evenly spread hues.
"""

from __future__ import annotations

import colorsys
import functools
import json
import re
from pathlib import Path

#: Hue ranges (degrees) per family; members spread across their family's range.
FAMILY_HUES: dict[str, tuple[float, float]] = {
    "anger": (348.0, 368.0),
    "disgust": (105.0, 105.0),
    "fear": (266.0, 296.0),
    "joy": (52.0, 18.0),  # joy itself golden, its last members orange
    "sadness": (200.0, 236.0),
    "surprise": (164.0, 186.0),
}
#: Below this share of a text's largest attribution a word is left uncoloured (it hardly matters).
FAINT = 0.04
#: Words that raise the chosen label's score, and words that lower it (a colour-blind-safe pair).
RAISES_RGB = (230, 97, 1)
LOWERS_RGB = (33, 102, 172)
OFF_COLOUR = "#c9ccd1"


@functools.lru_cache(maxsize=1)
def families() -> dict[str, str]:
    """label -> family, for the 28 GoEmotions labels."""
    mapping = json.loads((Path(__file__).parents[1] / "data" / "ekman_mapping.json").read_text(encoding="utf-8"))
    found = {label: family for family, members in mapping.items() for label in members}
    found["neutral"] = "neutral"
    return found


@functools.lru_cache(maxsize=4096)
def label_colour(label: str) -> str:
    """A CSS colour for ``label``: its family's hue, a step along the family's range, three lightnesses in turn."""
    family = families().get(label)
    if family == "neutral":
        return "hsl(215, 8%, 55%)"
    if family is None:  # another model's label: a hue of its own, spread by the golden angle
        hue = (sum(map(ord, label)) * 137.508) % 360
        return f"hsl({hue:.0f}, 45%, 50%)"
    members = [name for name, group in families().items() if group == family]
    step = members.index(label)
    low, high = FAMILY_HUES[family]
    hue = low + (high - low) * (step / max(len(members) - 1, 1))
    lightness = (50, 62, 42)[step % 3]
    return f"hsl({hue % 360:.0f}, 70%, {lightness}%)"


def label_rgb(label: str) -> tuple[float, float, float]:
    """:func:`label_colour` as an RGB triple in [0, 1] (for matplotlib)."""
    hue, saturation, lightness = (float(v) for v in re.findall(r"[\d.]+", label_colour(label))[:3])
    return colorsys.hls_to_rgb(hue / 360, lightness / 100, saturation / 100)


def attribution_colour(value: float, scale: float) -> str:
    """The background of a word with ``value`` on a text whose largest magnitude is ``scale``."""
    share = abs(value) / scale if scale > 0 else 0.0
    if share < FAINT:
        return "transparent"
    red, green, blue = RAISES_RGB if value > 0 else LOWERS_RGB
    return f"rgba({red}, {green}, {blue}, {0.1 + 0.75 * min(share, 1.0):.2f})"
