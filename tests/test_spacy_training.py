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
import torch
from spacy.tokens import DocBin
from spacy.training import Example
from thinc.api import fix_random_seed

from spacy_goemotions import GOEMOTIONS_LABELS, ConfigurationError
from spacy_goemotions.evaluation import tune_thresholds

TEXTS = ["I love this so much", "this is awful and broken", "thanks a lot", "why does it fail again"]
OWN = [{"frustration": float(text != "thanks a lot"), "relief": float(text == "thanks a lot")} for text in TEXTS]


def pipeline(tiny_model: str, **config: Any) -> spacy.Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("goemotions", config={"model": tiny_model, "dtype": "float32", "backend": "torch", **config})
    return nlp


def examples(nlp: spacy.Language, cats: list[dict[str, float]]) -> list[Example]:
    return [Example.from_dict(nlp.make_doc(text), {"cats": c}) for text, c in zip(TEXTS, cats, strict=True)]


def trained(
    tiny_model: str, steps: int = 8, seed: int = 0, training: dict[str, Any] | None = None, **config: Any
) -> tuple[spacy.Language, list[float]]:
    fix_random_seed(seed)
    nlp = pipeline(tiny_model, training={"learning_rate": 1e-3, "autocast": "off", **(training or {})}, **config)
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


@pytest.mark.parametrize("positive_weight", ["none", "balanced"])
def test_get_loss_is_the_training_loss_and_its_gradient(tiny_model: str, positive_weight: str) -> None:
    nlp, _ = trained(tiny_model, steps=1, training={"positive_weight": positive_weight})
    component = nlp.get_pipe("goemotions")
    scores = np.array([[0.2, 0.7], [0.9, 0.1], [0.4, 0.6], [0.5, 0.5]], dtype=np.float32)
    loss, gradient = component.get_loss(examples(nlp, OWN), scores)
    weights = component._trainer.positive_weights
    if positive_weight == "balanced":  # frustration: 3 of 4 positive, relief: 1 of 4
        assert weights.tolist() == pytest.approx([(1 / 3) ** 0.5, 3**0.5])
    else:
        assert weights is None
    probabilities = torch.tensor(scores, dtype=torch.float64, requires_grad=True)
    gold = torch.tensor([[c["frustration"], c["relief"]] for c in OWN], dtype=torch.float64)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.logit(probabilities), gold, pos_weight=None if weights is None else weights.double()
    )
    expected.backward()
    assert loss == pytest.approx(expected.item(), rel=1e-6)
    np.testing.assert_allclose(gradient, probabilities.grad.numpy(), rtol=1e-5)


def test_gradients_wait_for_finish_update_as_spacys_accumulate_gradient_needs(tiny_model: str) -> None:
    nlp = pipeline(tiny_model, training={"learning_rate": 1e-3, "autocast": "off"})
    batch = examples(nlp, OWN)
    nlp.initialize(lambda: batch)
    component = nlp.get_pipe("goemotions")
    assert component.model is component._trainer.model  # spaCy calls finish_update for a component with a model
    before = component.model.classifier.weight.detach().clone()
    component.update(batch[:2])
    component.update(batch[2:])  # what spacy train does with accumulate_gradient = 2: sub-batches, then one step
    assert component._trainer.steps == 0 and torch.equal(component.model.classifier.weight, before)
    component.finish_update(None)
    assert component._trainer.steps == 1 and not torch.equal(component.model.classifier.weight, before)
    component.update(batch, sgd=object())  # an optimizer given: the step follows at once (TrainablePipe's contract)
    assert component._trainer.steps == 2


def test_evaluating_while_training_tunes_the_thresholds_that_save_with_the_weights(tiny_model: str, tmp_path: Path) -> None:
    nlp, _ = trained(tiny_model, threshold="tuned")  # "tuned" before any evaluation: 0.5, as the record says
    component = nlp.get_pipe("goemotions")
    assert component.classifier.loaded.shipped_thresholds == {"frustration": 0.5, "relief": 0.5}
    dev = examples(nlp, OWN)
    nlp.evaluate(dev)
    shipped = component.classifier.loaded.shipped_thresholds
    scores = np.array([[doc.cats[label] for label in ("frustration", "relief")] for doc in nlp.pipe(TEXTS)])
    gold = np.array([[c["frustration"], c["relief"]] for c in OWN])
    assert shipped == tune_thresholds(scores, gold, ["frustration", "relief"])["thresholds"]  # the oracle: same data
    nlp.to_disk(tmp_path / "trained")
    saved = json.loads((tmp_path / "trained" / "goemotions" / "model" / "thresholds.json").read_text())
    assert saved["thresholds"] == shipped and saved["tuned_on"] == {"examples": 4, "training_step": 8}
    reloaded = spacy.load(tmp_path / "trained").get_pipe("goemotions")
    cutoffs = reloaded.policy.cutoffs(reloaded.labels, reloaded.classifier.loaded.shipped_thresholds)
    assert cutoffs.tolist() == pytest.approx([shipped["frustration"], shipped["relief"]])
    with pytest.raises(ConfigurationError, match="tune_thresholds = false"):
        trained(tiny_model, steps=1, threshold="tuned", training={"tune_thresholds": False})


def test_the_threshold_can_change_on_a_live_component_as_spacy_find_threshold_does(tiny_model: str) -> None:
    component = pipeline(tiny_model).get_pipe("goemotions")
    component.cfg = {**component.cfg, "threshold": 0.25}
    assert component.policy.cutoffs(component.labels).tolist() == [0.25] * len(component.labels)
    assert component.cfg["threshold"] == 0.25
    with pytest.raises(ConfigurationError, match=r"Only threshold, top_k can change.*changed: \['write_cats'\]"):
        component.cfg = {**component.cfg, "write_cats": False}


def test_openvino_scores_with_the_trained_weights_once_saved(tiny_model: str, tmp_path: Path) -> None:
    pytest.importorskip("openvino", reason="the openvino extra: pip install 'spacy-goemotions[openvino]'")
    nlp, _ = trained(tiny_model)
    nlp.to_disk(tmp_path / "trained")
    texts = ["thanks a lot", "this is awful and broken"]
    untrained = [doc.cats for doc in pipeline(tiny_model, backend="openvino").pipe(texts)]  # its IR, converted first
    assert all(set(cats) == set(GOEMOTIONS_LABELS) for cats in untrained)
    torch_cats = [doc.cats for doc in spacy.load(tmp_path / "trained").pipe(texts)]
    openvino = spacy.load(tmp_path / "trained", config={"components.goemotions.backend": "openvino"})
    assert openvino.get_pipe("goemotions").classifier.engine.backend == "openvino"
    openvino_cats = [doc.cats for doc in openvino.pipe(texts)]
    for got, expected in zip(openvino_cats, torch_cats, strict=True):
        assert got.keys() == expected.keys() and all(abs(got[k] - expected[k]) < 1e-5 for k in expected)


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
         "--paths.train", str(tmp_path / "train.spacy"), "--paths.dev", str(tmp_path / "dev.spacy"),
         "--training.accumulate_gradient", "2"],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert train.returncode == 0, train.stderr[-4000:] + train.stdout[-4000:]
    assert "LOSS GOEMO" in train.stdout
    for saved in ("model-best", "model-last"):
        config = json.loads((tmp_path / "out" / saved / "goemotions" / "model" / "config.json").read_text())
        assert list(config["id2label"].values()) == ["frustration", "relief"]
        thresholds = json.loads((tmp_path / "out" / saved / "goemotions" / "model" / "thresholds.json").read_text())
        assert thresholds["tuned_on"]["examples"] == 2 and set(thresholds["thresholds"]) == {"frustration", "relief"}
    reloaded = spacy.load(tmp_path / "out" / "model-last", config={"components.goemotions.threshold": "tuned"})
    assert set(reloaded("thanks a lot").cats) == {"frustration", "relief"}

    found = subprocess.run(
        [*spacy_cli, "find-threshold", str(tmp_path / "out" / "model-last"), str(tmp_path / "dev.spacy"), "goemotions",
         "threshold", "cats_macro_f", "--n_trials", "2"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert found.returncode == 0 and "Best threshold" in found.stdout, found.stderr[-4000:] + found.stdout[-4000:]

    (tmp_path / "packages").mkdir()
    packaged = subprocess.run(
        [*spacy_cli, "package", str(tmp_path / "out" / "model-best"), str(tmp_path / "packages"), "--name", "trained",
         "--version", "0.0.1", "--build", "none", "--force"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert packaged.returncode == 0, packaged.stderr[-4000:] + packaged.stdout[-4000:]
    expected = spacy.load(tmp_path / "out" / "model-best")("thanks a lot").cats
    installed = subprocess.run(  # as a user installs it, offline: no build isolation, no dependencies
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(tmp_path / "site"), str(tmp_path / "packages" / "en_trained-0.0.1")],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-4000:]
    script = "import json, en_trained\nprint(json.dumps(en_trained.load()('thanks a lot').cats))\n"
    package_env = {**env, "PYTHONPATH": str(tmp_path / "site")}
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=package_env)
    assert loaded.returncode == 0, loaded.stderr[-4000:]
    cats = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert cats.keys() == expected.keys() and all(abs(cats[k] - expected[k]) < 1e-5 for k in expected)
