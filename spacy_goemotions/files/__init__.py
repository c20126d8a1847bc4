"""Streaming file classification: formats, readers, sinks, checkpoints, and the run that joins them.

``classify_file(FileJob(...), classifier=...)`` is what ``spacy-goemotions classify`` runs; see :mod:`.run`.
"""

from __future__ import annotations

from ..errors import BadLineError, InputError
from .formats import FORMATS, OutputPaths, detect_format, output_paths
from .job import DEFAULT_CHUNK_ROWS, FileJob
from .run import classify_file
from .summary import BatchCounts, BatchSummary, Interrupted

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "FORMATS",
    "BadLineError",
    "BatchCounts",
    "BatchSummary",
    "FileJob",
    "InputError",
    "Interrupted",
    "OutputPaths",
    "classify_file",
    "detect_format",
    "output_paths",
]
