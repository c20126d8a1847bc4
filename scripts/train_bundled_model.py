"""Train the bundled ``goemotions-small`` model from scratch on GoEmotions, on a CPU.

Everything is learned here from the GoEmotions *train* split: a byte-level BPE tokenizer, then a
small ModernBERT (``ModernBertForSequenceClassification``, multi-label, BCE loss). No pretrained
weight is used. The *dev* split picks the per-label thresholds (``spacy_goemotions.tune_thresholds``,
shipped as ``thresholds.json`` for ``threshold="tuned"``); the *test* split is only evaluated, at
the end, for the model card.

Reproduce the shipped model (about 15 minutes on 2 CPU cores)::

    python scripts/train_bundled_model.py --data-dir ../shared/data/goemotions \\
        --out spacy_goemotions/models/goemotions-small

The data directory holds ``train.tsv``, ``dev.tsv`` and ``test.tsv`` as published with GoEmotions
(tab-separated: text, comma-separated label ids, comment id; no header).

Determinism: fixed seeds for Python, NumPy and torch, a fixed number of threads and steps. ``--max-minutes`` is a safety net only: when it stops training
early, the run says so and its result is *not* reproducible (it depends on the machine's speed).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from spacy_goemotions import tune_thresholds
from spacy_goemotions.labels import GOEMOTIONS_LABELS

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


@dataclass
class Recipe:
    """Every knob that defines the shipped model (saved as ``training_recipe.json``)."""

    seed: int = 0
    vocab_size: int = 12288
    lowercase: bool = True
    max_length: int = 64
    hidden_size: int = 256
    num_layers: int = 2
    num_heads: int = 4
    intermediate_size: int = 384
    pooling: str = "mean"
    dropout: float = 0.1
    embedding_dropout: float = 0.1
    classifier_dropout: float = 0.1
    epochs: int = 5
    batch_size: int = 32
    lr: float = 0.002
    min_lr_ratio: float = 0.0
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    pos_weight_power: float = 0.5
    pos_weight_max: float = 10.0
    token_dropout: float = 0.0
    warm_epochs: int = 0
    warm_batch_size: int = 32
    freeze_embeddings: bool = False
    zero_init_residual: bool = True
    ema_decay: float = 0.999
    warm_lr: float = 0.003
    bf16: bool = True
    threads: int = 1


# ---------------------------------------------------------------------------------------------
# data


def read_split(data_dir: Path, split: str) -> tuple[list[str], np.ndarray]:
    """Texts and an (n, 28) 0/1 label matrix of one GoEmotions split."""
    path = data_dir / f"{split}.tsv"
    if not path.is_file():
        raise SystemExit(f"{path} not found: --data-dir must hold train.tsv, dev.tsv and test.tsv")
    texts: list[str] = []
    rows: list[list[int]] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for record in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            texts.append(record[0])
            rows.append([int(i) for i in record[1].split(",")])
    gold = np.zeros((len(texts), len(GOEMOTIONS_LABELS)), dtype=np.float32)
    for row, ids in enumerate(rows):
        gold[row, ids] = 1.0
    return texts, gold


# ---------------------------------------------------------------------------------------------
# tokenizer


def train_tokenizer(texts: Sequence[str], recipe: Recipe, out_dir: Path) -> Any:
    """A byte-level BPE tokenizer trained on ``texts``, saved so ``AutoTokenizer`` loads it."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    steps = [normalizers.NFKC()] + ([normalizers.Lowercase()] if recipe.lowercase else [])
    tokenizer.normalizer = normalizers.Sequence(steps)
    # add_prefix_space: a word is the same token at the start of a text and in the middle.
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=recipe.vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=recipe.max_length,
    )  # fmt: skip
    fast.save_pretrained(str(out_dir))
    return fast


def encode(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    return tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# batching


def length_bucketed_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar-length texts: little padding, still a random order.

    The rows are shuffled, cut into pools of 50 batches, each pool sorted by length and cut into
    batches, and the batches shuffled again.
    """
    order = rng.permutation(len(lengths))
    pool = batch_size * 50
    batches: list[np.ndarray] = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def collate(ids: Sequence[list[int]], rows: np.ndarray, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(ids[r]) for r in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        seq = ids[r]
        input_ids[i, : len(seq)] = torch.tensor(seq)
        mask[i, : len(seq)] = 1
    return input_ids, mask


def drop_tokens(
    input_ids: torch.Tensor, mask: torch.Tensor, rate: float, mask_id: int, rng: np.random.Generator
) -> torch.Tensor:
    """Word dropout: replace each text token (not [CLS]/[SEP]/padding) by [MASK] with ``rate``.

    A regularizer for small text classifiers (cf. the deep averaging network of Iyyer et al., 2015):
    the model cannot lean on one rare token that happens to co-occur with a label in training.
    """
    inner = mask.clone()
    inner[:, 0] = 0  # [CLS]
    inner[torch.arange(len(mask)), mask.sum(1) - 1] = 0  # [SEP]
    hit = torch.from_numpy(rng.random(tuple(input_ids.shape)) < rate) & inner.bool()
    return input_ids.masked_fill(hit, mask_id)


def eval_batches(ids: Sequence[list[int]], batch_size: int) -> Iterator[np.ndarray]:
    lengths = np.array([len(s) for s in ids])
    order = np.argsort(lengths, kind="stable")
    for i in range(0, len(order), batch_size):
        yield order[i : i + batch_size]


# ---------------------------------------------------------------------------------------------
# model


def build_model(recipe: Recipe, tokenizer: Any) -> Any:
    from transformers import ModernBertConfig, ModernBertForSequenceClassification

    config = ModernBertConfig(
        vocab_size=len(tokenizer),
        hidden_size=recipe.hidden_size,
        intermediate_size=recipe.intermediate_size,
        num_hidden_layers=recipe.num_layers,
        num_attention_heads=recipe.num_heads,
        # Every layer global: GoEmotions texts are far shorter than any useful local window.
        global_attn_every_n_layers=1,
        local_attention=128,
        max_position_embeddings=512,
        embedding_dropout=recipe.embedding_dropout,
        attention_dropout=recipe.dropout,
        mlp_dropout=recipe.dropout,
        classifier_dropout=recipe.classifier_dropout,
        classifier_pooling=recipe.pooling,
        problem_type="multi_label_classification",
        id2label=dict(enumerate(GOEMOTIONS_LABELS)),
        label2id={name: i for i, name in enumerate(GOEMOTIONS_LABELS)},
        pad_token_id=tokenizer.pad_token_id,
        cls_token_id=tokenizer.cls_token_id,
        sep_token_id=tokenizer.sep_token_id,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
        attn_implementation="sdpa",
    )
    return ModernBertForSequenceClassification(config)


@torch.inference_mode()
def predict(model: Any, ids: Sequence[list[int]], pad_id: int, bf16: bool, batch_size: int = 256) -> np.ndarray:
    """Sigmoid scores (n, 28) in input order."""
    was_training = model.training
    model.eval()
    scores = np.zeros((len(ids), len(GOEMOTIONS_LABELS)), dtype=np.float32)
    for rows in eval_batches(ids, batch_size):
        input_ids, mask = collate(ids, rows, pad_id)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(input_ids=input_ids, attention_mask=mask).logits
        scores[rows] = torch.sigmoid(logits.float()).numpy()
    model.train(was_training)
    return scores


# ---------------------------------------------------------------------------------------------
# metrics


def f1_table(scores: np.ndarray, gold: np.ndarray, cutoffs: np.ndarray) -> dict[str, Any]:
    """Per-label precision/recall/F1/support and macro/micro F1 for ``score >= cutoff``."""
    predicted = scores >= cutoffs[None, :]
    positives = gold.astype(bool)
    tp = (predicted & positives).sum(0).astype(float)
    n_pred = predicted.sum(0).astype(float)
    n_gold = positives.sum(0).astype(float)
    precision = np.divide(tp, n_pred, out=np.zeros_like(tp), where=n_pred > 0)
    recall = np.divide(tp, n_gold, out=np.zeros_like(tp), where=n_gold > 0)
    f1 = np.divide(2 * tp, n_pred + n_gold, out=np.zeros_like(tp), where=(n_pred + n_gold) > 0)
    micro = 2 * tp.sum() / (n_pred.sum() + n_gold.sum())
    return {
        "macro_f1": float(f1.mean()),
        "micro_f1": float(micro),
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "per_label": {
            name: {"precision": float(precision[j]), "recall": float(recall[j]), "f1": float(f1[j]),
                   "support": int(n_gold[j]), "threshold": float(cutoffs[j])}
            for j, name in enumerate(GOEMOTIONS_LABELS)
        },
    }  # fmt: skip


def crossfit_macro_f1(scores: np.ndarray, gold: np.ndarray, folds: int = 2) -> float:
    """Macro-F1 of dev-tuned thresholds without tuning and scoring on the same rows.

    Dev is cut in ``folds`` fixed parts; each part is scored with thresholds tuned on the others.
    Tuning and scoring on the same rows flatters rare labels (grief has 13 dev examples); this
    honest estimate is what model selection looks at, so the test split stays untouched.
    """
    part = np.random.default_rng(12345).permutation(len(scores)) % folds
    predicted = np.zeros_like(gold, dtype=bool)
    for k in range(folds):
        _, cutoffs = tuned_cutoffs(scores[part != k], gold[part != k])
        predicted[part == k] = scores[part == k] >= cutoffs
    return f1_table(predicted.astype(np.float32), gold, np.full(gold.shape[1], 0.5))["macro_f1"]


def tuned_cutoffs(scores: np.ndarray, gold: np.ndarray) -> tuple[dict[str, Any], np.ndarray]:
    tuned = tune_thresholds(scores, gold, GOEMOTIONS_LABELS)
    return tuned, np.array([tuned["thresholds"][name] for name in GOEMOTIONS_LABELS])


# ---------------------------------------------------------------------------------------------
# training


def seed_everything(seed: int, threads: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    # torch.use_deterministic_algorithms(True) is deliberately off: on CPU it made a training
    # step 2-5x slower (single-threaded fallbacks), and the CPU kernels used here already give
    # the same result run to run with the same number of threads (checked: two runs, same metrics).
    torch.set_num_threads(threads)


def lr_factor(step: int, total: int, warmup: int, min_ratio: float) -> float:
    """Linear warm-up, then cosine decay to ``min_ratio`` of the peak."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def train(args: argparse.Namespace, recipe: Recipe) -> dict[str, Any]:
    started = time.perf_counter()
    seed_everything(recipe.seed, recipe.threads)
    data_dir = Path(args.data_dir)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train_texts, train_gold = read_split(data_dir, "train")
    dev_texts, dev_gold = read_split(data_dir, "dev")
    test_texts, test_gold = read_split(data_dir, "test")
    print(f"data: {len(train_texts)} train, {len(dev_texts)} dev, {len(test_texts)} test", flush=True)

    tokenizer = train_tokenizer(train_texts, recipe, out)
    data = TrainData(
        train_ids=encode(tokenizer, train_texts, recipe.max_length),
        train_gold=train_gold,
        dev_ids=encode(tokenizer, dev_texts, recipe.max_length),
        dev_gold=dev_gold,
        pad_id=int(tokenizer.pad_token_id),
        mask_id=int(tokenizer.mask_token_id),
    )
    print(f"tokenizer: {len(tokenizer)} tokens, train mean length {data.lengths.mean():.1f} "
          f"({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip

    model = build_model(recipe, tokenizer)
    model.train()
    if recipe.zero_init_residual:
        zero_output_projections(model)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params / 1e6:.2f} M parameters", flush=True)

    rng = np.random.default_rng(recipe.seed)
    deadline = started + args.max_minutes * 60 if args.max_minutes else None
    history: list[dict[str, Any]] = []
    stopped_early = False
    if recipe.warm_epochs > 0:
        # Stage 1, "bag of embeddings": the encoder layers are left out, so the embeddings,
        # pooling and head learn a fastText-like classifier in a fraction of the time. The layers
        # then join with zero output projections: in a pre-norm residual block that is the
        # identity, so stage 2 starts from the stage-1 classifier instead of from noise.
        layers = model.model.layers
        model.model.layers = torch.nn.ModuleList()
        stopped_early = run_stage(model, data, recipe, "warm", recipe.warm_epochs, recipe.warm_lr, rng, deadline, history)
        model.model.layers = layers
        zero_output_projections(model)
    if recipe.epochs > 0 and not stopped_early:
        if recipe.freeze_embeddings:
            # The embeddings are where a from-scratch model memorizes its training set; stage 2
            # teaches the layers context on top of the stage-1 lexicon instead of re-learning it.
            model.model.embeddings.tok_embeddings.weight.requires_grad_(False)
        stopped_early = run_stage(model, data, recipe, "full", recipe.epochs, recipe.lr, rng, deadline, history)
    train_seconds = time.perf_counter() - started
    return finish(model, tokenizer, recipe, out, data.dev_ids, dev_gold, test_texts, test_gold, data.pad_id,
                  n_params, history, train_seconds, stopped_early, len(train_texts))  # fmt: skip


def zero_output_projections(model: Any) -> None:
    """Zero each layer's attention and MLP output projection: every residual block starts as the identity."""
    with torch.no_grad():
        for layer in model.model.layers:
            layer.attn.Wo.weight.zero_()
            layer.mlp.Wo.weight.zero_()


@dataclass
class TrainData:
    train_ids: list[list[int]]
    train_gold: np.ndarray
    dev_ids: list[list[int]]
    dev_gold: np.ndarray
    pad_id: int
    mask_id: int

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(s) for s in self.train_ids])


def run_stage(
    model: Any, data: TrainData, recipe: Recipe, stage: str, epochs: int, lr: float,
    rng: np.random.Generator, deadline: float | None, history: list[dict[str, Any]],
) -> bool:  # fmt: skip
    """Train ``epochs`` epochs with AdamW, warm-up and cosine decay; True if the deadline stopped it."""
    # Rare labels get a larger positive weight (power 0 = plain BCE): more of the gradient goes
    # to the labels that dominate macro-F1.
    positives = data.train_gold.sum(0)
    ratio = (len(data.train_gold) - positives) / np.maximum(positives, 1)
    pos_weight = torch.tensor(np.minimum(ratio**recipe.pos_weight_power, recipe.pos_weight_max), dtype=torch.float32)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim < 2 or "norm" in name else decay).append(param)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": recipe.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr, betas=(0.9, 0.98), eps=1e-6, fused=True,
    )  # fmt: skip
    lengths = data.lengths
    batch_size = recipe.warm_batch_size if stage == "warm" else recipe.batch_size
    steps_per_epoch = math.ceil(len(lengths) / batch_size)
    total_steps = steps_per_epoch * epochs
    warmup = max(1, int(recipe.warmup_ratio * total_steps))
    gold_tensor = torch.from_numpy(data.train_gold)
    params = list(model.parameters())
    # An exponential moving average of the weights (evaluated and shipped instead of the last
    # step's weights when ema_decay > 0): a cheap ensemble over the last few hundred steps.
    ema = [p.detach().clone() for p in params] if recipe.ema_decay > 0 and stage == "full" else None
    step = 0
    for epoch in range(1, epochs + 1):
        epoch_start = time.perf_counter()
        running = 0.0
        for rows in length_bucketed_batches(lengths, batch_size, rng):
            for group in optimizer.param_groups:
                group["lr"] = lr * lr_factor(step, total_steps, warmup, recipe.min_lr_ratio)
            input_ids, mask = collate(data.train_ids, rows, data.pad_id)
            if recipe.token_dropout > 0:
                input_ids = drop_tokens(input_ids, mask, recipe.token_dropout, data.mask_id, rng)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=recipe.bf16):
                logits = model(input_ids=input_ids, attention_mask=mask).logits
            loss = loss_fn(logits.float(), gold_tensor[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            if ema is not None:
                with torch.no_grad():
                    torch._foreach_lerp_(ema, [p.detach() for p in params], 1.0 - recipe.ema_decay)
            running += float(loss.detach())
            step += 1
            if step % 100 == 0:
                print(f"  {stage} step {step}/{total_steps} loss {running / 100:.4f} "
                      f"({time.perf_counter() - epoch_start:.0f} s into epoch, CPU {time.process_time():.0f} s)",
                      flush=True)  # fmt: skip
                running = 0.0
            if deadline is not None and time.perf_counter() > deadline:
                print(f"WARNING: the --max-minutes budget ran out in {stage} epoch {epoch}: training stopped "
                      "early, so this result is not reproducible on another machine.", flush=True)  # fmt: skip
                copy_weights(params, ema)
                return True
        with averaged_weights(params, ema):
            dev_scores = predict(model, data.dev_ids, data.pad_id, recipe.bf16)
        at_half = f1_table(dev_scores, data.dev_gold, np.full(len(GOEMOTIONS_LABELS), 0.5))
        _, cutoffs = tuned_cutoffs(dev_scores, data.dev_gold)
        tuned = f1_table(dev_scores, data.dev_gold, cutoffs)
        crossfit = crossfit_macro_f1(dev_scores, data.dev_gold)
        record = {"stage": stage, "epoch": epoch, "seconds": round(time.perf_counter() - epoch_start, 1),
                  "dev_macro_f1_at_0.5": round(at_half["macro_f1"], 4),
                  "dev_macro_f1_tuned_on_dev": round(tuned["macro_f1"], 4),
                  "dev_macro_f1_crossfit": round(crossfit, 4)}  # fmt: skip
        history.append(record)
        print(f"{stage} epoch {epoch}: dev macro-F1 {at_half['macro_f1']:.4f} at 0.5, {tuned['macro_f1']:.4f} "
              f"tuned on dev (optimistic), {crossfit:.4f} cross-fitted; micro-F1 {at_half['micro_f1']:.4f}; "
              f"{record['seconds']:.0f} s wall, CPU {time.process_time():.0f} s so far", flush=True)  # fmt: skip
    copy_weights(params, ema)
    return False


def copy_weights(params: list[torch.Tensor], source: list[torch.Tensor] | None) -> None:
    if source is not None:
        with torch.no_grad():
            torch._foreach_copy_(params, source)


class averaged_weights:
    """Context manager: the EMA weights in place for an evaluation, then the live ones back."""

    def __init__(self, params: list[torch.Tensor], ema: list[torch.Tensor] | None) -> None:
        self.params, self.ema = params, ema
        self.live: list[torch.Tensor] | None = None

    def __enter__(self) -> None:
        if self.ema is not None:
            self.live = [p.detach().clone() for p in self.params]
            copy_weights(self.params, self.ema)

    def __exit__(self, *exc: object) -> None:
        copy_weights(self.params, self.live)


def finish(
    model: Any, tokenizer: Any, recipe: Recipe, out: Path, dev_ids: list[list[int]], dev_gold: np.ndarray,
    test_texts: list[str], test_gold: np.ndarray, pad_id: int, n_params: int,
    history: list[dict[str, Any]], train_seconds: float, stopped_early: bool, n_train: int,
) -> dict[str, Any]:  # fmt: skip
    """Save float16 weights, tune thresholds on dev with the *saved* weights, evaluate on test."""
    model.half()
    model.save_pretrained(str(out), safe_serialization=True)
    # Score exactly what ships: the float16 weights, computed in float32.
    model.float().eval()
    dev_scores = predict(model, dev_ids, pad_id, bf16=False)
    test_scores = predict(model, encode(tokenizer, test_texts, recipe.max_length), pad_id, bf16=False)
    tuned, cutoffs = tuned_cutoffs(dev_scores, dev_gold)
    half = np.full(len(GOEMOTIONS_LABELS), 0.5)
    metrics = {
        "dev_at_0.5": f1_table(dev_scores, dev_gold, half),
        "dev_tuned_on_dev": f1_table(dev_scores, dev_gold, cutoffs),
        "test_at_0.5": f1_table(test_scores, test_gold, half),
        "test_tuned_on_dev": f1_table(test_scores, test_gold, cutoffs),
    }
    thresholds = {"format": tuned["format"], "tuned_on": "GoEmotions dev split", "metric": "f1",
                  "rule": tuned["rule"], "thresholds": tuned["thresholds"]}  # fmt: skip
    (out / "thresholds.json").write_text(json.dumps(thresholds, indent=2) + "\n", encoding="utf-8")
    report = {
        "recipe": asdict(recipe),
        "data": {"train": n_train, "dev": len(dev_ids), "test": len(test_texts)},
        "parameters": n_params,
        "train_seconds": round(train_seconds, 1),
        "stopped_early": stopped_early,
        "history": history,
        "summary": {key: {"macro_f1": round(v["macro_f1"], 4), "micro_f1": round(v["micro_f1"], 4),
                          "macro_precision": round(v["macro_precision"], 4),
                          "macro_recall": round(v["macro_recall"], 4)}
                    for key, v in metrics.items()},  # fmt: skip
        "dev_macro_f1_crossfit": round(crossfit_macro_f1(dev_scores, dev_gold), 4),
        "test_per_label": metrics["test_tuned_on_dev"]["per_label"],
        "throughput": measure_throughput(out, test_texts),
        "package_bytes": package_bytes(out),
        "versions": {"torch": torch.__version__, "transformers": _version("transformers"),
                     "tokenizers": _version("tokenizers"), "python": sys.version.split()[0]},  # fmt: skip
    }
    (out / "training_report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "MODEL_CARD.md").write_text(model_card(report), encoding="utf-8")
    report["package_bytes"] = package_bytes(out)  # now with the card
    (out / "training_report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for key, value in report["summary"].items():
        print(f"{key:>18}: macro-F1 {value['macro_f1']:.4f}  micro-F1 {value['micro_f1']:.4f}")
    print(f"training took {train_seconds:.0f} s; {report['throughput']['texts_per_second']:.0f} texts/s through "
          f"EmotionClassifier; {report['package_bytes'] / 1e6:.2f} MB in {out}")  # fmt: skip
    return report


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def package_bytes(out: Path) -> int:
    return sum(p.stat().st_size for p in out.iterdir() if p.is_file())


def measure_throughput(out: Path, texts: list[str]) -> dict[str, Any]:
    """Texts per second through the library's own ``EmotionClassifier`` (defaults, CPU)."""
    from spacy_goemotions import EmotionClassifier

    classifier = EmotionClassifier(str(out), device="cpu", compile=False)
    classifier.scores(texts[:256])  # load and warm up
    started = time.perf_counter()
    result = classifier.run(texts)
    seconds = time.perf_counter() - started
    return {"texts": len(texts), "seconds": round(seconds, 2), "texts_per_second": round(len(texts) / seconds, 1),
            "dtype": str(classifier.loaded.dtype).replace("torch.", ""), "threads": torch.get_num_threads(),
            "padding_efficiency": round(result.stats.padding_efficiency, 3)}  # fmt: skip


def model_card(report: dict[str, Any]) -> str:
    """MODEL_CARD.md from the training report: recipe, results, per-label table, size, speed, limits."""
    r = report["recipe"]
    s = report["summary"]
    speed = report["throughput"]
    rows = "\n".join(
        f"| {name} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} | {v['threshold']:.2f} |"
        for name, v in report["test_per_label"].items()
    )
    t = s["test_tuned_on_dev"]
    history = "\n".join(
        f"| {h['stage']} {h['epoch']} | {h['dev_macro_f1_at_0.5']:.4f} | {h['dev_macro_f1_tuned_on_dev']:.4f} | "
        f"{h['dev_macro_f1_crossfit']:.4f} |"
        for h in report["history"]
    )
    stages = []
    if r["warm_epochs"]:
        stages.append(f"{r['warm_epochs']} epoch(s) of a bag-of-embeddings stage (encoder layers left out, "
                      f"batch {r['warm_batch_size']}, peak learning rate {r['warm_lr']})")  # fmt: skip
    stages.append(f"{r['epochs']} epochs of the whole model (batch {r['batch_size']}, peak learning rate {r['lr']})")
    return f"""# goemotions-small

A small ModernBERT emotion classifier **trained from scratch** on the GoEmotions train split, shipped
inside `spacy-goemotions` so that every feature works offline: `model="goemotions-small"`.
It is a stand-in for the real model (`cirimus/modernbert-base-go-emotions`, the library's default),
for quickstarts, demos, tests and air-gapped machines, not a replacement for it.

```python
from spacy_goemotions import EmotionClassifier

clf = EmotionClassifier("goemotions-small")
scores = clf.scores(["Thank you so much, this made my day!"])
clf.select(scores, clf.policy("tuned"))   # per-label thresholds tuned on dev, shipped in thresholds.json
```

## Results

GoEmotions (Demszky et al., 2020), 28 labels, multi-label. Thresholds are tuned per label on the
**dev** split only (`spacy_goemotions.tune_thresholds`, rule `score >= threshold`, 0.01 grid) and
shipped in `thresholds.json` (`threshold="tuned"`); the **test** split was used for nothing but
these figures.

| split | thresholds | macro-F1 | micro-F1 | macro precision | macro recall |
|---|---|---|---|---|---|
| test | tuned on dev | **{t['macro_f1']:.4f}** | {t['micro_f1']:.4f} | {t['macro_precision']:.4f} | {t['macro_recall']:.4f} |
| test | 0.5 | {s['test_at_0.5']['macro_f1']:.4f} | {s['test_at_0.5']['micro_f1']:.4f} | {s['test_at_0.5']['macro_precision']:.4f} | {s['test_at_0.5']['macro_recall']:.4f} |
| dev | tuned on dev (optimistic: same rows) | {s['dev_tuned_on_dev']['macro_f1']:.4f} | {s['dev_tuned_on_dev']['micro_f1']:.4f} | {s['dev_tuned_on_dev']['macro_precision']:.4f} | {s['dev_tuned_on_dev']['macro_recall']:.4f} |
| dev | 0.5 | {s['dev_at_0.5']['macro_f1']:.4f} | {s['dev_at_0.5']['micro_f1']:.4f} | {s['dev_at_0.5']['macro_precision']:.4f} | {s['dev_at_0.5']['macro_recall']:.4f} |

Dev macro-F1 with thresholds tuned on one half of dev and scored on the other (2-fold, an honest
estimate that needs no test data): {report['dev_macro_f1_crossfit']:.4f}.

For scale (figures from their own cards or papers, same test split): `cirimus/modernbert-base-go-emotions`
(149M parameters, pretrained) reports macro-F1 0.550; a public bge-small GoEmotions classifier (33M,
pretrained) 0.449 with per-label thresholds; the GoEmotions paper's BERT-base 0.46.

### Per label (test split, thresholds tuned on dev)

| label | precision | recall | F1 | support | threshold |
|---|---|---|---|---|---|
{rows}

Labels with a handful of test examples (grief, relief, pride, nervousness) have F1 values that
move by several points with one or two predictions: read them as rough.

## Training recipe

Reproduce (same seed, same figures within 0.005):

```bash
python scripts/train_bundled_model.py --data-dir path/to/goemotions --out spacy_goemotions/models/goemotions-small
```

- **Data**: GoEmotions `train.tsv` ({report['data']['train']} texts) for the tokenizer and the weights;
  `dev.tsv` for thresholds and the choice of recipe; `test.tsv` only for this card.
- **Tokenizer**: byte-level BPE trained on the train texts, {r['vocab_size']} tokens, NFKC{' + lowercase' if r['lowercase'] else ''},
  ModernBERT's special tokens (`[CLS]`, `[SEP]`, `[PAD]`, `[UNK]`, `[MASK]`), `[CLS] text [SEP]` template;
  texts truncated to {r['max_length']} tokens in training (99% of GoEmotions texts are under 40).
- **Model**: `ModernBertForSequenceClassification`, {r['num_layers']} layers, hidden size {r['hidden_size']},
  {r['num_heads']} heads, GLU MLP of {r['intermediate_size']}, global attention in every layer, {r['pooling']} pooling,
  {report['parameters'] / 1e6:.2f}M parameters (of which {r['vocab_size'] * r['hidden_size'] / 1e6:.2f}M token embeddings),
  `problem_type="multi_label_classification"`, random initialization (no pretrained weights); each
  layer's output projections start at zero so every residual block starts as the identity.
- **Objective**: binary cross-entropy per label, positive examples weighted by
  min((negatives/positives)^{r['pos_weight_power']}, {r['pos_weight_max']}) so rare labels (grief, pride, relief ...) are not drowned out.
- **Optimization**: {'; then '.join(stages)}; AdamW (betas 0.9/0.98, weight decay {r['weight_decay']}), linear warm-up over
  {r['warmup_ratio']:.0%} of the steps then cosine decay, gradient clipping at 1.0, dropout {r['dropout']}
  (embeddings {r['embedding_dropout']}, classifier {r['classifier_dropout']}),{f" weight EMA (decay {r['ema_decay']}) shipped instead of the last step's weights," if r['ema_decay'] else ''}
  batches of similar-length texts (little padding), bf16 autocast on CPU{'' if r['bf16'] else ' off'}, seed {r['seed']}, {r['threads']} thread(s).
- **Compute**: {report['train_seconds'] / 60:.1f} minutes for the whole script on a shared 2-core CPU machine (AMD EPYC with AVX512-BF16),
  torch {report['versions']['torch']}, transformers {report['versions']['transformers']}.

Per-epoch dev macro-F1 (at 0.5, tuned on dev, 2-fold cross-fitted):

| epoch | at 0.5 | tuned on dev | cross-fitted |
|---|---|---|---|
{history}

## Size and speed

- Files: {report['package_bytes'] / 1e6:.1f} MB in all (float16 safetensors weights, tokenizer, config, thresholds, this card).
- Speed: {speed['texts_per_second']:.0f} texts/s through `EmotionClassifier` on the GoEmotions test texts
  ({speed['texts']} texts, CPU, {speed['dtype']}, {speed['threads']} thread(s), padding efficiency {speed['padding_efficiency']:.2f}),
  on the machine that trained it (the base model: tens of texts/s on this CPU, see `benchmarks/README.md`).

## Limitations

- **Far weaker than the real model.** It learned English from 43k Reddit comments only: no
  pretraining, a {r['vocab_size']}-token vocabulary, {r['num_layers']} small layers. It leans on words more than on context:
  negation, sarcasm and long-range structure are often missed ("not happy at all" may score joy).
- Rare labels (grief, pride, relief, nervousness, embarrassment) are unreliable; ambiguous pairs
  (annoyance/anger, joy/excitement, approval/admiration, curiosity/surprise) are often confused, as in
  GoEmotions' own annotations: "I wonder how they built that, any idea?" scores surprise 0.91 and
  curiosity 0.90; "Congratulations on your new job!" scores gratitude above joy and pride.
- Trained on texts of up to {r['max_length']} tokens; longer texts are read but were never seen in training.
- Reddit English from 2005-2019, with its biases (GoEmotions' raters were native English speakers
  from India); nothing here was evaluated on other domains or languages.
- Scores are not calibrated probabilities; use the shipped thresholds (`threshold="tuned"`) or tune your own.
- Do not use it for decisions about people. Use it to try the library, to test pipelines
  offline, or as a cheap first pass; use `cirimus/modernbert-base-go-emotions` for real work.

Data: GoEmotions by Google Research, CC BY 4.0. This model: same license as the package (MIT).
"""


def parse_args(argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, Recipe]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="folder with GoEmotions train.tsv, dev.tsv, test.tsv")
    parser.add_argument("--out", required=True, help="output folder (e.g. spacy_goemotions/models/goemotions-small)")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="safety net: stop training after this many minutes (result then not reproducible)")
    defaults = Recipe()
    for name, value in asdict(defaults).items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            parser.add_argument(flag, type=lambda s: s.lower() in ("1", "true", "yes"), default=value,
                                help=f"(default {value})")
        else:
            parser.add_argument(flag, type=type(value), default=value, help=f"(default {value})")
    args = parser.parse_args(argv)
    recipe = Recipe(**{name: getattr(args, name) for name in asdict(defaults)})
    return args, recipe


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args, recipe = parse_args(argv)
    train(args, recipe)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
