"""The texts ``dtype="int8"`` calibrates its activation ranges on: the user's, or a bundled sample.

The bundled sample is 300 comments of the GoEmotions *train* split, stratified by length (see
``spacy_goemotions/data/README.md`` and ``scripts/make_calibration_sample.py``). Read here, in the
core, so that a missing or too short ``calibration_texts`` file is named when a classifier is built.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from ..errors import ConfigurationError
from .options import MIN_CALIBRATION_TEXTS

BUNDLED_CALIBRATION = "calibration_texts.txt"


def bundled_calibration_texts() -> list[str]:
    """The bundled calibration sample, one text per line of ``data/calibration_texts.txt``."""
    text = resources.files("spacy_goemotions").joinpath("data", BUNDLED_CALIBRATION).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


def calibration_texts(option: str | os.PathLike[str] | Sequence[str] | None) -> list[str]:
    """The texts to calibrate on: the option's (a file, one text per line, or strings), or the bundled ones.

    Raises:
        ConfigurationError: for a file that cannot be read or has fewer than ``MIN_CALIBRATION_TEXTS`` texts.

    Examples:
        >>> len(calibration_texts(None))
        300
    """
    if option is None:
        return bundled_calibration_texts()
    if not isinstance(option, (str, os.PathLike)):
        return list(option)  # the options made it a tuple of checked strings
    path = Path(option).expanduser()
    try:
        texts = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(
            f"Could not read calibration_texts {os.fspath(option)!r}: {error}. Give a UTF-8 text file with one text per line.",
            options=("calibration_texts",),
        ) from error
    if len(texts) < MIN_CALIBRATION_TEXTS:
        raise ConfigurationError(
            f"calibration_texts {os.fspath(option)!r} holds {len(texts)} non-empty lines; at least {MIN_CALIBRATION_TEXTS} "
            "are needed (a few hundred like the data you will score are best)",
            options=("calibration_texts",),
        )
    return texts
