"""Distillation: a student trained on a teacher's scores, end to end on tiny models, and its parts against oracles."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from spacy_goemotions import EmotionClassifier
from spacy_goemotions.cli import main
from spacy_goemotions.core.options import ClassifierOptions
from spacy_goemotions.distillation import DistillSettings, agreement, agreement_on, distill
from spacy_goemotions.distillation.distill import split_held_out
from spacy_goemotions.distillation.student_training import soft_targets
from spacy_goemotions.distillation.students import (
    STUDENT_PRESETS,
    build_student,
    initial_embeddings,
    student_config,
    student_shape,
)
from spacy_goemotions.distillation.teacher import teacher_scores
from spacy_goemotions.errors import ConfigurationError, InputError
from spacy_goemotions.files.summary import Interrupted
from spacy_goemotions.labels import GOEMOTIONS_LABELS
from spacy_goemotions.testing import build_tiny_model

WORDS = "thank you so much love hate this sad angry wow happy lol sorry confused annoyed meeting noon".split()
TORCH = ClassifierOptions(backend="torch", dtype="float32", device="cpu")
QUICK = DistillSettings(epochs=1, held_out_share=0.2, speed_texts=40)


def write_texts(path: Path, count: int, *, seed: int = 0, blank: int = 0) -> Path:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["body", "label"])
        for index in range(count):
            writer.writerow([" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 12))) + f" {index}", "ignored"])
        for _ in range(blank):
            writer.writerow(["", "ignored"])
    return path


@pytest.fixture(scope="module")
def teacher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("teacher") / "model", hidden_size=64, num_layers=2, seed=3)


@pytest.fixture(scope="module")
def distilled(teacher: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object], Path]:
    folder = tmp_path_factory.mktemp("distilled")
    texts = write_texts(folder / "texts.csv", 500, blank=2)
    result = distill(teacher, texts, folder / "student", text_column="body", settings=QUICK, teacher_options=TORCH)
    return result.student_dir, result.record, texts


# --- the parts, against their oracles ---------------------------------------------------------------------------------


def test_soft_targets_are_the_softened_sigmoid() -> None:
    scores = np.array([[0.1, 0.5, 0.9, 0.0, 1.0]])
    logits = np.log(np.clip(scores, 1e-6, 1 - 1e-6) / (1 - np.clip(scores, 1e-6, 1 - 1e-6)))
    np.testing.assert_allclose(soft_targets(scores, 2.0), 1 / (1 + np.exp(-logits / 2.0)), rtol=1e-6)
    np.testing.assert_allclose(soft_targets(scores, 1.0), np.clip(scores, 1e-6, 1 - 1e-6), rtol=1e-6)


def test_agreement_matches_scipy_and_counts_decisions() -> None:
    rng = np.random.default_rng(0)
    teacher_scores_ = rng.random((200, 3))
    student_scores = np.clip(teacher_scores_ + rng.normal(0, 0.1, (200, 3)), 0, 1)
    student_scores[:20, 0] = 0.5  # ties
    found = agreement(teacher_scores_, student_scores, [0.5] * 3, [0.4, 0.5, 0.6], ["a", "b", "c"])
    expected = np.mean([spearmanr(teacher_scores_[:, j], student_scores[:, j]).statistic for j in range(3)])
    assert found.spearman == pytest.approx(expected, abs=1e-12)
    same = (teacher_scores_ >= 0.5) == (student_scores >= np.array([0.4, 0.5, 0.6]))
    assert found.decisions == pytest.approx(same.mean())
    assert found.texts_equal == pytest.approx(same.all(axis=1).mean())
    constant = agreement(teacher_scores_, np.full((200, 3), 0.3), [0.5] * 3, [0.5] * 3, ["a", "b", "c"])
    assert constant.spearman_per_label == {"a": None, "b": None, "c": None}


def test_the_held_out_split_follows_the_text_alone() -> None:
    texts = [f"text {i}" for i in range(2000)]
    train, tune, check = split_held_out(texts, 0.1)
    assert len(train) + len(tune) + len(check) == 2000
    assert not set(train) & (set(tune) | set(check)) and not set(tune) & set(check)
    assert 120 < len(tune) + len(check) < 280
    reordered = list(reversed(texts))
    _, tune2, check2 = split_held_out(reordered, 0.1)
    assert {reordered[i] for i in tune2} == {texts[i] for i in tune}
    assert {reordered[i] for i in check2} == {texts[i] for i in check}
    duplicated = texts + texts[:100]
    train3, _, _ = split_held_out(duplicated, 0.1)
    trained = {duplicated[i] for i in train3}
    assert all((duplicated[i] in trained) == (duplicated[i - 2000] in trained) for i in range(2000, 2100))


def test_narrow_embeddings_are_the_teacher_s_principal_components() -> None:
    rng = np.random.default_rng(1)
    teacher = rng.normal(size=(300, 16)) @ np.diag(np.linspace(3, 0.1, 16))
    start = initial_embeddings(teacher, 4)
    assert start.shape == (300, 4) and start.dtype == np.float32
    centred = teacher - teacher.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ components[:4].T
    # The same subspace (the signs of components are arbitrary): each column is +-1 times a scaled projection.
    correlation = np.corrcoef(start.T, projected.T)[:4, 4:]
    np.testing.assert_allclose(np.abs(np.diag(correlation)), 1.0, atol=1e-5)
    np.testing.assert_array_equal(initial_embeddings(teacher, 16), teacher.astype(np.float32))
    with pytest.raises(ConfigurationError, match="wider"):
        initial_embeddings(teacher, 32)


def test_student_configs_keep_the_teacher_s_tokenizer_and_labels(tmp_path: Path) -> None:
    teacher = {
        "model_type": "modernbert",
        "hidden_size": 256,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "intermediate_size": 384,
        "vocab_size": 400,
        "pad_token_id": 0,
        "id2label": {"0": "joy", "1": "anger"},
        "label2id": {"joy": 0, "anger": 1},
    }
    config = student_config(teacher, STUDENT_PRESETS["tiny"], 398)
    assert (config["hidden_size"], config["vocab_size"], config["id2label"]) == (128, 400, teacher["id2label"])
    other = tmp_path / "config.json"
    other.write_text(json.dumps({**teacher, "hidden_size": 64, "id2label": {"0": "joy", "1": "fear"}}), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"Only in the student: \['fear'\]; only in the teacher: \['anger'\]"):
        student_config(teacher, student_shape(other), 400)
    other.write_text(json.dumps({**teacher, "hidden_size": 64, "vocab_size": 999}), encoding="utf-8")
    with pytest.raises(ConfigurationError, match="keeps the teacher's tokenizer"):
        student_config(teacher, student_shape(other), 400)
    other.write_text(json.dumps({"model_type": "bert", "hidden_size": 64}), encoding="utf-8")
    with pytest.raises(ConfigurationError, match="must be a ModernBERT config.json"):
        student_shape(other)
    with pytest.raises(ConfigurationError, match="a preset"):
        student_shape("huge")
    with pytest.raises(ConfigurationError, match="must divide"):
        student_config(teacher, {"hidden_size": 100, "num_attention_heads": 3}, 400)


def test_a_student_with_fewer_layers_than_its_teacher_builds(tmp_path: Path) -> None:
    # A teacher saved by transformers 5 lists its layers one by one (layer_types): a 22-layer base model's list must
    # not follow the student (it failed at base size: "num_hidden_layers (2) must be equal to ... layer_types (22)").
    base = {"model_type": "modernbert", "hidden_size": 64, "num_hidden_layers": 22, "num_attention_heads": 2,
            "intermediate_size": 96, "vocab_size": 400, "pad_token_id": 0, "global_attn_every_n_layers": 3,
            "layer_types": ["full_attention" if i % 3 == 0 else "sliding_attention" for i in range(22)],
            "id2label": {"0": "joy", "1": "anger"}, "label2id": {"joy": 0, "anger": 1}}  # fmt: skip
    student = build_student(student_config(base, STUDENT_PRESETS["tiny"], 400), None, seed=0)
    assert student.config.num_hidden_layers == 2 and len(student.config.layer_types) == 2


# --- end to end -------------------------------------------------------------------------------------------------------


def test_a_distilled_student_is_a_model_directory_with_its_card(distilled: tuple[Path, dict[str, object], Path], teacher: Path) -> None:
    student, record, texts = distilled
    assert {"config.json", "model.safetensors", "tokenizer.json", "thresholds.json", "README.md", "distillation.json"} <= {
        path.name for path in student.iterdir()
    }
    assert not student.with_name("student.partial").exists()
    # Labels and tokenizer: the teacher's.
    assert EmotionClassifier(student).labels == EmotionClassifier(teacher).labels == GOEMOTIONS_LABELS
    assert json.loads((student / "tokenizer.json").read_text())["model"]["vocab"] == json.loads(
        (teacher / "tokenizer.json").read_text()
    )["model"]["vocab"]
    counts = record["texts"]
    assert isinstance(counts, dict)
    assert counts["scored"] == 500 and counts["without_text"] == 2
    assert counts["training"] + counts["held_out_thresholds"] + counts["held_out_agreement"] == 500
    assert record["thresholds_tuned_on"] == "the teacher's decisions on held-out texts"
    card = (student / "README.md").read_text(encoding="utf-8")
    for expected in ("distilled from", "SHA-256", "Agreement with the teacher", "Spearman", "texts/s", "(the Python API)"):
        assert expected in card
    saved = json.loads((student / "distillation.json").read_text(encoding="utf-8"))
    assert saved["agreement"] == record["agreement"] and 0 <= saved["agreement"]["decisions"] <= 1
    thresholds = json.loads((student / "thresholds.json").read_text(encoding="utf-8"))["thresholds"]
    assert set(thresholds) == set(GOEMOTIONS_LABELS)


def test_agreement_on_your_own_texts_compares_each_model_at_its_own_thresholds(
    distilled: tuple[Path, dict[str, object], Path], teacher: Path, tmp_path: Path
) -> None:
    student, record, _ = distilled
    texts = [f"{word} so much {i}" for i, word in enumerate(WORDS)]
    found = agreement_on(texts, EmotionClassifier(teacher, options=TORCH), EmotionClassifier(student, options=TORCH))
    # The oracle: both models' scores and shipped thresholds, through the tested agreement() formula.
    scores = [EmotionClassifier(m, options=TORCH).scores(texts) for m in (teacher, student)]
    shipped = json.loads((student / "thresholds.json").read_text(encoding="utf-8"))["thresholds"]
    cutoffs = [np.full(28, 0.5, dtype=np.float32), np.array([shipped[label] for label in GOEMOTIONS_LABELS], dtype=np.float32)]
    assert found == agreement(scores[0], scores[1], cutoffs[0], cutoffs[1], GOEMOTIONS_LABELS)
    assert agreement_on(texts, teacher, teacher).decisions == 1.0
    other = build_tiny_model(tmp_path / "other", labels=["calm", "storm"])
    with pytest.raises(ConfigurationError, match="labels are not the teacher's"):
        agreement_on(texts, teacher, other)
    speed = record["speed"]
    assert isinstance(speed, dict) and speed["texts"] == 40  # distinct texts only: repeats would be scored once


def test_the_student_loads_everywhere_a_model_does(distilled: tuple[Path, dict[str, object], Path]) -> None:
    import spacy

    student, _, _ = distilled
    texts = ["thank you so much", "this is sad", "wow lol"]
    reference = EmotionClassifier(student, backend="torch", dtype="float32", device="cpu").scores(texts)
    openvino = EmotionClassifier(student, backend="openvino", dtype="float32", cache_dir="off").scores(texts)
    np.testing.assert_allclose(openvino, reference, atol=1e-4)
    frame = pd.DataFrame({"text": texts}).emotions.classify(
        "text", model=str(student), backend="torch", dtype="float32", device="cpu", threshold="tuned"
    )
    np.testing.assert_allclose(frame[list(GOEMOTIONS_LABELS)].to_numpy(np.float32), reference, atol=1e-6)
    nlp = spacy.blank("en")
    nlp.add_pipe("goemotions", config={"model": str(student), "backend": "torch", "dtype": "float32", "device": "cpu"})
    doc = nlp(texts[0])
    assert doc.cats["joy"] == pytest.approx(float(reference[0, GOEMOTIONS_LABELS.index("joy")]), abs=1e-6)


def test_the_same_seed_distils_the_same_student(teacher: Path, tmp_path: Path) -> None:
    texts = write_texts(tmp_path / "texts.csv", 200)
    settings = DistillSettings(epochs=1, held_out_share=0.2, speed_texts=0)
    first = distill(teacher, texts, tmp_path / "a", text_column="body", settings=settings, teacher_options=TORCH)
    second = distill(teacher, texts, tmp_path / "b", text_column="body", settings=settings, teacher_options=TORCH)
    probe = ["thank you so much", "so angry"]
    np.testing.assert_array_equal(
        EmotionClassifier(first.student_dir, options=TORCH).scores(probe),
        EmotionClassifier(second.student_dir, options=TORCH).scores(probe),
    )
    assert first.record["training"]["epochs_loss"] == second.record["training"]["epochs_loss"]  # type: ignore[index]


def test_a_killed_teacher_run_resumes_from_its_cached_scores(teacher: Path, tmp_path: Path) -> None:
    texts = write_texts(tmp_path / "texts.csv", 300)
    classifier = EmotionClassifier(teacher, options=TORCH)
    cache = tmp_path / "scores.parquet"
    with pytest.raises(Interrupted):
        teacher_scores(classifier, texts, cache, text_column="body", chunk_rows=100, should_stop=lambda: True)
    assert not cache.exists() and cache.with_name("scores.parquet.checkpoint.json").exists()
    resumed = teacher_scores(classifier, texts, cache, text_column="body", chunk_rows=100)
    fresh = teacher_scores(classifier, texts, tmp_path / "fresh.parquet", text_column="body", chunk_rows=100)
    assert resumed.resumed and not fresh.resumed
    assert resumed.texts == fresh.texts and len(resumed.texts) == 300
    np.testing.assert_array_equal(resumed.scores, fresh.scores)
    # distill reads the finished cache instead of scoring again, and its card says so.
    result = distill(
        teacher, texts, tmp_path / "student", text_column="body", settings=QUICK, teacher_options=TORCH, scores_cache=cache
    )
    assert result.record["texts"]["scores_resumed"] is True  # type: ignore[index]
    assert "read from the cache of an earlier run" in (result.student_dir / "README.md").read_text(encoding="utf-8")


def test_a_cache_of_other_texts_is_refused(teacher: Path, tmp_path: Path) -> None:
    classifier = EmotionClassifier(teacher, options=TORCH)
    cache = tmp_path / "scores.parquet"
    teacher_scores(classifier, write_texts(tmp_path / "a.csv", 50), cache, text_column="body")
    with pytest.raises(ConfigurationError, match="holds the scores of other texts or another teacher"):
        teacher_scores(classifier, write_texts(tmp_path / "b.csv", 50, seed=1), cache, text_column="body")


def test_bad_input_gives_clear_errors_and_writes_nothing(teacher: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("body\n\n\n", encoding="utf-8")
    empty.write_text('body\n""\n""\n', encoding="utf-8")
    with pytest.raises(InputError, match="has no text in column 'body'"):
        distill(teacher, empty, tmp_path / "s1", text_column="body", settings=QUICK, teacher_options=TORCH)
    few = write_texts(tmp_path / "few.csv", 10)
    with pytest.raises(ConfigurationError, match="too few to distil"):
        distill(teacher, few, tmp_path / "s2", text_column="body", settings=QUICK, teacher_options=TORCH)
    labelled = tmp_path / "dev.jsonl"
    labelled.write_text(json.dumps({"text": "so happy", "labels": ["happiness"]}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="happiness"):
        distill(teacher, few, tmp_path / "s3", text_column="body", labelled=labelled, settings=QUICK, teacher_options=TORCH)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="exists and is not empty"):
        distill(teacher, few, taken, text_column="body", settings=QUICK, teacher_options=TORCH)
    assert not any((tmp_path / name).exists() for name in ("s1", "s2", "s3", "s1.partial", "s2.partial"))


def test_the_distill_command_with_labelled_data(teacher: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    texts = write_texts(tmp_path / "texts.csv", 300)
    labelled = tmp_path / "dev.jsonl"
    with labelled.open("w", encoding="utf-8") as handle:
        for index, text in enumerate(["thank you so much", "so sad", "wow", "I hate this", "lol"] * 4):
            handle.write(json.dumps({"text": text, "labels": [GOEMOTIONS_LABELS[index % 5]]}) + "\n")
    code = main(
        ["distill", "--teacher", str(teacher), "--texts", str(texts), "--text-column", "body", "-o", str(tmp_path / "student"),
         "--labelled", str(labelled), "--epochs", "1", "--held-out-share", "0.2", "--speed-texts", "0", "--backend", "torch",
         "--dtype", "float32", "--no-progress"]
    )  # fmt: skip
    assert code == 0
    err = capsys.readouterr().err
    assert "agreement with the teacher" in err and "macro-F1 on" in err
    record = json.loads((tmp_path / "student" / "distillation.json").read_text(encoding="utf-8"))
    assert record["thresholds_tuned_on"] == "labelled data" and record["labelled"]["texts"] == 20
    assert record["command"].startswith("spacy-goemotions ")
    assert main(["distill", "--texts", str(texts), "-o", str(tmp_path / "s2"), "--student", "huge"]) == 2
    assert "a preset" in capsys.readouterr().err
