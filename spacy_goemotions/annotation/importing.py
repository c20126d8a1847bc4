"""From a tool's export to ``.spacy`` training data: read, resolve conflicts, check labels, split, write.

The workflow under ``spacy-goemotions import-annotations``. Everything is read and checked before the first
file is written, and each file is written whole, so a bad export leaves no half-written output behind.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import ConfigurationError
from ..evaluation.datasets import LabelledData
from .label_studio import read_label_studio_export
from .plain import read_plain_export
from .prodigy import read_prodigy_export
from .reviewed import AnnotationError, ConflictPolicy, ExportRead, Resolution, format_report, resolve, reviewed_data, split_dev

ExportFormat = Literal["label-studio", "prodigy", "jsonl", "csv"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("label-studio", "prodigy", "jsonl", "csv")


def read_export(path: str, export_format: ExportFormat) -> ExportRead:
    """Every annotation of an export, with what was left out.

    Raises:
        ConfigurationError: for an unknown format.
        AnnotationError: for an export that is not the format's (see each reader).
    """
    if export_format == "label-studio":
        return read_label_studio_export(path)
    if export_format == "prodigy":
        return read_prodigy_export(path)
    if export_format in ("jsonl", "csv"):
        return read_plain_export(path, as_csv=export_format == "csv")
    raise ConfigurationError(f"Unknown export format {export_format!r}; choose one of {', '.join(EXPORT_FORMATS)}.")


@dataclass(frozen=True)
class ImportedAnnotations:
    """An export turned into labelled data, with the report of what happened on the way.

    Attributes:
        read: what the export held.
        resolution: one label set per task, and the conflicts.
        data: the reviewed texts over the label set (every label a column).
        report: the lines :func:`~.reviewed.format_report` prints.
    """

    read: ExportRead
    resolution: Resolution
    data: LabelledData
    report: str


def import_annotations(
    path: str,
    export_format: ExportFormat,
    labels: Sequence[str],
    *,
    conflicts: ConflictPolicy = "majority",
    allow_new_labels: bool = False,
) -> ImportedAnnotations:
    """Read ``path`` and give its reviewed texts over ``labels`` (see :mod:`.reviewed` for the rules).

    Args:
        path: the export.
        export_format: ``label-studio`` (its JSON export), ``prodigy`` (``db-out`` JSONL), ``jsonl`` or ``csv``.
        labels: the label set: every one becomes a column of the result, 0 or 1.
        conflicts: ``majority``, ``latest`` or ``drop`` (annotators of one task who disagree).
        allow_new_labels: labels outside the set are added after it instead of refused.

    Returns:
        the reviewed texts, what the export held and left out, and the report's lines.

    Raises:
        AnnotationError: for a bad export, labels outside the set (unless ``allow_new_labels``), or no text left.

    Examples:
        >>> imported = import_annotations("export.json", "label-studio", GOEMOTIONS_LABELS)  # doctest: +SKIP
        >>> print(imported.report)                                                          # doctest: +SKIP
        >>> write_training_files(imported.data, "train.spacy", dev="dev.spacy")             # doctest: +SKIP
    """
    read = read_export(path, export_format)
    resolution = resolve(read, conflicts)
    if not resolution.tasks:
        report = format_report(read, resolution, None, conflicts).rstrip()
        raise AnnotationError(f"{path}: no reviewed text is left to write. What the export holds:\n{report}")
    data = reviewed_data(resolution, labels, allow_new_labels=allow_new_labels, offered=sorted(read.offered), source=path)
    return ImportedAnnotations(read, resolution, data, format_report(read, resolution, data, conflicts))


def write_training_files(
    data: LabelledData,
    train: str | os.PathLike[str],
    *,
    dev: str | os.PathLike[str] | None = None,
    dev_share: float = 0.2,
    seed: int = 0,
    lang: str = "en",
) -> dict[str, int]:
    """Write ``train`` (and a seeded ``dev`` share) as ``.spacy`` DocBins; each file is written whole.

    Args:
        data: the reviewed texts (``ImportedAnnotations.data``).
        train: the ``.spacy`` file of the texts to train on (all of them without ``dev``).
        dev: also hold out ``dev_share`` of them here.
        dev_share: the held-out share (round(share * n) texts, at least one).
        seed: seeds the split.
        lang: the language of the blank tokenizer.

    Returns:
        the number of docs written per file.

    Raises:
        ConfigurationError: for one file named twice, a share outside (0, 1), or fewer than two texts to split.

    Examples:
        >>> write_training_files(imported.data, "train.spacy", dev="dev.spacy", dev_share=0.2)  # doctest: +SKIP
        {'train.spacy': 400, 'dev.spacy': 100}
    """
    from ..evaluation.conversion import write_docbin

    if dev is not None and Path(train).resolve() == Path(dev).resolve():
        raise ConfigurationError(f"The train and dev files are the same file ({train}); give two names.")
    parts = (
        {Path(train): data} if dev is None else dict(zip((Path(train), Path(dev)), split_dev(data, dev_share, seed), strict=True))
    )
    temporary = {}
    try:
        for target, part in parts.items():
            partial = target.with_name(target.name + ".partial")
            write_docbin(part, partial, lang=lang)
            temporary[target] = partial
        for target, partial in temporary.items():
            os.replace(partial, target)
    finally:
        for partial in temporary.values():
            if partial.exists():
                partial.unlink()
    return {str(target): len(part) for target, part in parts.items()}
