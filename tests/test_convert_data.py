"""Labelled data in spaCy's form: convert from every format, own label sets, and a report of what is in the data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from spacy_goemotions.cli import main
from spacy_goemotions.evaluation.data_report import describe_data, format_reports, shared_texts
from spacy_goemotions.evaluation.datasets import DatasetError, LabelledData, read_dataset

ROWS = [
    {"id": "a", "text": "The app crashes when I export.", "labels": ["frustration", "urgency"]},
    {"id": "b", "text": "Thanks, it works now!", "labels": ["relief"]},
    {"id": "c", "text": "   ", "labels": []},
    {"id": "d", "text": "Thanks, it works now!", "labels": "relief"},
]


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def read_docbin(path: Path) -> list[tuple[str, dict[str, float]]]:
    import spacy
    from spacy.tokens import DocBin

    docs = DocBin().from_disk(path).get_docs(spacy.blank("en").vocab)
    return [(doc.text, doc.cats) for doc in docs]


def test_labels_from_the_data_are_sorted_and_every_doc_holds_all_of_them(tmp_path: Path) -> None:
    data = read_dataset(write_jsonl(tmp_path / "own.jsonl", ROWS), labels=None)
    assert data.labels == ("frustration", "relief", "urgency")
    assert data.gold.tolist() == [[1, 0, 1], [0, 1, 0], [0, 0, 0], [0, 1, 0]]
    assert data.ids == ["a", "b", "c", "d"]  # every row kept, in order


def test_a_label_outside_a_fixed_set_is_an_error_naming_it_and_the_way_out(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "own.jsonl", ROWS)
    with pytest.raises(DatasetError, match=r"line 1: unknown label 'urgency'.*--labels-from-data"):
        read_dataset(path, labels=["frustration", "relief"])
    with pytest.raises(DatasetError, match="unknown label 'frustration'"):
        read_dataset(path)  # the GoEmotions labels by default


def test_ids_need_a_label_list(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "ids.jsonl", [{"text": "x", "labels": [3]}])
    with pytest.raises(DatasetError, match="label id 3 means nothing without a label list"):
        read_dataset(path, labels=None)
    assert read_dataset(path, labels=["a", "b", "c", "d"]).gold.tolist() == [[0, 0, 0, 1]]


def test_data_without_any_label_cannot_define_a_label_set(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="names no label at all"):
        read_dataset(write_jsonl(tmp_path / "none.jsonl", [{"text": "x", "labels": []}]), labels=None)


def test_parquet_with_list_and_comma_separated_labels(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow", reason="Parquet needs the parquet extra")
    path = tmp_path / "own.parquet"
    pd.DataFrame({"body": ["a", "b", "c"], "tags": [["joy", "anger"], [], ["joy"]], "id": [7, 8, 9]}).to_parquet(path)
    data = read_dataset(path, text_column="body", labels_column="tags")
    assert data.gold[:, [data.labels.index("joy"), data.labels.index("anger")]].tolist() == [[1, 1], [0, 0], [1, 0]]
    assert data.ids == ["7", "8", "9"]
    strings = tmp_path / "strings.parquet"
    pd.DataFrame({"text": ["a"], "labels": ["joy, anger"]}).to_parquet(strings)
    assert read_dataset(strings, labels=None).labels == ("anger", "joy")
    with pytest.raises(DatasetError, match="no column 'body'"):
        read_dataset(strings, text_column="body")


def test_the_report_counts_what_needs_a_look() -> None:
    gold = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0], [0, 1, 0]], dtype=np.uint8)
    data = LabelledData(["x", "y", " ", "y"], ["0", "1", "2", "3"], gold, ("a", "b", "c"))
    report = describe_data(data, "train.jsonl")
    assert (report.texts, report.empty_texts, report.unlabelled, report.duplicates) == (4, 1, 1, 1)
    assert report.per_label == {"a": 1, "b": 2, "c": 0} and report.unused_labels == ["c"]
    dev = LabelledData(["y", "z"], ["0", "1"], np.zeros((2, 3), dtype=np.uint8), ("a", "b", "c"))
    assert shared_texts(data, dev) == 1
    text = format_reports([report], [("train.jsonl", "dev.jsonl", 1)])
    for expected in ("4 texts, 3 labels", "1 empty text", "1 text(s) without any label", "without any example: c",
                     "1 duplicate", "1 text(s) of dev.jsonl are also in train.jsonl"):  # fmt: skip
        assert expected in text, text


def test_convert_own_labels_from_two_files_reports_before_writing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = write_jsonl(tmp_path / "train.jsonl", ROWS)
    dev = write_jsonl(
        tmp_path / "dev.jsonl", [{"text": "Thanks, it works now!", "labels": ["relief"]}, {"text": "Hm.", "labels": ["calm"]}]
    )
    assert main(["convert", str(train), str(dev), str(tmp_path / "corpus"), "--labels-from-data"]) == 0
    err = capsys.readouterr().err
    assert "1 text(s) of " in err and "are also in" in err  # the dev text that is in train
    assert "1 empty text" in err and "1 duplicate" in err
    train_docs = read_docbin(tmp_path / "corpus" / "train.spacy")
    dev_docs = read_docbin(tmp_path / "corpus" / "dev.spacy")
    labels = {"calm", "frustration", "relief", "urgency"}  # one set for both files: dev's "calm" is in train's cats too
    assert all(set(cats) == labels for _, cats in train_docs + dev_docs)
    assert train_docs[0][1] == {"calm": 0.0, "frustration": 1.0, "relief": 0.0, "urgency": 1.0}
    assert [text for text, _ in train_docs] == [row["text"] for row in ROWS]  # no row dropped or reordered


def test_convert_with_a_fixed_label_set_names_the_label_outside_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = write_jsonl(tmp_path / "train.jsonl", ROWS)
    code = main(["convert", str(train), str(tmp_path / "train.spacy"), "--labels", "frustration,relief"])
    assert code == 1
    assert "unknown label 'urgency'" in capsys.readouterr().err
    assert not (tmp_path / "train.spacy").exists()
    assert main(["convert", str(train), str(tmp_path / "train.spacy"), "--labels", "frustration,relief,urgency,calm"]) == 0
    assert "1 label(s) without any example: calm" in capsys.readouterr().err
    assert main(["convert", str(train), str(tmp_path / "x.spacy"), "--labels", "a,a"]) == 2
