"""``scripts/train_bundled_model.py`` end to end on a tiny synthetic GoEmotions: it writes a model the
library loads by path (float16 safetensors, tokenizer, thresholds for ``threshold="tuned"``, card),
and the same seed gives the same weights (the issue's "the script reproduces it")."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from spacy_goemotions import EmotionClassifier
from spacy_goemotions.labels import GOEMOTIONS_LABELS

pytestmark = pytest.mark.slow  # long: outside the contributors' fast loop (pytest -m 'not slow')

SCRIPT = Path(__file__).parents[1] / "scripts" / "train_bundled_model.py"
TEMPLATES = {  # label id -> phrases; everything else is neutral (27)
    15: ["thank you so much", "thanks a lot", "many thanks for this"],
    1: ["lol that is hilarious", "haha so funny", "this made me laugh"],
    2: ["i am furious", "this makes me so angry", "absolutely outrageous"],
    27: ["the bus leaves at noon", "it is a table", "see the attached file"],
}
TINY_RECIPE = [
    "--vocab-size", "400", "--hidden-size", "64", "--num-layers", "1", "--num-heads", "4",
    "--intermediate-size", "64", "--epochs", "6", "--batch-size", "16", "--max-length", "24", "--lr", "0.01",
]  # fmt: skip


def write_split(path: Path, rows: int, seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        for i in range(rows):
            label = rng.choice(list(TEMPLATES))
            text = f"{rng.choice(TEMPLATES[label])} {rng.choice(['!', '.', ' really', ''])}".strip()
            handle.write(f"{text}\t{label}\tid{seed}_{i}\n")


def train(data_dir: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--data-dir", str(data_dir), "--out", str(out), *TINY_RECIPE],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    root = tmp_path_factory.mktemp("train")
    for split, rows, seed in (("train", 480, 0), ("dev", 120, 1), ("test", 120, 2)):
        write_split(root / f"{split}.tsv", rows, seed)
    first, second = train(root, root / "a"), train(root, root / "b")
    assert first.returncode == 0, first.stderr[-3000:]
    assert second.returncode == 0, second.stderr[-3000:]
    return root / "a", root / "b", first.stdout


def test_prints_per_epoch_dev_macro_f1_and_test_figures(runs: tuple[Path, Path, str]) -> None:
    _, _, stdout = runs
    assert "full epoch 1: dev macro-F1" in stdout and "full epoch 2: dev macro-F1" in stdout
    assert "test_tuned_on_dev: macro-F1" in stdout


def test_same_seed_same_weights_and_metrics(runs: tuple[Path, Path, str]) -> None:
    first, second, _ = runs
    digest = [hashlib.sha256((run / "model.safetensors").read_bytes()).hexdigest() for run in (first, second)]
    assert digest[0] == digest[1]
    reports = [json.loads((run / "training_report.json").read_text(encoding="utf-8")) for run in (first, second)]
    assert reports[0]["summary"] == reports[1]["summary"]


def test_output_loads_in_the_library_with_its_tuned_thresholds(runs: tuple[Path, Path, str]) -> None:
    first, _, _ = runs
    names = {p.name for p in first.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "thresholds.json", "MODEL_CARD.md"} <= names
    from safetensors import safe_open

    with safe_open(str(first / "model.safetensors"), framework="pt") as weights:
        dtypes = {str(weights.get_tensor(key).dtype) for key in weights.keys()}  # noqa: SIM118 (a safe_open handle, not a dict)
        assert dtypes == {"torch.float16"}
    classifier = EmotionClassifier(str(first), device="cpu", dtype="float32", progress=False)
    assert classifier.labels == GOEMOTIONS_LABELS
    shipped = json.loads((first / "thresholds.json").read_text(encoding="utf-8"))["thresholds"]
    assert classifier.loaded.shipped_thresholds == pytest.approx(shipped)
    scores = classifier.scores(["thank you so much", "lol that is hilarious"])  # it learned the synthetic labels
    assert [classifier.labels[int(row.argmax())] for row in scores] == ["gratitude", "amusement"]
    assert [labels[:1] for labels in classifier.select(scores, classifier.policy("tuned"))] == [["gratitude"], ["amusement"]]


def test_missing_split_is_a_clear_error(tmp_path: Path) -> None:
    done = train(tmp_path, tmp_path / "out")
    assert done.returncode != 0
    assert "train.tsv not found: --data-dir must hold train.tsv, dev.tsv and test.tsv" in done.stderr
