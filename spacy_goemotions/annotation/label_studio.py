"""Label Studio: the labelling config, tasks with the model's predictions, and the import of its JSON export.

- :func:`labelling_config`: a ``<Text>`` and a multi-choice ``<Choices>`` over the review space's names (the
  model's labels, or a taxonomy's groups), the XML a project's *Labeling Interface* takes.
- :func:`label_studio_tasks`: the tasks JSON Label Studio imports: ``data`` holds the text, our stable id
  (``data.id``) and the model's scores; ``predictions`` holds the pre-selected choices, which annotators see
  pre-filled and correct.
- :func:`read_label_studio_export`: the project's export in Label Studio's ``JSON`` format (a list of tasks,
  each with its ``annotations``). Annotations win over predictions: a task's reviewed labels are its annotations'
  choices, never the model's. Cancelled annotations (Label Studio records *Skip* that way) are left out, as are
  tasks nobody annotated; both are counted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import quoteattr

from .files import load_json
from .reviewed import Annotation, AnnotationError, ExportRead
from .tasks import ReviewBatch

#: The names of the config's controls; the tasks' predictions and the export's results refer to them.
TEXT_NAME = "text"
CHOICES_NAME = "emotions"


def labelling_config(names: Sequence[str], *, choices_name: str = CHOICES_NAME) -> str:
    """The labelling config XML: the text, and a multi-choice list of ``names``.

    Args:
        names: the choices, in order (the model's labels or a taxonomy's groups), escaped for XML.
        choices_name: the ``<Choices>`` control's name, which the tasks' predictions refer to.

    Returns:
        the XML, for a project's *Labeling Interface*.

    Examples:
        >>> print(labelling_config(["joy", "anger"]))
        <View>
          <Text name="text" value="$text"/>
          <Choices name="emotions" toName="text" choice="multiple" showInline="true">
            <Choice value="joy"/>
            <Choice value="anger"/>
          </Choices>
        </View>
        <BLANKLINE>
    """
    choices = "\n".join(f"    <Choice value={quoteattr(name)}/>" for name in names)
    return (
        "<View>\n"
        f'  <Text name="{TEXT_NAME}" value="${TEXT_NAME}"/>\n'
        f'  <Choices name={quoteattr(choices_name)} toName="{TEXT_NAME}" choice="multiple" showInline="true">\n'
        f"{choices}\n"
        "  </Choices>\n"
        "</View>\n"
    )


def label_studio_tasks(batch: ReviewBatch, *, choices_name: str = CHOICES_NAME) -> list[dict[str, Any]]:
    """The tasks JSON: one task per text with the model's choices as a prediction.

    Each task's ``data`` has ``text``, ``id`` (ours, stable) and ``scores`` (name -> score); its one prediction
    has the pre-selected names and, as its ``score``, the highest score of the text.
    """
    tasks = []
    for task in batch.tasks:
        result = (
            [{"from_name": choices_name, "to_name": TEXT_NAME, "type": "choices", "value": {"choices": task.labels}}]
            if task.labels
            else []
        )
        top = max(task.scores.values(), default=0.0)
        tasks.append(
            {
                "data": {TEXT_NAME: task.text, "id": task.id, "scores": task.scores},
                "predictions": [{"model_version": batch.model_version, "score": top, "result": result}],
            }
        )
    return tasks


def read_label_studio_export(path: str, *, choices_name: str | None = None) -> ExportRead:
    """Annotations from a Label Studio JSON export.

    Args:
        path: the export (``JSON`` format: a list of tasks).
        choices_name: the ``<Choices>`` control to read; None: the only one the export's annotations use.

    Raises:
        AnnotationError: for a file that is not a complete Label Studio JSON export (truncated, JSON-MIN, CSV),
            an empty export, a task without text, or annotations over several choice controls when none was named.
    """
    tasks = load_json(path, "Label Studio")
    if not isinstance(tasks, list) or any(not isinstance(task, dict) for task in tasks):
        raise AnnotationError(f"{path}: not a Label Studio JSON export (expected a list of tasks). Export the project as 'JSON'.")
    if not tasks:
        raise AnnotationError(f"{path}: the export has no tasks. Was the project empty, or the wrong project exported?")
    if "data" not in tasks[0] and "annotations" not in tasks[0]:
        raise AnnotationError(
            f"{path}: these tasks have no 'data' and no 'annotations': is it a JSON-MIN export? Export the project as 'JSON'."
        )
    read = ExportRead(path, "Label Studio", tasks=len(tasks))
    used_controls = {
        item.get("from_name")
        for task in tasks
        for annotation in task.get("annotations") or []
        for item in annotation.get("result") or []
        if isinstance(item, dict) and item.get("type") == "choices"
    }
    if choices_name is None and len(used_controls) > 1:
        raise AnnotationError(
            f"{path}: the annotations use several choice controls ({', '.join(sorted(map(str, used_controls)))}); "
            "name the one that holds the emotions."
        )
    order = 0
    for position, task in enumerate(tasks):
        data = task.get("data")
        text = data.get(TEXT_NAME) if isinstance(data, dict) else None
        where = f"{path}: task {position + 1} (Label Studio id {task.get('id')})"
        if not isinstance(text, str) or not text.strip():
            raise AnnotationError(f"{where} has no text in data.{TEXT_NAME}. Were the tasks imported from our tasks JSON?")
        identifier = data.get("id") if isinstance(data, dict) else None
        task_id = str(identifier) if identifier not in (None, "") else f"label-studio:{task.get('id', position)}"
        annotations = [a for a in task.get("annotations") or [] if isinstance(a, dict)]
        if not annotations:
            read.left_out["tasks nobody annotated"] += 1
            continue
        kept = [a for a in annotations if not a.get("was_cancelled")]
        if not kept:
            read.left_out["tasks skipped (every annotation cancelled)"] += 1
            continue
        if len(kept) < len(annotations):
            read.left_out["cancelled annotations of tasks others annotated"] += len(annotations) - len(kept)
        for annotation in kept:
            choices = _choices(annotation, choices_name, where)
            time = annotation.get("updated_at") or annotation.get("created_at")
            annotator = annotation.get("completed_by")
            read.annotations.append(
                Annotation(task_id, text, frozenset(choices), None if annotator is None else str(annotator), time, order)
            )
            order += 1
    return read


def _choices(annotation: dict[str, Any], choices_name: str | None, where: str) -> list[str]:
    found: list[str] = []
    for item in annotation.get("result") or []:
        if not isinstance(item, dict) or item.get("type") != "choices":
            continue
        if choices_name is not None and item.get("from_name") != choices_name:
            continue
        value = item.get("value")
        choices = value.get("choices") if isinstance(value, dict) else None
        if not isinstance(choices, list) or not all(isinstance(choice, str) for choice in choices):
            raise AnnotationError(f"{where}: an annotation's choices are not a list of names: {json.dumps(value)[:200]}")
        found += choices
    return found
