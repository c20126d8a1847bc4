"""``spacy-goemotions sample`` and ``import-annotations`` end to end with the bundled model, and
``df.emotions.sample_for_review`` picking the same texts as the command."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import spacy_goemotions  # noqa: F401  (registers df.emotions)
from spacy_goemotions.cli import main
from spacy_goemotions.evaluation.datasets import read_dataset
from spacy_goemotions.labels import GOEMOTIONS_LABELS

MODEL = "goemotions-small"
TEXTS = [
    "Thank you so much for fixing this, you made my whole week!",
    "Why does the export button do nothing? I've clicked it ten times.",
    "lol that cat video is the funniest thing I've seen all year",
    "I'm really sorry to hear about your dog.",
    "The package arrived today.",
    "This is the worst update ever, everything is broken.",
    "I'm so nervous about the interview tomorrow",
    "Wow, I did not expect that at all!",
    "",
    "THANK YOU so much for fixing this,   you made my whole week!",
    "I miss my grandmother every day.",
    "Great job on the release, proud of the team.",
    "Could you explain how the new pricing works?",
    "ugh, not again",
    "I love this community",
    "That is disgusting.",
]


@pytest.fixture(scope="module")
def comments(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("input") / "comments.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ticket", "body"])
        writer.writerows([f"T{i:03d}", text] for i, text in enumerate(TEXTS))
    return path


def sample(comments: Path, out: Path, *extra: str) -> list[dict]:
    code = main(
        ["sample", str(comments), "-o", str(out), "--text-column", "body", "--id-column", "ticket", "--model", MODEL, *extra]
    )
    assert code == 0
    return json.loads(out.read_text(encoding="utf-8"))


def test_sample_writes_label_studio_tasks_and_config_with_the_policy_labels_prefilled(
    comments: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = sample(comments, tmp_path / "tasks.json", "-n", "6", "--config", str(tmp_path / "labels.xml"), "--no-progress")
    assert "sample: 6 of 15 candidate texts (16 read) picked by uncertain (seed 0), 28 labels" in capsys.readouterr().err
    ids = [task["data"]["id"] for task in tasks]
    assert len(ids) == 6 == len(set(ids)) and "T008" not in ids  # the empty text is never picked
    assert not {"T000", "T009"} <= set(ids)  # the duplicate (case and spaces) at most once
    frame = pd.DataFrame({"ticket": [f"T{i:03d}" for i in range(len(TEXTS))], "body": TEXTS})
    expected = frame.emotions.classify("body", model=MODEL).set_index("ticket")
    for task in tasks:
        row = expected.loc[task["data"]["id"]]
        assert task["data"]["text"] == row["body"]
        result = task["predictions"][0]["result"]
        assert (result[0]["value"]["choices"] if result else []) == list(row["emotions"])
        assert task["data"]["scores"]["joy"] == pytest.approx(float(row["joy"]), abs=1e-6)
    choices = ElementTree.parse(tmp_path / "labels.xml").getroot().find("Choices")
    assert [c.get("value") for c in choices.findall("Choice")] == list(GOEMOTIONS_LABELS)  # type: ignore[union-attr]
    again = sample(comments, tmp_path / "again.json", "-n", "6")
    assert again == tasks  # the same input and seed: the same tasks


def test_sample_over_a_taxonomy_and_with_exclusions(comments: Path, tmp_path: Path) -> None:
    first = sample(comments, tmp_path / "first.json", "-n", "5", "--strategy", "diverse", "--taxonomy", "ekman")
    assert set(first[0]["data"]["scores"]) == {"anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"}
    second = sample(comments, tmp_path / "second.json", "-n", "20", "--exclude", str(tmp_path / "first.json"))
    assert {t["data"]["id"] for t in first}.isdisjoint(t["data"]["id"] for t in second)
    assert len(second) == 15 - 5 - 1  # the rest, less the duplicate of a picked or excluded text


def test_sample_in_prodigy_and_plain_formats(comments: Path, tmp_path: Path) -> None:
    main(
        [
            "sample",
            str(comments),
            "-o",
            str(tmp_path / "t.jsonl"),
            "--text-column",
            "body",
            "--model",
            MODEL,
            "--format",
            "prodigy",
            "-n",
            "3",
        ]
    )
    lines = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 3 and all(len(line["options"]) == 28 and line["meta"]["id"].startswith("sha256:") for line in lines)
    main(
        [
            "sample",
            str(comments),
            "-o",
            str(tmp_path / "t.csv"),
            "--text-column",
            "body",
            "--model",
            MODEL,
            "--format",
            "csv",
            "-n",
            "3",
        ]
    )
    assert (tmp_path / "t.csv").read_text(encoding="utf-8").startswith("id,text,labels\n")


def test_sample_refuses_a_config_for_prodigy_and_two_taxonomies(
    comments: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["sample", str(comments), "-o", str(tmp_path / "t.jsonl"), "--text-column", "body", "--model", MODEL]
    assert main([*base, "--format", "prodigy", "--config", str(tmp_path / "x.xml")]) == 2
    assert "--config writes Label Studio's labelling config" in capsys.readouterr().err
    assert main([*base, "--taxonomy", "ekman,sentiment"]) == 2
    assert "one label space" in capsys.readouterr().err
    assert main([*base[:3], str(tmp_path / "no" / "tasks.json"), *base[4:]]) == 2
    assert "does not exist; create it first" in capsys.readouterr().err
    assert not (tmp_path / "t.jsonl").exists()


def test_the_pandas_accessor_picks_what_the_command_picks(comments: Path, tmp_path: Path) -> None:
    tasks = sample(comments, tmp_path / "tasks.json", "-n", "6", "--strategy", "uncertain", "--seed", "3")
    frame = pd.read_csv(comments, keep_default_na=False)
    picked = frame.emotions.sample_for_review(
        "body", n=6, seed=3, id_column="ticket", model=MODEL, output=tmp_path / "from_pandas.json"
    )
    assert picked["review_id"].tolist() == [task["data"]["id"] for task in tasks]
    assert json.loads((tmp_path / "from_pandas.json").read_text(encoding="utf-8")) == tasks
    assert picked.index.tolist() == [int(t["data"]["id"][1:]) for t in tasks]  # the frame's own index labels
    assert np.allclose(picked["joy"], [t["data"]["scores"]["joy"] for t in tasks], atol=1e-6)


def test_import_annotations_writes_train_and_dev_docbins_that_evaluate_reads(
    comments: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = sample(comments, tmp_path / "tasks.json", "-n", "10")
    answers = {task["data"]["id"]: ["joy"] if i % 3 else ["anger", "sadness"] for i, task in enumerate(tasks)}
    export = [
        {
            "id": i + 1,
            "data": task["data"],
            "predictions": task["predictions"],
            "annotations": [
                {
                    "completed_by": 1,
                    "was_cancelled": i == 9,
                    "result": [
                        {
                            "from_name": "emotions",
                            "to_name": "text",
                            "type": "choices",
                            "value": {"choices": answers[task["data"]["id"]]},
                        }
                    ],
                }
            ],
        }
        for i, task in enumerate(tasks)
    ]
    (tmp_path / "export.json").write_text(json.dumps(export), encoding="utf-8")
    code = main(
        ["import-annotations", str(tmp_path / "export.json"), "--format", "label-studio", "-o", str(tmp_path / "train.spacy"),
         "--dev", str(tmp_path / "dev.spacy"), "--dev-share", "0.25"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    assert "left out: tasks skipped (every annotation cancelled): 1" in err and "reviewed: 9 texts, 0 with no label" in err
    assert "Wrote 7 docs with 28 labels" in err and "Wrote 2 docs with 28 labels" in err
    train, dev = read_dataset(tmp_path / "train.spacy"), read_dataset(tmp_path / "dev.spacy")
    assert set(train.ids).isdisjoint(dev.ids) and len(set(train.ids) | set(dev.ids)) == 9
    for data in (train, dev):
        for identifier, row in zip(data.ids, data.gold, strict=True):
            assert sorted(np.array(data.labels)[row == 1]) == sorted(answers[identifier])
    assert main(["evaluate", "--data", str(tmp_path / "dev.spacy"), "--model", MODEL, "--format", "json"]) == 0


def test_import_annotations_errors_are_one_line_and_write_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = tmp_path / "cut.json"
    export.write_text('[{"id": 1, "data": {"text": "hi"}, "annotations": [{"result": [', encoding="utf-8")
    code = main(["import-annotations", str(export), "--format", "label-studio", "-o", str(tmp_path / "train.spacy")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("spacy-goemotions import-annotations: error: ") and "cut.json: not valid JSON" in err
    other = tmp_path / "other.jsonl"
    other.write_text('{"id": "1", "text": "hi", "labels": ["spam"]}\n', encoding="utf-8")
    assert main(["import-annotations", str(other), "--format", "jsonl", "-o", str(tmp_path / "train.spacy")]) == 1
    assert "['spam'] outside the label set" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.json", "other.jsonl"]
    code = main(["import-annotations", str(other), "--format", "jsonl", "-o", str(tmp_path / "t.spacy"), "--labels", "spam,ham"])
    assert code == 0 and read_dataset(tmp_path / "t.spacy", labels=None).labels == ("spam",)
