"""Prodigy: multi-label choice tasks (JSONL) and the import of ``prodigy db-out``.

- :func:`prodigy_tasks`: one JSON object per line as Prodigy's ``choice`` interface reads it: ``text``,
  ``options`` (``{"id": name, "text": name}`` for every name of the review space), ``accept`` (the pre-selected
  ids), ``config.choice_style = "multiple"``, and ``meta`` (our id and the top scores, which Prodigy shows on
  the card). Load them with ``prodigy mark DATASET tasks.jsonl --view-id choice``.
- :func:`read_prodigy_export`: ``prodigy db-out DATASET > export.jsonl``. Answers as Prodigy defines them:
  ``accept`` means the selected options are the text's labels and the other options are not; ``reject`` means the
  selected options are wrong and says nothing about the rest, which cannot fill every label, so rejected answers
  are left out and counted; ``ignore`` (skipped) is left out and counted. A task is known by our id in
  ``meta.id``, else by Prodigy's ``_input_hash``; the annotator is ``_annotator_id`` (else ``_session_id``), the
  time ``_timestamp``.
"""

from __future__ import annotations

from typing import Any

from .files import load_jsonl
from .reviewed import Annotation, AnnotationError, ExportRead
from .tasks import ReviewBatch, content_id

#: How many of the highest scores a card's ``meta`` shows.
META_TOP_SCORES = 3


def prodigy_tasks(batch: ReviewBatch) -> list[dict[str, Any]]:
    """Choice tasks with every name of the review space as an option and the model's choices pre-selected."""
    options = [{"id": name, "text": name} for name in batch.names]
    tasks = []
    for task in batch.tasks:
        top = sorted(task.scores.items(), key=lambda item: -item[1])[:META_TOP_SCORES]
        tasks.append(
            {
                "text": task.text,
                "options": options,
                "accept": task.labels,
                "config": {"choice_style": "multiple"},
                "meta": {"id": task.id, "model": batch.model_version, "top": ", ".join(f"{n} {s:.2f}" for n, s in top)},
                "scores": task.scores,
            }
        )
    return tasks


def read_prodigy_export(path: str) -> ExportRead:
    """Annotations from ``prodigy db-out`` JSONL of multi-label choice tasks.

    Raises:
        AnnotationError: for lines that are not JSON objects, an empty export, a record without text, or records
            that are not choice tasks (binary ``textcat.teach`` answers name one label and cannot fill every label).
    """
    read = ExportRead(path, "Prodigy")
    for number, record in load_jsonl(path, "Prodigy"):
        read.tasks += 1
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            raise AnnotationError(f"{path}: line {number} has no text. Is this a db-out of a text classification dataset?")
        options = record.get("options")
        if not isinstance(options, list):
            raise AnnotationError(
                f"{path}: line {number} has no 'options': it is not a choice task (a binary textcat.teach answer names one "
                "label and cannot fill every label). Annotate our tasks with `prodigy mark DATASET tasks.jsonl --view-id choice`."
            )
        option_ids = [str(option.get("id")) for option in options if isinstance(option, dict)]
        read.offered.update(option_ids)
        answer = record.get("answer")
        if answer in ("reject", "ignore"):
            read.left_out["ignored answers" if answer == "ignore" else "rejected answers"] += 1
            continue
        if answer != "accept":
            raise AnnotationError(
                f"{path}: line {number} has answer {answer!r}; Prodigy answers are accept, reject or ignore. Is it a db-out file?"
            )
        accepted = record.get("accept") or []
        if not isinstance(accepted, list):
            raise AnnotationError(f"{path}: line {number}: 'accept' must be a list of option ids, got {accepted!r}")
        meta = record.get("meta")
        task_id = meta.get("id") if isinstance(meta, dict) else None
        if task_id in (None, ""):
            task_id = f"prodigy:{record['_input_hash']}" if "_input_hash" in record else content_id(text)
        annotator = record.get("_annotator_id") or record.get("_session_id")
        labels = frozenset(str(choice) for choice in accepted)
        read.annotations.append(
            Annotation(
                str(task_id), text, labels, None if annotator is None else str(annotator), record.get("_timestamp"), number
            )
        )
    return read
