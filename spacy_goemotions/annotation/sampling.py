"""Score texts, pick the ones worth annotating, and write them in an annotation tool's format.

The one workflow under ``spacy-goemotions sample`` and ``df.emotions.sample_for_review``: they read their input
their own way and call :func:`sample_tasks`, then :func:`write_tasks`.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from ..core.table import TableOptions, classifier_layout
from ..errors import ConfigurationError
from ..evaluation.selection import SelectionStrategy
from .files import load_json, load_jsonl, read_text_file, write_json, write_jsonl, write_text
from .label_studio import label_studio_tasks, labelling_config
from .plain import write_plain_tasks
from .prodigy import prodigy_tasks
from .reviewed import AnnotationError
from .tasks import ExcludedTexts, ReviewBatch, ReviewSpace, normalized, pick_tasks

if TYPE_CHECKING:
    from ..core.classifier import EmotionClassifier

TaskFormat = Literal["label-studio", "prodigy", "jsonl", "csv"]
TASK_FORMATS: tuple[TaskFormat, ...] = ("label-studio", "prodigy", "jsonl", "csv")


def sample_tasks(
    texts: Sequence[str | None],
    classifier: EmotionClassifier,
    *,
    n: int = 500,
    strategy: SelectionStrategy = "uncertain",
    seed: int = 0,
    ids: Sequence[object] | None = None,
    table: TableOptions | None = None,
    exclude: ExcludedTexts | None = None,
    progress: bool | None = None,
) -> ReviewBatch:
    """Score ``texts`` and pick up to ``n`` of them as review tasks.

    Args:
        texts: the candidates (None or blank: never picked).
        classifier: scores them.
        n: how many tasks.
        strategy: ``uncertain``, ``diverse`` or ``random`` (see :mod:`~spacy_goemotions.evaluation.selection`).
        seed: seeds the selection.
        ids: one id per text (else each text's content hash).
        table: the threshold policy and at most one taxonomy (whose groups are then annotated).
        exclude: texts already labelled.
        progress: show a progress bar while scoring (None: when stderr is a terminal).

    Returns:
        the picked tasks, in pick order, with what produced them.

    Raises:
        ConfigurationError: for an unknown strategy, a bad ``n``, or more than one taxonomy.

    Examples:
        >>> from spacy_goemotions import EmotionClassifier
        >>> batch = sample_tasks(texts, EmotionClassifier("goemotions-small"), n=200)  # doctest: +SKIP
        >>> write_tasks(batch, "tasks.json", "label-studio", config="labels.xml")     # doctest: +SKIP
    """
    layout = classifier_layout(table or TableOptions(), classifier)
    scores = classifier.scores(texts, progress=progress)
    space = ReviewSpace.from_layout(layout, scores)
    return pick_tasks(texts, ids, space, n, strategy, seed=seed, exclude=exclude, model=classifier.model_name)


def write_tasks(
    batch: ReviewBatch,
    path: str | os.PathLike[str],
    task_format: TaskFormat = "label-studio",
    *,
    config: str | os.PathLike[str] | None = None,
) -> None:
    """Write the tasks (and, for Label Studio, the labelling config XML to ``config``), each file whole.

    Args:
        batch: the tasks (:func:`sample_tasks` or :func:`~spacy_goemotions.annotation.pick_tasks`).
        path: the tasks file.
        task_format: ``label-studio`` (tasks JSON with predictions), ``prodigy`` (choice tasks, JSONL), ``jsonl`` or
            ``csv`` (id, text, labels).
        config: Label Studio only: also write the labelling config XML here.

    Raises:
        ConfigurationError: for an unknown format, or ``config`` with a format other than Label Studio.

    Examples:
        >>> write_tasks(batch, "tasks.jsonl", "prodigy")  # doctest: +SKIP
    """
    if task_format not in TASK_FORMATS:
        raise ConfigurationError(f"Unknown task format {task_format!r}; choose one of {', '.join(TASK_FORMATS)}.")
    if config is not None and task_format != "label-studio":
        raise ConfigurationError("A labelling config (--config) is Label Studio's; drop it or use --format label-studio.")
    if task_format == "label-studio":
        if config is not None:
            write_text(config, labelling_config(batch.names))
        write_json(path, label_studio_tasks(batch))
    elif task_format == "prodigy":
        write_jsonl(path, prodigy_tasks(batch))
    else:
        write_plain_tasks(path, batch, as_csv=task_format == "csv")


def read_exclusions(path: str) -> ExcludedTexts:
    """The ids and texts of a file of texts already labelled: any task file or export this package reads
    (Label Studio JSON, Prodigy or plain JSONL, CSV with an ``id`` and/or a ``text`` column).

    Raises:
        InputNotFoundError: for a path that is no file.
        AnnotationError: for a file none of those formats reads, or one without ids or texts.
    """
    ids: set[str] = set()
    texts: set[str] = set()
    if path.endswith(".csv"):
        for record in csv.DictReader(io.StringIO(read_text_file(path, "CSV"))):
            _collect(record, ids, texts)
    elif path.endswith(".json"):
        records = load_json(path, "Label Studio")
        if not isinstance(records, list):
            raise AnnotationError(f"{path}: expected a list of tasks (a Label Studio tasks file or export).")
        for record in records:
            data = record.get("data", record) if isinstance(record, dict) else {}
            _collect(data if isinstance(data, dict) else {}, ids, texts)
    else:
        for _, record in load_jsonl(path, "JSONL"):
            meta = record.get("meta")
            _collect({"id": meta.get("id"), "text": record.get("text")} if isinstance(meta, dict) else record, ids, texts)
    if not ids and not texts:
        raise AnnotationError(f"{path}: found no ids or texts to exclude (expected 'id' and/or 'text' in each record).")
    return ExcludedTexts(frozenset(ids), frozenset(texts))


def _collect(record: dict[str, object], ids: set[str], texts: set[str]) -> None:
    identifier, text = record.get("id"), record.get("text")
    if identifier not in (None, ""):
        ids.add(str(identifier))
    if isinstance(text, str) and text.strip():
        texts.add(normalized(text))
