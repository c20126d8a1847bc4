"""Fine-tuning's building blocks on a tiny model: the head for a label set, and the training step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from spacy_goemotions import GOEMOTIONS_LABELS, ConfigurationError
from spacy_goemotions.training import LabelSetChange, Trainer, TrainingSettings, adapt_head, balanced_positive_weights

TEXTS = ["I love this so much", "this is awful and broken", "thanks a lot", "why does it fail again"]


def fresh(tiny_model: str) -> tuple[Any, Any]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(tiny_model, use_safetensors=True)
    return model, AutoTokenizer.from_pretrained(tiny_model)


@pytest.mark.parametrize(
    ("after", "mode"),
    [
        (GOEMOTIONS_LABELS, "same"),
        (("joy", "anger", "neutral"), "subset"),
        ((*GOEMOTIONS_LABELS, "urgency"), "added"),
        (("joy", "urgency"), "changed"),
        (("urgency", "calm"), "new"),
    ],
)
def test_each_label_set_mode_keeps_the_rows_of_the_labels_it_keeps(tiny_model: str, after: tuple[str, ...], mode: str) -> None:
    model, _ = fresh(tiny_model)
    before = model.classifier.weight.detach().clone()
    change = LabelSetChange(tuple(GOEMOTIONS_LABELS), tuple(after))
    assert change.mode == mode
    adapt_head(model, change, seed=3)
    assert model.classifier.weight.shape == (len(after), before.shape[1])
    assert model.config.id2label == dict(enumerate(after)) and model.config.num_labels == len(after)
    for row, label in enumerate(after):
        if label in GOEMOTIONS_LABELS:
            assert torch.equal(model.classifier.weight[row], before[GOEMOTIONS_LABELS.index(label)]), label
        else:
            assert model.classifier.bias[row] == 0 and model.classifier.weight[row].abs().sum() > 0
    scores = model(**_encoded(tiny_model, TEXTS)).logits
    assert scores.shape == (len(TEXTS), len(after))


def test_new_rows_depend_on_the_seed_only(tiny_model: str) -> None:
    heads = []
    for seed in (1, 1, 2):
        model, _ = fresh(tiny_model)
        adapt_head(model, LabelSetChange(tuple(GOEMOTIONS_LABELS), ("urgency", "calm")), seed=seed)
        heads.append(model.classifier.weight.detach().clone())
    assert torch.equal(heads[0], heads[1]) and not torch.equal(heads[0], heads[2])


@pytest.mark.parametrize(
    ("labels", "message"), [((), "at least one label"), (("a", "a"), "more than once"), (("a", " "), "non-empty strings")]
)
def test_a_bad_label_set_is_a_clear_error(labels: tuple[str, ...], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        LabelSetChange(tuple(GOEMOTIONS_LABELS), labels)


def test_training_steps_lower_the_loss_on_a_fixed_batch(tiny_model: str) -> None:
    model, tokenizer = fresh(tiny_model)
    labels = ("positive", "negative")
    adapt_head(model, LabelSetChange(tuple(GOEMOTIONS_LABELS), labels))
    gold = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])
    trainer = Trainer(model, tokenizer, labels, TrainingSettings(learning_rate=1e-3, autocast="off", seed=0))
    before = trainer.loss(TEXTS, gold)
    for _ in range(15):
        trainer.step(TEXTS, gold)
    assert trainer.loss(TEXTS, gold) < 0.7 * before
    assert trainer.steps == 15


def test_a_token_budget_splits_the_batch_into_passes_that_take_the_same_step(tiny_model: str) -> None:
    # Compared: the loss and the gradients the step applies. Not the weights after AdamW: it divides each gradient by
    # its running size, so a weight whose gradient is ~0 moves by +-lr on rounding alone, whatever the CPU.
    def accumulate(tokens_per_pass: int | None) -> tuple[Trainer, float, dict[str, torch.Tensor]]:
        model, tokenizer = fresh(tiny_model)
        settings = TrainingSettings(learning_rate=1e-3, autocast="off", tokens_per_pass=tokens_per_pass)
        trainer = Trainer(model, tokenizer, tuple(GOEMOTIONS_LABELS), settings)
        loss = trainer.accumulate(TEXTS, np.eye(4, len(GOEMOTIONS_LABELS)))
        gradients = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
        trainer.apply()
        return trainer, loss, gradients

    whole, whole_loss, whole_gradients = accumulate(None)
    split, split_loss, split_gradients = accumulate(16)
    assert len(whole._passes(TEXTS)) == 1
    passes = split._passes(TEXTS)
    assert len(passes) > 1  # a pass holds at most 16 padded tokens, or one text
    assert all(encoded["input_ids"].numel() <= 16 or rows.stop - rows.start == 1 for rows, encoded in passes)
    assert [rows.start for rows, _ in passes] == sorted(rows.start for rows, _ in passes)  # in order, none left out
    assert sum(rows.stop - rows.start for rows, _ in passes) == len(TEXTS)
    assert split_loss == pytest.approx(whole_loss, rel=1e-5)
    assert whole_gradients.keys() == split_gradients.keys() and whole_gradients
    for name, expected in whole_gradients.items():
        scale = float(expected.abs().max())  # float32 sums in another order: relative to the tensor's largest gradient
        torch.testing.assert_close(split_gradients[name], expected, rtol=1e-3, atol=1e-5 * scale + 1e-12, msg=name)
    assert split.steps == whole.steps == 1


def test_balanced_positive_weights_weigh_the_loss_as_torch_does(tiny_model: str) -> None:
    model, tokenizer = fresh(tiny_model)
    gold = np.zeros((4, len(GOEMOTIONS_LABELS)))
    gold[:3, 0] = gold[0, 1] = 1  # label 0: 3 of 4, label 1: 1 of 4, the rest: none
    weights = balanced_positive_weights(gold)
    assert weights[:2].tolist() == pytest.approx([(1 / 3) ** 0.5, 3**0.5]) and set(weights[2:].tolist()) == {1.0}
    assert balanced_positive_weights([[1]] + [[0]] * 999).tolist() == [10.0]  # capped
    settings = TrainingSettings(autocast="off", positive_weight="balanced")
    with pytest.raises(ConfigurationError, match="needs the training data's label counts"):
        Trainer(model, tokenizer, tuple(GOEMOTIONS_LABELS), settings)
    trainer = Trainer(model, tokenizer, tuple(GOEMOTIONS_LABELS), settings, positive_weights=weights)
    with torch.no_grad():
        logits = model(**_encoded(tiny_model, TEXTS)).logits
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, torch.tensor(gold, dtype=torch.float32), pos_weight=torch.from_numpy(weights)
    )
    assert trainer.loss(TEXTS, gold) == pytest.approx(expected.item(), rel=1e-5)


def test_gradients_of_several_batches_wait_for_one_step(tiny_model: str) -> None:
    model, tokenizer = fresh(tiny_model)
    trainer = Trainer(model, tokenizer, tuple(GOEMOTIONS_LABELS), TrainingSettings(learning_rate=1e-3, autocast="off"))
    before = model.classifier.weight.detach().clone()
    gold = np.eye(4, len(GOEMOTIONS_LABELS))
    trainer.accumulate(TEXTS[:2], gold[:2])
    trainer.accumulate(TEXTS[2:], gold[2:])
    assert torch.equal(model.classifier.weight, before) and trainer.steps == 0 and trainer.pending == 2
    trainer.apply()
    assert not torch.equal(model.classifier.weight, before) and trainer.steps == 1 and trainer.pending == 0
    assert all(p.grad is None for p in model.parameters())  # cleared for the next step
    trainer.apply()  # nothing waiting: no step
    assert trainer.steps == 1


def _trained_weights(tiny_model: str, seed: int, autocast: str = "off") -> dict[str, torch.Tensor]:
    model, tokenizer = fresh(tiny_model)
    adapt_head(model, LabelSetChange(tuple(GOEMOTIONS_LABELS), ("joy", "urgency")), seed=seed)
    trainer = Trainer(model, tokenizer, ("joy", "urgency"), TrainingSettings(learning_rate=1e-3, seed=seed, autocast=autocast))  # type: ignore[arg-type]
    for _ in range(3):
        trainer.step(TEXTS, [[1, 0], [0, 1], [1, 0], [0, 1]])
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


@pytest.mark.parametrize("autocast", ["off", "bfloat16"])
def test_the_seed_makes_the_weights_identical(tiny_model: str, autocast: str) -> None:
    first, second = _trained_weights(tiny_model, 5, autocast), _trained_weights(tiny_model, 5, autocast)
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)
    other = _trained_weights(tiny_model, 6, autocast)
    assert any(not torch.equal(first[k], other[k]) for k in first)


def test_frozen_layers_do_not_change(tiny_model: str) -> None:
    model, tokenizer = fresh(tiny_model)
    embeddings = model.model.embeddings.tok_embeddings.weight.detach().clone()
    lowest = model.model.layers[0].attn.Wqkv.weight.detach().clone()
    top = model.model.layers[-1].attn.Wqkv.weight.detach().clone()
    trainer = Trainer(
        model, tokenizer, tuple(GOEMOTIONS_LABELS), TrainingSettings(learning_rate=1e-2, freeze_layers=1, autocast="off")
    )
    trainer.step(TEXTS, np.eye(4, len(GOEMOTIONS_LABELS)))
    assert torch.equal(model.model.embeddings.tok_embeddings.weight, embeddings)
    assert torch.equal(model.model.layers[0].attn.Wqkv.weight, lowest)
    assert not torch.equal(model.model.layers[-1].attn.Wqkv.weight, top)
    with pytest.raises(ConfigurationError, match="the encoder has 3 layers"):
        Trainer(model, tokenizer, tuple(GOEMOTIONS_LABELS), TrainingSettings(freeze_layers=9))


def test_the_schedule_warms_up_then_decays() -> None:
    settings = TrainingSettings(learning_rate=1e-4, warmup_steps=3, total_steps=7)
    rates = [settings.learning_rate_at(step) for step in range(8)]
    assert rates[0] < rates[1] < rates[2] < rates[3] == pytest.approx(1e-4)
    assert rates[3] > rates[5] > rates[7] == 0.0


@pytest.mark.parametrize(
    "bad",
    [
        {"learning_rate": 0},
        {"warmup_steps": -1},
        {"freeze_layers": -2},
        {"autocast": "fp8"},
        {"seed": 1.5},
        {"tokens_per_pass": 4},
        {"positive_weight": "inverse"},
        {"tune_thresholds": "yes"},
    ],
)
def test_bad_settings_name_the_setting(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match=next(iter(bad))):
        TrainingSettings(**bad)


def test_a_head_that_does_not_match_the_labels_is_refused(tiny_model: str) -> None:
    model, tokenizer = fresh(tiny_model)
    with pytest.raises(ConfigurationError, match="adapt it first"):
        Trainer(model, tokenizer, ("joy",), TrainingSettings())
    with pytest.raises(ValueError, match=r"gold must have shape \(4, 28\)"):
        Trainer(model, tokenizer, tuple(GOEMOTIONS_LABELS), TrainingSettings()).step(TEXTS, [[1]])


def _encoded(tiny_model: str, texts: list[str]) -> dict[str, Any]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    return dict(tokenizer(texts, padding=True, return_tensors="pt"))


def test_model_files_are_untouched(tiny_model: str) -> None:
    """Training works on its own copy: the model directory (shared by every test) never changes."""
    before = {path.name: path.stat().st_mtime_ns for path in Path(tiny_model).iterdir()}
    _trained_weights(tiny_model, 0)
    assert {path.name: path.stat().st_mtime_ns for path in Path(tiny_model).iterdir()} == before
