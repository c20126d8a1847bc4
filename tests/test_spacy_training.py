"""The goemotions component trains in spaCy's contract: initialize, update, save, load, `spacy train`."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import spacy
from spacy.tokens import DocBin
from spacy.training import Example
from thinc.api import fix_random_seed

from spacy_goemotions import GOEMOTIONS_LABELS, ConfigurationError

TEXTS = ["I love this so much", "this is awful and broken", "thanks a lot", "why does it fail again"]
OWN = [{"frustration": float(text != "thanks a lot"), "relief": float(text == "thanks a lot")} for text in TEXTS]


def pipeline(tiny_model: str, **config: Any) -> spacy.Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("goemotions", config={"model": tiny_model, "dtype": "float32", "backend": "torch", **config})
    return nlp


def examples(nlp: spacy.Language, cats: list[dict[str, float]]) -> list[Example]:
    return [Example.from_dict(nlp.make_doc(text), {"cats": c}) for text, c in zip(TEXTS, cats, strict=True)]


def trained(tiny_model: str, steps: int = 8, seed: int = 0, **config: Any) -> tuple[spacy.Language, list[float]]:
    fix_random_seed(seed)
    nlp = pipeline(tiny_model, training={"learning_rate": 1e-3, "autocast": "off"}, **config)
    batch = examples(nlp, OWN)
    nlp.initialize(lambda: batch)
    losses = [nlp.update(batch, losses={})["goemotions"] for _ in range(steps)]
    return nlp, losses


def test_updates_lower_the_loss_and_predictions_use_the_trained_weights(tiny_model: str) -> None:
    nlp, losses = trained(tiny_model)
    component = nlp.get_pipe("goemotions")
    assert component.is_training and component.labels == ("frustration", "relief")
    assert losses[-1] < 0.7 * losses[0], losses
    doc = nlp("thanks a lot")
    assert set(doc.cats) == {"frustration", "relief"}
    assert doc.cats["relief"] > doc.cats["frustration"]  # it learned the one example that says relief
    scores = nlp.evaluate(examples(nlp, OWN))
    assert scores["cats_macro_auc"] == 1.0


def test_the_seed_makes_the_weights_identical(tiny_model: str) -> None:
    def weights(seed: int) -> dict[str, np.ndarray]:
        nlp, _ = trained(tiny_model, steps=3, seed=seed)
        model = nlp.get_pipe("goemotions")._trainer.model
        return {name: tensor.detach().numpy().copy() for name, tensor in model.state_dict().items()}

    first, second, other = weights(4), weights(4), weights(5)
    assert all(np.array_equal(first[name], second[name]) for name in first)
    assert any(not np.array_equal(first[name], other[name]) for name in first)


def test_the_models_own_labels_continue_training_in_its_order(tiny_model: str) -> None:
    nlp = pipeline(tiny_model)
    cats = [{label: float(label == "joy") for label in GOEMOTIONS_LABELS} for _ in TEXTS]
    nlp.initialize(lambda: examples(nlp, cats))
    assert nlp.get_pipe("goemotions").labels == tuple(GOEMOTIONS_LABELS)


def test_a_fixed_label_set_names_a_data_label_outside_it(tiny_model: str) -> None:
    nlp = pipeline(tiny_model, labels=["frustration"])
    with pytest.raises(ConfigurationError, match=r"label\(s\) \['relief'\] outside the label set"):
        nlp.initialize(lambda: examples(nlp, OWN))
    nlp = pipeline(tiny_model, labels=["frustration", "relief", "urgency"])  # a label with no example yet is fine
    nlp.initialize(lambda: examples(nlp, OWN))
    assert nlp.get_pipe("goemotions").labels == ("frustration", "relief", "urgency")


def test_missing_cats_and_bad_settings_are_clear_errors(tiny_model: str) -> None:
    nlp = pipeline(tiny_model)
    partly = [*examples(nlp, OWN)[:2], Example.from_dict(nlp.make_doc("no cats"), {})]
    with pytest.raises(ConfigurationError, match="1 of 3 training examples have no doc.cats"):
        nlp.initialize(lambda: partly)
    with pytest.raises(ConfigurationError, match="initialize saw no example with doc.cats"):
        nlp.update(examples(nlp, OWN))
    with pytest.raises(ConfigurationError, match="Unknown training setting"):
        pipeline(tiny_model, training={"learning_rat": 1e-3})
    with pytest.raises(ConfigurationError, match="system"):
        pipeline(tiny_model, training={"seed": 1})
    with pytest.raises(ConfigurationError, match="learning_rate"):
        pipeline(tiny_model, training={"learning_rate": -1})


def test_an_untrained_pipeline_scores_exactly_as_before_initialize(tiny_model: str) -> None:
    nlp = pipeline(tiny_model)
    before = nlp("thanks a lot").cats
    nlp.initialize()  # spaCy's dummy examples: no cats, so nothing to train
    assert not nlp.get_pipe("goemotions").is_training
    assert nlp("thanks a lot").cats == before


def test_a_model_being_trained_refuses_to_be_pickled(tiny_model: str) -> None:
    nlp, _ = trained(tiny_model, steps=1)
    with pytest.raises(ConfigurationError, match="held in memory"):
        pickle.dumps(nlp.get_pipe("goemotions").classifier)


def test_the_trained_weights_save_and_load_offline_in_a_fresh_process(tiny_model: str, tmp_path: Path) -> None:
    nlp, _ = trained(tiny_model)
    expected = nlp("thanks a lot").cats
    nlp.to_disk(tmp_path / "trained")  # save_weights is off: trained weights always travel with the pipeline
    assert (tmp_path / "trained" / "goemotions" / "model" / "model.safetensors").is_file()
    assert json.loads((tmp_path / "trained" / "goemotions" / "model" / "config.json").read_text())["id2label"] == {
        "0": "frustration",
        "1": "relief",
    }
    script = (
        "import json, sys, spacy\n"
        f"nlp = spacy.load({str(tmp_path / 'trained')!r})\n"
        "print(json.dumps(nlp('thanks a lot').cats))\n"
        f"nlp.to_disk({str(tmp_path / 'resaved')!r})\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded.keys() == expected.keys()
    assert all(abs(loaded[k] - expected[k]) < 1e-5 for k in expected), (loaded, expected)
    assert (tmp_path / "resaved" / "goemotions" / "model" / "model.safetensors").is_file()  # re-saving keeps them


MINIMAL_CONFIG = """
[paths]
train = null
dev = null

[system]
seed = 0

[nlp]
lang = "en"
pipeline = ["goemotions"]

[components]

[components.goemotions]
factory = "goemotions"
model = "{model}"
dtype = "float32"
backend = "torch"

[components.goemotions.training]
learning_rate = 0.001

[corpora]

[corpora.train]
@readers = "spacy.Corpus.v1"
path = ${{paths.train}}

[corpora.dev]
@readers = "spacy.Corpus.v1"
path = ${{paths.dev}}

[training]
max_steps = 6
eval_frequency = 3

[initialize]
"""


@pytest.mark.slow
def test_spacy_train_runs_end_to_end_on_a_minimal_filled_config(tiny_model: str, tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    for name, rows in (("train", OWN), ("dev", OWN[:2])):
        docbin = DocBin()
        for text, cats in zip(TEXTS, rows, strict=False):
            doc = nlp.make_doc(text)
            doc.cats = cats
            docbin.add(doc)
        docbin.to_disk(tmp_path / f"{name}.spacy")
    (tmp_path / "base.cfg").write_text(MINIMAL_CONFIG.format(model=tiny_model), encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    spacy_cli = [sys.executable, "-m", "spacy"]
    filled = subprocess.run(
        [*spacy_cli, "init", "fill-config", str(tmp_path / "base.cfg"), str(tmp_path / "config.cfg")],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert filled.returncode == 0, filled.stderr + filled.stdout
    train = subprocess.run(
        [*spacy_cli, "train", str(tmp_path / "config.cfg"), "--output", str(tmp_path / "out"),
         "--paths.train", str(tmp_path / "train.spacy"), "--paths.dev", str(tmp_path / "dev.spacy")],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert train.returncode == 0, train.stderr[-4000:] + train.stdout[-4000:]
    assert "LOSS GOEMO" in train.stdout
    for saved in ("model-best", "model-last"):
        config = json.loads((tmp_path / "out" / saved / "goemotions" / "model" / "config.json").read_text())
        assert list(config["id2label"].values()) == ["frustration", "relief"]
    reloaded = spacy.load(tmp_path / "out" / "model-last")
    assert set(reloaded("thanks a lot").cats) == {"frustration", "relief"}
