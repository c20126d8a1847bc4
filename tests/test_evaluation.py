"""Evaluation metrics (pinned to scikit-learn), data readers, the evaluate / tune-thresholds / convert
commands, the F1 plot, `spacy evaluate` with our scorer, and the example spaCy project."""

from __future__ import annotations

import csv
import gzip
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import TINY_SHIPPED_THRESHOLDS, shared_file

from spacy_goemotions import GOEMOTIONS_LABELS, EmotionClassifier, MissingExtraError, ThresholdPolicy, tune_thresholds
from spacy_goemotions.cli import main as cli_main
from spacy_goemotions.evaluation.datasets import DatasetError, read_dataset
from spacy_goemotions.evaluation.metrics import (
    EvaluationTable,
    describe_policy,
    evaluate,
    evaluate_scores,
    format_markdown,
    format_tables,
    predictions_from_scores,
)

PROJECT_DIR = Path(__file__).resolve().parents[1] / "examples" / "spacy_project"
HAS_COMPONENT = importlib.util.find_spec("spacy_goemotions.integrations.spacy") is not None
needs_component = pytest.mark.skipif(
    not HAS_COMPONENT, reason="spacy_goemotions/integrations/spacy (the goemotions factory) is missing"
)

# --- metrics against scikit-learn --------------------------------------------------------------


def _edge_case_matrices(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Random predictions/gold with columns that hit every zero-division corner."""
    rng = np.random.default_rng(seed)
    gold = rng.random((n, 9)) < 0.3
    pred = rng.random((n, 9)) < 0.4
    gold[:, 1] = False  # no support, some predictions
    pred[:, 2] = False  # support, no predictions
    gold[:, 3] = pred[:, 3] = False  # neither: every ratio is 0/0
    gold[:, 4] = pred[:, 4] = True  # everything positive: MCC undefined
    pred[:, 5] = gold[:, 5]  # perfect
    pred[:, 6] = ~gold[:, 6]  # perfectly wrong (MCC -1 unless a marginal is empty)
    gold[:, 7] = True  # all gold positive, random predictions: MCC undefined
    return pred, gold


def _sklearn_reference(pred: np.ndarray, gold: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef, precision_score, recall_score

    per_label = []
    with warnings.catch_warnings():  # sklearn warns about single-class columns; the values are what we compare
        warnings.simplefilter("ignore")
        for j in range(gold.shape[1]):
            y, p = gold[:, j], pred[:, j]
            per_label.append({
                "accuracy": accuracy_score(y, p), "precision": precision_score(y, p, zero_division=0),
                "recall": recall_score(y, p, zero_division=0), "f1": f1_score(y, p, zero_division=0),
                "mcc": matthews_corrcoef(y, p), "support": int(y.sum()),
            })  # fmt: skip
        micro = {
            "accuracy": accuracy_score(gold.ravel(), pred.ravel()),
            "precision": precision_score(gold, pred, average="micro", zero_division=0),
            "recall": recall_score(gold, pred, average="micro", zero_division=0),
            "f1": f1_score(gold, pred, average="micro", zero_division=0),
            "mcc": matthews_corrcoef(gold.ravel(), pred.ravel()),
            "support": int(gold.sum()),
        }
        macro_prf = {
            "precision": precision_score(gold, pred, average="macro", zero_division=0),
            "recall": recall_score(gold, pred, average="macro", zero_division=0),
            "f1": f1_score(gold, pred, average="macro", zero_division=0),
        }
    return {"per_label": per_label, "micro": micro, "macro_prf": macro_prf}


METRICS = ("accuracy", "precision", "recall", "f1", "mcc")


@pytest.mark.parametrize(("seed", "n"), [(0, 50), (1, 7), (2, 400), (3, 1)])
def test_every_column_matches_sklearn(seed: int, n: int) -> None:
    pytest.importorskip("sklearn")
    pred, gold = _edge_case_matrices(seed, n)
    labels = [f"l{j}" for j in range(gold.shape[1])]
    table = evaluate(pred.astype(np.uint8), gold, labels, thresholds=0.5)
    reference = _sklearn_reference(pred, gold)
    for row, expected in zip(table.rows, reference["per_label"], strict=True):
        for metric in METRICS:
            assert getattr(row, metric) == pytest.approx(expected[metric], abs=1e-12), (row.label, metric)
        assert row.support == expected["support"]
    for metric in METRICS:
        assert getattr(table.micro, metric) == pytest.approx(reference["micro"][metric], abs=1e-12), metric
        # macro avg = unweighted mean over labels of each column
        assert getattr(table.macro, metric) == pytest.approx(np.mean([r[metric] for r in reference["per_label"]]), abs=1e-12)
    for metric, value in reference["macro_prf"].items():
        assert getattr(table.macro, metric) == pytest.approx(value, abs=1e-12)
    assert table.micro.support == int(gold.sum())
    assert table.macro.support == n  # the model card's macro row counts texts
    values = [getattr(r, m) for r in table.all_rows() for m in METRICS]
    assert not np.isnan(values).any()


def test_zero_division_corners_have_defined_values() -> None:
    pred, gold = _edge_case_matrices(5, 40)
    table = evaluate(pred, gold, [f"l{j}" for j in range(9)])
    no_support, no_predictions, neither, all_positive, perfect, wrong = (table.rows[j] for j in range(1, 7))
    assert (no_support.recall, no_support.f1, no_support.support) == (0.0, 0.0, 0)
    assert (no_predictions.precision, no_predictions.f1, no_predictions.mcc) == (0.0, 0.0, 0.0)
    assert (neither.accuracy, neither.precision, neither.recall, neither.f1, neither.mcc) == (1.0, 0.0, 0.0, 0.0, 0.0)
    assert (all_positive.accuracy, all_positive.f1, all_positive.mcc) == (1.0, 1.0, 0.0)
    assert (perfect.accuracy, perfect.f1, perfect.mcc) == (1.0, 1.0, pytest.approx(1.0))
    assert (wrong.accuracy, wrong.f1, wrong.mcc) == (0.0, 0.0, pytest.approx(-1.0))


def test_hand_computed_values() -> None:
    # joy: TP=2 FP=1 FN=1 TN=1 -> P=R=F1=2/3, accuracy 3/5, MCC=(2*1-1*1)/sqrt(3*3*2*2)=1/6
    pred = np.array([[1, 0], [1, 0], [1, 1], [0, 0], [0, 1]])
    gold = np.array([[1, 0], [1, 1], [0, 1], [1, 0], [0, 0]])
    table = evaluate(pred, gold, ["joy", "anger"], thresholds=[0.3, 0.7])
    joy = table.row("joy")
    assert (joy.accuracy, joy.precision, joy.recall, joy.f1, joy.mcc, joy.support) == pytest.approx(
        (0.6, 2 / 3, 2 / 3, 2 / 3, 1 / 6, 3)
    )
    # pooled: TP=3 FP=2 FN=2 TN=3
    assert (table.micro.precision, table.micro.recall, table.micro.f1, table.micro.support) == pytest.approx((0.6, 0.6, 0.6, 5))
    assert table.macro.threshold == "various" and joy.threshold == 0.3


def test_empty_input_gives_zeros_not_nan() -> None:
    table = evaluate(np.zeros((0, 3)), np.zeros((0, 3)), ["a", "b", "c"])
    assert [getattr(table.micro, m) for m in METRICS] == [0.0] * 5
    assert table.macro.support == 0


@pytest.mark.parametrize(
    ("pred", "gold", "labels", "message"),
    [
        (np.zeros((2, 3)), np.zeros((2, 2)), ["a", "b"], "must both have shape"),
        (np.zeros((2, 2)), np.zeros((2, 2)), ["a", "b", "c"], "must both have shape"),
        (np.full((2, 2), 0.7), np.zeros((2, 2)), ["a", "b"], "only 0/1"),
        (np.zeros(4), np.zeros(4), ["a"], "2-D"),
    ],
)
def test_bad_shapes_and_values_fail_clearly(pred: np.ndarray, gold: np.ndarray, labels: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate(pred, gold, labels)


@pytest.mark.parametrize(("threshold", "top_k"), [(0.5, None), (0.3, 2), ({"joy": 0.2, "neutral": 0.8}, None), ({"joy": 0.2}, 1)])
def test_evaluate_scores_applies_the_policy(threshold: Any, top_k: int | None) -> None:
    labels = ("joy", "anger", "neutral")
    rng = np.random.default_rng(4)
    scores = rng.random((60, 3)).astype(np.float32)
    gold = rng.random((60, 3)) < 0.4
    policy = ThresholdPolicy.from_spec(threshold, top_k, labels=labels)
    cutoffs = policy.cutoffs(labels)
    expected = scores >= cutoffs
    if top_k is not None:  # keep the top_k highest passing scores per row
        ranks = np.argsort(np.argsort(-np.where(expected, scores, -1), axis=1), axis=1)
        expected &= ranks < top_k
    assert (predictions_from_scores(scores, policy, labels) == expected).all()
    table = evaluate_scores(scores, gold, labels, policy)
    assert table == evaluate(expected, gold, labels, thresholds=cutoffs.tolist(), name=table.name, policy=policy.to_dict())
    assert [row.threshold for row in table.rows] == pytest.approx([round(float(c), 4) for c in cutoffs])


def test_describe_policy() -> None:
    assert describe_policy(ThresholdPolicy.from_spec(0.5)) == "threshold 0.5"
    assert describe_policy(ThresholdPolicy.from_spec("model_card", 3)) == "threshold preset model_card, top-3"
    assert describe_policy(ThresholdPolicy.from_spec("tuned")) == "tuned thresholds shipped with the model"


def _table() -> EvaluationTable:
    pred, gold = _edge_case_matrices(0, 30)
    return evaluate(pred, gold, [f"l{j}" for j in range(9)], thresholds=[0.39] + [0.5] * 8, name="threshold x")


def test_markdown_has_the_model_card_layout() -> None:
    table = _table()
    lines = format_markdown(table).splitlines()
    assert lines[0] == "| Label | Accuracy | Precision | Recall | F1 | MCC | Support | Threshold |"
    assert len(lines) == 2 + 2 + 9
    macro = [cell.strip() for cell in lines[2].strip("|").split("|")]
    assert macro == ["macro avg", f"{table.macro.accuracy:.3f}", f"{table.macro.precision:.3f}", f"{table.macro.recall:.3f}",
                     f"{table.macro.f1:.3f}", f"{table.macro.mcc:.3f}", "30", "various"]  # fmt: skip
    assert lines[3].startswith("| micro avg |")
    assert lines[4].endswith("| 0.39 |") and lines[5].endswith("| 0.5 |")
    assert "-0.000" not in "\n".join(lines) and "nan" not in "\n".join(lines).lower()


def test_csv_and_json_round_trip_full_precision() -> None:
    table = _table()
    rows = list(csv.DictReader(format_tables([table], "csv").splitlines()))
    assert [r["Label"] for r in rows] == [r.label for r in table.all_rows()]
    assert float(rows[0]["F1"]) == table.macro.f1 and float(rows[5]["MCC"]) == table.rows[3].mcc
    assert {r["Policy"] for r in rows} == {"threshold x"}
    data = json.loads(format_tables([table, table], "json", meta={"model": "m"}))
    assert data["meta"] == {"model": "m"} and len(data["tables"]) == 2
    assert data["tables"][0]["micro_avg"]["f1"] == table.micro.f1
    assert data["tables"][0]["labels"][0]["threshold"] == 0.39


# --- data readers ------------------------------------------------------------------------------


def test_read_goemotions_tsv(tmp_path: Path) -> None:
    file = tmp_path / "d.tsv"
    file.write_text('So happy "today"!\t17\tid1\nugh, fine\t2,3\tid2\nok\t27\tid3\n', encoding="utf-8")
    data = read_dataset(file)
    assert data.texts == ['So happy "today"!', "ugh, fine", "ok"] and data.ids == ["id1", "id2", "id3"]
    assert data.gold.shape == (3, 28) and data.gold.sum() == 4
    assert data.gold[0, GOEMOTIONS_LABELS.index("joy")] == 1
    assert data.gold[1, [2, 3]].tolist() == [1, 1] and data.gold[2, 27] == 1


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("d.csv", 'text,labels,id\n"Thanks, really",gratitude,a\nwhat?,"confusion, curiosity",b\nmeh,,c\n'),
        ("d.csv", 'text,labels,id\n"Thanks, really",15,a\nwhat?,"6,7",b\nmeh,,c\n'),
        ("d.csv", 'text,labels,id\n"Thanks, really","[""gratitude""]",a\nwhat?,"[6, ""curiosity""]",b\nmeh,[],c\n'),
        ("d.jsonl", '{"text": "Thanks, really", "labels": ["gratitude"], "id": "a"}\n'
                    '{"text": "what?", "labels": [6, "Curiosity"], "id": "b"}\n\n'
                    '{"text": "meh", "labels": [], "id": "c"}\n'),
        ("d.jsonl", '{"text": "Thanks, really", "labels": "gratitude", "id": "a"}\n'
                    '{"text": "what?", "labels": "confusion,curiosity", "id": "b"}\n'
                    '{"text": "meh", "labels": null, "id": "c"}\n'),
    ],
)  # fmt: skip
def test_read_csv_and_jsonl_names_or_ids(tmp_path: Path, name: str, content: str) -> None:
    file = tmp_path / name
    file.write_text(content, encoding="utf-8")
    data = read_dataset(file)
    assert data.texts == ["Thanks, really", "what?", "meh"] and data.ids == ["a", "b", "c"]
    assert [[GOEMOTIONS_LABELS[j] for j in np.flatnonzero(row)] for row in data.gold] == [
        ["gratitude"],
        ["confusion", "curiosity"],
        [],
    ]


def test_gzip_and_ids_default_to_row_numbers(tmp_path: Path) -> None:
    file = tmp_path / "d.csv.gz"
    with gzip.open(file, "wt", encoding="utf-8") as handle:
        handle.write("body,emotions\nhi,joy\nbye,sadness\n")
    data = read_dataset(file, text_column="body", labels_column="emotions")
    assert data.ids == ["0", "1"] and data.texts == ["hi", "bye"]
    assert data.select_labels(["sadness", "joy"]).tolist() == [[0, 1], [1, 0]]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("d.tsv", "fine\t27\ta\nbad\t3,28\tb\n", r"line 2: label id '28' is out of range; ids are 0..27"),
        ("d.tsv", "no labels here\n", "line 1: expected tab-separated text, label ids and id"),
        ("d.csv", "text,labels\nok,joy\nok,happiness\n", r"line 3: unknown label 'happiness'. Valid labels: admiration"),
        ("d.csv", "body,labels\nok,joy\n", r"no column 'text' in the header \['body', 'labels'\]"),
        ("d.csv", 'text,labels\nok,"[joy"\n', "line 2: labels cell .* is not a valid JSON list"),
        (
            "d.jsonl",
            '{"text": "a", "labels": ["joy"]}\n{"text": "b", "labels": [true]}\n',
            "line 2: label id 'True' is out of range|line 2: unknown label",
        ),
        ("d.jsonl", '{"text": "a", "labels": ["joy"]}\n{"text": 3, "labels": []}\n', "line 2: 'text' must be a string"),
        ("d.jsonl", '{"text": "a"}\n', r"line 1: no key 'labels'"),
        ("d.jsonl", "not json\n", "line 1: not valid JSON"),
        ("d.txt", "x\n", "Cannot tell the format"),
    ],
)
def test_bad_data_names_the_line_and_value(tmp_path: Path, name: str, content: str, message: str) -> None:
    file = tmp_path / name
    file.write_text(content, encoding="utf-8")
    with pytest.raises(DatasetError, match=message):
        read_dataset(file)


def test_missing_file() -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        read_dataset("no/such/file.tsv")


# Per-label support of the test split, as printed in the model card's tables.
MODEL_CARD_TEST_SUPPORT = [504, 264, 198, 320, 351, 135, 153, 284, 83, 151, 267, 123, 37, 103, 78, 352, 6, 161, 238, 23,
                           186, 16, 145, 11, 56, 156, 141, 1787]  # fmt: skip


def test_real_test_split_matches_the_model_card_support() -> None:
    data = read_dataset(shared_file("data", "goemotions", "test.tsv"))
    assert len(data) == 5427 and len(set(data.ids)) == 5427
    assert data.gold.sum(axis=0).tolist() == MODEL_CARD_TEST_SUPPORT


# --- commands ----------------------------------------------------------------------------------

WORDS = ["thanks", "love", "this", "so", "sad", "angry", "what", "why", "great", "awful", "sorry", "wow", "happy", "fear",
         "okay", "no", "yes", "lol"]  # fmt: skip


def _write_tsv(path: Path, n: int, seed: int) -> tuple[list[str], list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS, size=int(rng.integers(2, 12)))) + f" {i}" for i in range(n)]
    gold = np.zeros((n, 28), dtype=np.uint8)
    rows = []
    for i, text in enumerate(texts):
        columns = sorted(set(rng.choice(28, size=int(rng.integers(1, 3))).tolist()))
        gold[i, columns] = 1
        rows.append(f"{text}\t{','.join(map(str, columns))}\tr{seed}_{i}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return texts, [f"r{seed}_{i}" for i in range(n)], gold


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("labelled")
    texts, ids, gold = _write_tsv(folder / "dev.tsv", 30, seed=1)
    _write_tsv(folder / "test.tsv", 30, seed=2)
    _write_tsv(folder / "train.tsv", 40, seed=3)
    return {"dir": folder, "path": folder / "dev.tsv", "texts": texts, "ids": ids, "gold": gold}


@pytest.fixture(scope="module")
def tiny_scores(tiny_model: str, labelled: dict[str, Any]) -> np.ndarray:
    scores: np.ndarray = EmotionClassifier(tiny_model).scores(labelled["texts"])
    return scores


def _run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli_main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("options", "expected_policies"),
    [
        ([], [0.5]),
        (["--threshold", "tuned"], [0.5, "tuned"]),
        (["--threshold", "0.3", "--top-k", "2"], [0.5, 0.3]),
        (["--tuned-thresholds", "THRESHOLDS"], [0.5, "file"]),
    ],
)
def test_evaluate_json_equals_python_api(
    tiny_model: str, labelled: dict[str, Any], tiny_scores: np.ndarray, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    options: list[str], expected_policies: list[Any],
) -> None:  # fmt: skip
    thresholds_file = tmp_path / "t.json"
    thresholds_file.write_text(json.dumps({"thresholds": {"anger": 0.2, "neutral": 0.9}}))
    options = [str(thresholds_file) if o == "THRESHOLDS" else o for o in options]
    code, out, err = _run_cli(
        ["evaluate", "--data", str(labelled["path"]), "--model", tiny_model, "--format", "json", *options], capsys
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["meta"]["n_texts"] == 30 and len(report["tables"]) == len(expected_policies)
    top_k = 2 if "--top-k" in options else None
    specs = {0.5: ThresholdPolicy.from_spec(0.5), 0.3: ThresholdPolicy.from_spec(0.3, top_k),
             "tuned": ThresholdPolicy.from_spec("tuned"), "file": ThresholdPolicy.from_spec(thresholds_file)}  # fmt: skip
    for table, key in zip(report["tables"], expected_policies, strict=True):
        expected = evaluate_scores(
            tiny_scores, labelled["gold"], GOEMOTIONS_LABELS, specs[key], model_thresholds=TINY_SHIPPED_THRESHOLDS
        )
        assert table == json.loads(json.dumps(expected.to_dict()))
    if "tuned" in expected_policies:
        joy = next(row for row in report["tables"][1]["labels"] if row["label"] == "joy")
        assert joy["threshold"] == 0.25


def test_evaluate_markdown_shows_both_tables(
    tiny_model: str, labelled: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run_cli(
        ["evaluate", "--data", str(labelled["path"]), "--model", tiny_model, "--threshold", "model_card"], capsys
    )
    assert code == 0
    assert "### Threshold 0.5 (30 texts)" in out and "### Threshold preset model_card (30 texts)" in out
    assert out.count("| macro avg |") == 2 and out.count("| micro avg |") == 2
    assert "| grief |" in out and out.count("| 0.14 |") == 1  # the model card's grief threshold


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_predictions_out_keeps_ids_and_exact_scores(
    tiny_model: str,
    labelled: dict[str, Any],
    tiny_scores: np.ndarray,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    suffix: str,
) -> None:
    out_file = tmp_path / f"scores{suffix}"
    code, _, err = _run_cli(
        ["evaluate", "--data", str(labelled["path"]), "--model", tiny_model, "--predictions-out", str(out_file)], capsys
    )
    assert code == 0, err
    if suffix == ".csv":
        rows = list(csv.DictReader(out_file.read_text(encoding="utf-8").splitlines()))
        ids = [r["id"] for r in rows]
        saved = np.array([[float(r[name]) for name in GOEMOTIONS_LABELS] for r in rows], dtype=np.float32)
    else:
        records = [json.loads(line) for line in out_file.read_text(encoding="utf-8").splitlines()]
        ids = [r["id"] for r in records]
        saved = np.array([[r["scores"][name] for name in GOEMOTIONS_LABELS] for r in records], dtype=np.float32)
    assert ids == labelled["ids"]
    np.testing.assert_array_equal(saved, tiny_scores)  # 9 significant digits round-trip float32


def test_tune_thresholds_command_writes_a_loadable_file(
    tiny_model: str, labelled: dict[str, Any], tiny_scores: np.ndarray, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "sub" / "thresholds.json"
    code, out, err = _run_cli(
        ["tune-thresholds", "--data", str(labelled["path"]), "--model", tiny_model, "-o", str(out_file)], capsys
    )
    assert code == 0, err
    saved = json.loads(out_file.read_text())
    expected = tune_thresholds(tiny_scores, labelled["gold"], GOEMOTIONS_LABELS)
    assert saved["thresholds"] == expected["thresholds"] and saved["f1"] == pytest.approx(expected["f1"])
    assert saved["tuned_on"]["n_texts"] == 30
    policy = ThresholdPolicy.from_spec(str(out_file))
    assert policy.cutoffs(GOEMOTIONS_LABELS).tolist() == pytest.approx([expected["thresholds"][n] for n in GOEMOTIONS_LABELS])
    assert out.count("\n") == 2 + 28


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--threshold", "1.5"], r"argument --threshold: must be a number in \[0, 1\] \(scores are probabilities\), got 1.5"),
        (["--predictions-out", "x.parquet"], "--predictions-out must end in .csv or .jsonl"),
        (["--limit", "0"], "argument --limit: must be an integer >= 1, got '0'"),
        (["--threshold", "nope"], r"argument --threshold: expected a number in \[0, 1\], a preset \(model_card, tuned\)"),
    ],
)
def test_evaluate_errors_are_one_line_messages(
    tiny_model: str, labelled: dict[str, Any], capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = _run_cli(["evaluate", "--data", str(labelled["path"]), "--model", tiny_model, *args], capsys)
    assert code == 2 and out == ""
    assert err.startswith("spacy-goemotions evaluate: error:")
    assert pytest.importorskip("re").search(message, err), err


def test_evaluate_reports_the_bad_line_of_the_data(tiny_model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "a", "labels": ["joy"]}\n{"text": "b", "labels": ["joyful"]}\n')
    code, _, err = _run_cli(["evaluate", "--data", str(data), "--model", tiny_model], capsys)
    assert code == 1 and "bad.jsonl, line 2: unknown label 'joyful'" in err  # bad data: exit code 1


def test_plot_writes_a_png(tiny_model: str, labelled: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    image = tmp_path / "f1.png"
    code, _, err = _run_cli(
        ["evaluate", "--data", str(labelled["path"]), "--model", tiny_model, "--threshold", "tuned", "--plot", str(image)], capsys
    )
    assert code == 0, err
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and image.stat().st_size > 20_000


def test_plot_without_matplotlib_names_the_extra(
    tiny_model: str, labelled: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from spacy_goemotions.extras import require_matplotlib

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError
    with pytest.raises(MissingExtraError, match=r"pip install 'spacy-goemotions\[plot\]'") as info:
        require_matplotlib()
    assert (info.value.package, info.value.extra) == ("matplotlib", "plot")
    code, _, err = _run_cli(["evaluate", "--data", str(labelled["path"]), "--model", tiny_model, "--plot", "x.png"], capsys)
    assert code == 4 and "spacy-goemotions[plot]" in err and "Scored" not in err  # fails before scoring


# --- spaCy -------------------------------------------------------------------------------------


def test_convert_writes_gold_cats_for_every_label(
    labelled: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import spacy
    from spacy.tokens import DocBin

    output = tmp_path / "corpus" / "dev.spacy"
    code, _, err = _run_cli(["convert", str(labelled["path"]), str(output), "--limit", "20"], capsys)
    assert code == 0 and "Wrote 20 docs" in err
    docs = list(DocBin().from_disk(output).get_docs(spacy.blank("en").vocab))
    assert [d.text for d in docs] == labelled["texts"][:20]
    assert [d.user_data["id"] for d in docs] == labelled["ids"][:20]
    for doc, row in zip(docs, labelled["gold"], strict=False):
        assert list(doc.cats) == list(GOEMOTIONS_LABELS)
        assert [doc.cats[n] for n in GOEMOTIONS_LABELS] == row.astype(float).tolist()


def test_convert_several_inputs_into_a_directory(
    labelled: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import spacy
    from spacy.tokens import DocBin

    inputs = [str(labelled["dir"] / "dev.tsv"), str(labelled["dir"] / "test.tsv")]
    code, _, err = _run_cli(["convert", *inputs, str(tmp_path / "corpus")], capsys)
    assert code == 0, err
    vocab = spacy.blank("en").vocab
    dev, test = (list(DocBin().from_disk(tmp_path / "corpus" / f"{n}.spacy").get_docs(vocab)) for n in ("dev", "test"))
    assert [d.text for d in dev] == labelled["texts"] and [d.user_data["id"] for d in test] == [f"r2_{i}" for i in range(30)]
    code, _, err = _run_cli(["convert", *inputs, str(tmp_path / "one.spacy")], capsys)
    assert code == 2 and "give a directory instead" in err


@needs_component
def test_spacy_evaluate_reports_our_scorer_figures(
    tiny_model: str, labelled: dict[str, Any], tiny_scores: np.ndarray, tmp_path: Path
) -> None:
    import spacy
    from spacy.cli.evaluate import evaluate as spacy_evaluate

    from spacy_goemotions.evaluation.conversion import convert_to_docbin

    thresholds = {"joy": 0.3, "anger": 0.7, "neutral": 0.45}
    nlp = spacy.blank("en")
    nlp.add_pipe("goemotions", config={"model": tiny_model, "threshold": thresholds})
    nlp.to_disk(tmp_path / "pipeline")
    convert_to_docbin(labelled["path"], tmp_path / "dev.spacy")
    scores = spacy_evaluate(str(tmp_path / "pipeline"), tmp_path / "dev.spacy", silent=True)
    table = evaluate_scores(tiny_scores, labelled["gold"], GOEMOTIONS_LABELS, ThresholdPolicy.from_spec(thresholds))
    assert scores["cats_macro_f"] == pytest.approx(table.macro.f1, abs=1e-9)
    assert scores["cats_macro_p"] == pytest.approx(table.macro.precision, abs=1e-9)
    assert scores["cats_macro_r"] == pytest.approx(table.macro.recall, abs=1e-9)
    assert (scores["cats_micro_p"], scores["cats_micro_r"], scores["cats_micro_f"]) == pytest.approx(
        (table.micro.precision, table.micro.recall, table.micro.f1), abs=1e-9
    )
    for row in table.rows:
        assert scores["cats_f_per_type"][row.label]["f"] == pytest.approx(row.f1, abs=1e-9), row.label


@needs_component
@pytest.mark.slow
def test_spacy_project_runs_end_to_end_offline(tiny_model: str, labelled: dict[str, Any], tmp_path: Path) -> None:
    import spacy

    project = tmp_path / "project"
    shutil.copytree(PROJECT_DIR, project, ignore=shutil.ignore_patterns("corpus", "training", "metrics", "packages", "assets"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    command = [
        sys.executable,
        "-m",
        "spacy",
        "project",
        "run",
        "all",
        str(project),
        "--vars.model",
        tiny_model,
        "--vars.data_dir",
        str(labelled["dir"]),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=420, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    tuned = json.loads((project / "training" / "thresholds.json").read_text())
    spacy_scores = json.loads((project / "metrics" / "spacy_test.json").read_text())
    report = (project / "metrics" / "test.md").read_text()
    assert "### Threshold 0.5 (30 texts)" in report and "### Thresholds from training/thresholds.json (30 texts)" in report
    # spaCy's figures (our scorer, the pipeline's inlined tuned thresholds) equal the tuned table's
    tuned_rows = report.split("### Thresholds from")[1].splitlines()
    macro = next(line for line in tuned_rows if line.startswith("| macro avg |")).split("|")
    assert float(macro[5]) == pytest.approx(spacy_scores["cats_macro_f"], abs=5e-4)
    scores_csv = list(csv.DictReader((project / "metrics" / "test_scores.csv").read_text().splitlines()))
    assert [row["id"] for row in scores_csv] == [f"r2_{i}" for i in range(30)]

    package = project / "packages" / "en_goemotions_pipeline-0.0.1"
    assert (package / "setup.py").is_file()
    inner = package / "en_goemotions_pipeline" / "en_goemotions_pipeline-0.0.1"
    assert (inner / "goemotions" / "model" / "model.safetensors").is_file()  # weights travel with the package
    nlp = spacy.load(inner)
    component = nlp.get_pipe("goemotions")
    assert dict(zip(GOEMOTIONS_LABELS, component.policy.cutoffs(GOEMOTIONS_LABELS).tolist(), strict=True)) == pytest.approx(
        tuned["thresholds"]
    )
    doc = nlp(labelled["texts"][0])
    np.testing.assert_allclose(
        [doc.cats[n] for n in GOEMOTIONS_LABELS], EmotionClassifier(tiny_model).scores([labelled["texts"][0]])[0], atol=1e-6
    )

    # The finetune workflow, in the same project: convert and tune are up to date, so they are skipped.
    result = subprocess.run([*command[:5], "finetune", *command[6:]], capture_output=True, text=True, timeout=420, env=env,
                            cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Skipping 'convert'" in result.stdout
    trained = project / "training" / "finetuned" / "model-best" / "goemotions" / "model"
    assert json.loads((trained / "thresholds.json").read_text())["tuned_on"]["examples"] == 30  # the dev split
    start_f1, finetuned_f1 = (
        [table["macro_avg"]["f1"] for table in json.loads((project / "metrics" / f"{name}_test.json").read_text())["tables"]]
        for name in ("start", "finetuned")
    )
    comparison = (project / "metrics" / "finetune_comparison.md").read_text()
    assert f"| threshold 0.5 | {start_f1[0]:.4f} | {finetuned_f1[0]:.4f} |" in comparison
    assert f"| thresholds tuned on dev | {start_f1[1]:.4f} | {finetuned_f1[1]:.4f} |" in comparison
    finetuned_package = project / "packages" / "en_goemotions_finetuned-0.0.1" / "en_goemotions_finetuned"
    inner = finetuned_package / "en_goemotions_finetuned-0.0.1"
    assert (inner / "goemotions" / "model" / "model.safetensors").is_file()
    assert spacy.load(inner).get_pipe("goemotions").labels == tuple(GOEMOTIONS_LABELS)

    # The review loop: pick 20 of the 40 train texts, the scripted annotator answers from gold, train, compare.
    review_vars = ["--vars.review_n", "20", "--vars.review_epochs", "1"]
    result = subprocess.run([*command[:5], "review", *command[6:], *review_vars], capture_output=True, text=True,
                            timeout=420, env=env, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    tasks = json.loads((project / "review" / "tasks.json").read_text())
    assert len(tasks) == 20 and "<Choices" in (project / "review" / "labels.xml").read_text()
    train_gold = read_dataset(labelled["dir"] / "train.tsv")
    reviewed = [read_dataset(project / "corpus" / f"reviewed_{part}.spacy") for part in ("train", "dev")]
    assert [len(part) for part in reviewed] == [16, 4]
    assert sorted(reviewed[0].ids + reviewed[1].ids) == sorted(task["data"]["id"] for task in tasks)
    for part in reviewed:  # the reviewed labels are the annotator's (gold), not the model's predictions
        for identifier, row in zip(part.ids, part.gold, strict=True):
            assert row.tolist() == train_gold.gold[train_gold.ids.index(identifier)].tolist()
    for name in ("reviewed_dev", "test"):
        assert "| threshold 0.5 |" in (project / "metrics" / f"review_comparison_{name}.md").read_text()
