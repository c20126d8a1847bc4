"""The annotation loop's formats, both ways: tasks for Label Studio, Prodigy and plain files, and their exports
back to reviewed labels (conflicts, left-out tasks, label sets, bad files), without a model or a server."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pytest

from spacy_goemotions.annotation import (
    AnnotationError,
    ExcludedTexts,
    ReviewSpace,
    content_id,
    import_annotations,
    label_studio_tasks,
    labelling_config,
    pick_tasks,
    prodigy_tasks,
    read_exclusions,
    read_label_studio_export,
    read_prodigy_export,
    resolve,
    split_dev,
    write_tasks,
    write_training_files,
)
from spacy_goemotions.errors import InputError
from spacy_goemotions.evaluation.datasets import LabelledData
from spacy_goemotions.labels import GOEMOTIONS_LABELS

FIXTURES = Path(__file__).parent / "fixtures" / "prodigy"
NAMES = ("joy", "anger", "neutral")
TEXTS = ["I love it", "This is awful", "ok", None, "Meh, fine I guess", "i   LOVE it"]
SCORES = np.array(
    [[0.95, 0.01, 0.02], [0.05, 0.52, 0.30], [0.10, 0.10, 0.80], [np.nan] * 3, [0.45, 0.20, 0.55], [0.93, 0.02, 0.02]],
    dtype=np.float32,
)


def space() -> ReviewSpace:
    selected = [[NAMES[i] for i in np.argsort(-row) if row[i] >= 0.5] if not np.isnan(row).any() else [] for row in SCORES]
    return ReviewSpace(NAMES, SCORES, np.full(3, 0.5), selected)


def ls_annotation(choices: list[str], *, cancelled: bool = False, who: int = 1, at: str = "2026-12-03T10:00:00Z") -> dict:
    result = [{"from_name": "emotions", "to_name": "text", "type": "choices", "value": {"choices": choices}}]
    return {"id": who, "completed_by": who, "result": result, "was_cancelled": cancelled, "updated_at": at}


def ls_export(path: Path, tasks: list[dict]) -> str:
    path.write_text(json.dumps(tasks), encoding="utf-8")
    return str(path)


def read_docbin(path: Path) -> list[tuple[str, dict[str, float], str]]:
    import spacy
    from spacy.tokens import DocBin

    docs = DocBin().from_disk(path).get_docs(spacy.blank("en").vocab)
    return [(doc.text, doc.cats, doc.user_data["id"]) for doc in docs]


def test_tasks_carry_text_stable_id_scores_and_the_preselected_labels() -> None:
    batch = pick_tasks(TEXTS, ["a", "b", "c", "d", "e", "f"], space(), 10, "uncertain", model="m")
    by_id = {task.id: task for task in batch.tasks}
    assert "d" not in by_id  # the missing text is never picked
    assert ("a" in by_id) != ("f" in by_id)  # "i   LOVE it" duplicates "I love it": one of them
    assert by_id["b"].labels == ["anger"] and by_id["b"].scores == {"joy": 0.05, "anger": 0.52, "neutral": 0.3}
    assert by_id["e"].labels == ["neutral"] and by_id["e"].row == 4
    hashed = pick_tasks(TEXTS, None, space(), 1, "uncertain")
    assert hashed.tasks[0].id == content_id(hashed.tasks[0].text) and content_id("x").startswith("sha256:")
    assert pick_tasks(TEXTS, None, space(), 3, "random", seed=7) == pick_tasks(TEXTS, None, space(), 3, "random", seed=7)


def test_ids_must_name_one_row_each_and_missing_ids_fall_back_to_the_content_hash() -> None:
    with pytest.raises(InputError, match=r"1 id\(s\) name more than one row \(e\.g\. 'x'\)"):
        pick_tasks(TEXTS, ["x", "b", "c", "d", "e", "x"], space(), 2, "uncertain")
    batch = pick_tasks(TEXTS, ["a", "", "c", "d", None, "f"], space(), 10, "uncertain")
    assert {task.id for task in batch.tasks} >= {content_id("This is awful"), content_id("Meh, fine I guess")}


def test_excluded_texts_are_never_picked_by_id_or_by_text() -> None:
    exclude = ExcludedTexts(frozenset({"b"}), frozenset({"ok"}))
    batch = pick_tasks(TEXTS, ["a", "b", "c", "d", "e", "f"], space(), 10, "uncertain", exclude=exclude)
    assert {task.id for task in batch.tasks}.isdisjoint({"b", "c"})
    assert batch.candidates == 3  # a, e, f: the missing text and the two excluded are not candidates


def test_labelling_config_is_xml_with_one_multiple_choice_per_name_escaped() -> None:
    root = ElementTree.fromstring(labelling_config([*GOEMOTIONS_LABELS, 'odd "<&> name']))
    choices = root.find("Choices")
    assert choices is not None and choices.get("choice") == "multiple" and choices.get("toName") == "text"
    assert [c.get("value") for c in choices.findall("Choice")] == [*GOEMOTIONS_LABELS, 'odd "<&> name']
    assert root.find("Text").get("value") == "$text"  # type: ignore[union-attr]


def test_label_studio_tasks_hold_data_id_scores_and_a_prediction_per_task() -> None:
    batch = pick_tasks(TEXTS, ["a", "b", "c", "d", "e", "f"], space(), 10, "uncertain", model="goemotions-small")
    tasks = {task["data"]["id"]: task for task in label_studio_tasks(batch)}
    prediction = tasks["b"]["predictions"][0]
    assert prediction["result"] == [
        {"from_name": "emotions", "to_name": "text", "type": "choices", "value": {"choices": ["anger"]}}
    ]
    assert prediction["model_version"].startswith("goemotions-small") and prediction["score"] == 0.52
    assert tasks["b"]["data"]["text"] == "This is awful" and tasks["b"]["data"]["scores"]["anger"] == 0.52


def test_label_studio_export_annotations_win_skips_and_unannotated_are_counted(tmp_path: Path) -> None:
    prediction = [{"result": [{"from_name": "emotions", "to_name": "text", "type": "choices", "value": {"choices": ["joy"]}}]}]
    export = ls_export(
        tmp_path / "export.json",
        [
            {
                "id": 1,
                "data": {"text": "I love it", "id": "a"},
                "annotations": [ls_annotation(["anger"])],
                "predictions": prediction,
            },
            {"id": 2, "data": {"text": "ok", "id": "c"}, "annotations": [ls_annotation([])]},
            {"id": 3, "data": {"text": "skip me", "id": "s"}, "annotations": [ls_annotation([], cancelled=True)]},
            {"id": 4, "data": {"text": "untouched", "id": "u"}, "annotations": [], "predictions": prediction},
            {
                "id": 5,
                "data": {"text": "one of two", "id": "h"},
                "annotations": [ls_annotation(["joy"]), ls_annotation([], cancelled=True)],
            },
        ],
    )
    read = read_label_studio_export(export)
    assert [(a.task, sorted(a.labels)) for a in read.annotations] == [("a", ["anger"]), ("c", []), ("h", ["joy"])]
    assert read.left_out == {
        "tasks nobody annotated": 1, "tasks skipped (every annotation cancelled)": 1, "cancelled annotations of tasks others annotated": 1
    }  # fmt: skip
    imported = import_annotations(export, "label-studio", NAMES)
    assert imported.data.gold.tolist() == [[0, 1, 0], [0, 0, 0], [1, 0, 0]]
    assert "1 with no label" in imported.report and "left out: tasks skipped (every annotation cancelled): 1" in imported.report


@pytest.mark.parametrize(
    ("policy", "expected"), [("majority", ["annoyance", "confusion"]), ("latest", ["annoyance", "confusion"]), ("drop", None)]
)
def test_prodigy_db_out_fixture_answers_and_conflicts(policy: str, expected: list[str] | None) -> None:
    read = read_prodigy_export(str(FIXTURES / "textcat-multilabel-db-out.jsonl"))
    assert read.tasks == 7 and read.left_out == {"rejected answers": 1, "ignored answers": 1}
    assert read.offered == set(GOEMOTIONS_LABELS)
    resolution = resolve(read, policy)  # type: ignore[arg-type]
    assert resolution.conflicts == 1
    by_task = {task.task: sorted(task.labels) for task in resolution.tasks}
    assert by_task.get("t2") == expected
    assert by_task["t1"] == ["gratitude", "joy"] and by_task["t3"] == []
    assert "t4" not in by_task and "t5" not in by_task


def test_majority_needs_more_than_half_and_latest_follows_the_time(tmp_path: Path) -> None:
    export = ls_export(
        tmp_path / "two.json",
        [
            {
                "id": 1,
                "data": {"text": "Why?", "id": "q"},
                "annotations": [
                    ls_annotation(["anger", "joy"], who=2, at="2026-12-03T11:00:00Z"),
                    ls_annotation(["anger"], who=1, at="2026-12-03T10:00:00Z"),
                ],
            }
        ],
    )
    read = read_label_studio_export(export)
    assert resolve(read, "majority").tasks[0].labels == {"anger"}  # two annotators: what both chose
    assert resolve(read, "latest").tasks[0].labels == {"anger", "joy"}  # the 11:00 annotation, though listed first
    assert resolve(read, "drop").tasks == [] and resolve(read, "drop").dropped == 1


def test_prodigy_tasks_are_choice_tasks_with_every_option_and_the_model_choices_accepted() -> None:
    batch = pick_tasks(TEXTS, ["a", "b", "c", "d", "e", "f"], space(), 2, "uncertain", model="m")
    for task, written in zip(batch.tasks, prodigy_tasks(batch), strict=True):
        assert written["options"] == [{"id": name, "text": name} for name in NAMES]
        assert written["accept"] == task.labels and written["config"] == {"choice_style": "multiple"}
        assert written["meta"]["id"] == task.id and written["text"] == task.text


@pytest.mark.parametrize("task_format", ["prodigy", "jsonl", "csv"])
def test_round_trip_through_each_format_keeps_the_reviewed_labels(tmp_path: Path, task_format: str) -> None:
    """Write tasks, answer them as the tool records answers, import: the DocBin holds exactly those answers."""
    batch = pick_tasks(TEXTS, ["a", "b", "c", "d", "e", "f"], space(), 10, "uncertain", model="m")
    answers = {"a": ["joy"], "b": ["anger", "neutral"], "c": [], "e": ["joy", "neutral"], "f": ["joy"]}
    tasks_path = tmp_path / f"tasks.{'csv' if task_format == 'csv' else 'jsonl'}"
    write_tasks(batch, tasks_path, task_format)  # type: ignore[arg-type]
    export = tmp_path / f"export.{tasks_path.suffix[1:]}"
    if task_format == "prodigy":
        lines = [json.loads(line) for line in tasks_path.read_text(encoding="utf-8").splitlines()]
        for n, line in enumerate(lines):
            line.update(accept=answers[line["meta"]["id"]], answer="accept", _input_hash=n, _task_hash=n, _view_id="choice")
        export.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    elif task_format == "jsonl":
        lines = [json.loads(line) for line in tasks_path.read_text(encoding="utf-8").splitlines()]
        export.write_text("".join(json.dumps({**line, "labels": answers[line["id"]]}) + "\n" for line in lines), encoding="utf-8")
    else:
        with tasks_path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert list(rows[0]) == ["id", "text", "labels"]
        with export.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, ["id", "text", "labels"])
            writer.writeheader()
            writer.writerows({**row, "labels": ",".join(answers[row["id"]])} for row in rows)
    imported = import_annotations(str(export), task_format, NAMES)  # type: ignore[arg-type]
    write_training_files(imported.data, tmp_path / "train.spacy")
    docs = read_docbin(tmp_path / "train.spacy")
    assert {identifier: sorted(k for k, v in cats.items() if v == 1.0) for _, cats, identifier in docs} == {
        task.id: sorted(answers[task.id]) for task in batch.tasks
    }
    assert all(set(cats) == set(NAMES) for _, cats, _ in docs)


def test_an_export_of_another_project_lists_its_labels_and_the_way_out(tmp_path: Path) -> None:
    export = ls_export(
        tmp_path / "other.json", [{"id": 1, "data": {"text": "hi"}, "annotations": [ls_annotation(["spam", "joy"])]}]
    )
    with pytest.raises(AnnotationError, match=r"other\.json.*\['spam'\].*--allow-new-labels"):
        import_annotations(export, "label-studio", NAMES)
    allowed = import_annotations(export, "label-studio", NAMES, allow_new_labels=True)
    assert allowed.data.labels == (*NAMES, "spam") and allowed.data.gold.tolist() == [[1, 0, 0, 1]]
    assert allowed.data.ids == ["label-studio:1"]  # a task without our id keeps Label Studio's


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", r"the file is empty"),
        ("[]", r"the export has no tasks"),
        ('[{"id": 1, "data": {"text": "hi"}, "annotations": [', r"line 1, column \d+: it ends before the JSON does"),
        ('[{"id": 1, "data": {"body": "hi"}, "annotations": []}]', r"task 1 \(Label Studio id 1\) has no text"),
        ('[{"text": "hi", "emotions": "joy"}]', r"JSON-MIN"),
        ('{"text": "hi"}', r"expected a list of tasks"),
    ],
)
def test_bad_label_studio_exports_name_the_file_and_write_nothing(tmp_path: Path, content: str, message: str) -> None:
    export = tmp_path / "bad.json"
    export.write_text(content, encoding="utf-8")
    train = tmp_path / "train.spacy"
    with pytest.raises(AnnotationError, match=message) as caught:
        imported = import_annotations(str(export), "label-studio", NAMES)
        write_training_files(imported.data, train)
    assert str(export) in str(caught.value)
    assert list(tmp_path.iterdir()) == [export]


def test_an_export_where_nothing_was_annotated_says_what_was_left_out(tmp_path: Path) -> None:
    export = ls_export(tmp_path / "none.json", [{"id": 1, "data": {"text": "hi", "id": "x"}, "annotations": []}])
    with pytest.raises(AnnotationError, match=r"(?s)no reviewed text.*tasks nobody annotated: 1"):
        import_annotations(export, "label-studio", NAMES)


def test_bad_prodigy_lines_are_named(tmp_path: Path) -> None:
    with pytest.raises(AnnotationError, match=r"line 1 has no 'options'.*prodigy mark"):
        read_prodigy_export(str(FIXTURES / "textcat-teach-db-out.jsonl"))
    cut = tmp_path / "cut.jsonl"
    good = (FIXTURES / "textcat-multilabel-db-out.jsonl").read_text(encoding="utf-8").splitlines()
    cut.write_text(good[0] + "\n" + good[1][:80], encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"cut\.jsonl: line 2 .*cut short"):
        read_prodigy_export(str(cut))
    odd = tmp_path / "odd.jsonl"
    odd.write_text(json.dumps({**json.loads(good[0]), "answer": "maybe"}) + "\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"answer 'maybe'"):
        read_prodigy_export(str(odd))


def test_one_id_with_two_texts_is_refused(tmp_path: Path) -> None:
    export = tmp_path / "mixed.jsonl"
    export.write_text('{"id": "1", "text": "a", "labels": []}\n{"id": "1", "text": "b", "labels": []}\n', encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"task '1' appears with two different texts"):
        import_annotations(str(export), "jsonl", NAMES)


def test_dev_split_is_seeded_and_disjoint(tmp_path: Path) -> None:
    data = LabelledData([f"t{i}" for i in range(10)], [str(i) for i in range(10)], np.eye(10, 3, dtype=np.uint8), NAMES)
    train, dev = split_dev(data, 0.2, seed=3)
    assert len(dev) == 2 and len(train) == 8 and set(train.ids).isdisjoint(dev.ids)
    assert split_dev(data, 0.2, seed=3)[1].ids == dev.ids
    written = write_training_files(data, tmp_path / "train.spacy", dev=tmp_path / "dev.spacy", dev_share=0.2, seed=3)
    assert written == {str(tmp_path / "train.spacy"): 8, str(tmp_path / "dev.spacy"): 2}
    assert [identifier for _, _, identifier in read_docbin(tmp_path / "dev.spacy")] == dev.ids


def test_exclusions_read_every_task_and_export_format(tmp_path: Path) -> None:
    batch = pick_tasks(TEXTS, ["a", "b", "c", "d", "e", "f"], space(), 2, "uncertain")
    for task_format, name in [("label-studio", "t.json"), ("prodigy", "t.jsonl"), ("jsonl", "p.jsonl"), ("csv", "t.csv")]:
        write_tasks(batch, tmp_path / name, task_format)  # type: ignore[arg-type]
        excluded = read_exclusions(str(tmp_path / name))
        assert excluded.ids == {task.id for task in batch.tasks}, task_format
        assert len(excluded.texts) == 2
