"""Build small or random-weight models offline: for tests, benchmarks and examples.

Nothing here downloads anything. ``build_tiny_model`` makes a ModernBERT of a few hundred
kilobytes with its own small tokenizer; ``build_skeleton_model`` makes a random-init model with a
given config and tokenizer (e.g. the real ModernBERT-base GoEmotions architecture), which costs
exactly what the real model costs to run.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from .core.quiet import quiet_transformers
from .labels import GOEMOTIONS_LABELS

_SAMPLE_CORPUS = (
    "Thank you so much, this made my day! I love it. "
    "Why would anyone do that? I am so confused and a bit annoyed. "
    "That is hilarious lol. I'm sorry for your loss, that is so sad. "
    "Wow, I did not expect that at all! This is disgusting and I hate it. "
    "I hope it works out, good luck! Ok. The meeting is at noon on Tuesday."
)


def build_tiny_tokenizer(out_dir: str | Path, corpus: Iterable[str] = (_SAMPLE_CORPUS,), vocab_size: int = 400) -> None:
    """Train a small byte-level BPE tokenizer with ModernBERT's special tokens and save it."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
    )
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tokenizer,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=8192,
    )
    fast.save_pretrained(str(out_dir))


def _label_maps(labels: Sequence[str]) -> tuple[dict[int, str], dict[str, int]]:
    return {i: name for i, name in enumerate(labels)}, {name: i for i, name in enumerate(labels)}


def build_tiny_model(
    out_dir: str | Path,
    *,
    labels: Sequence[str] = GOEMOTIONS_LABELS,
    seed: int = 0,
    hidden_size: int = 32,
    num_layers: int = 3,
    local_attention: int = 8,
    corpus: Iterable[str] = (_SAMPLE_CORPUS,),
    thresholds: dict[str, float] | None = None,
) -> Path:
    """A random-init ModernBERT classifier of ~200 kB with its own tokenizer, saved to ``out_dir``.

    ``local_attention`` is small so that short test texts already cross the sliding window, the
    code path long texts take in the real model. ``thresholds`` writes a ``thresholds.json``.
    """
    import torch
    from transformers import AutoTokenizer, ModernBertConfig, ModernBertForSequenceClassification

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    build_tiny_tokenizer(out, corpus)
    tokenizer = AutoTokenizer.from_pretrained(str(out))
    id2label, label2id = _label_maps(labels)
    config = ModernBertConfig(  # type: ignore[call-arg]
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 3 // 2,
        num_hidden_layers=num_layers,
        num_attention_heads=2,
        local_attention=local_attention,
        global_attn_every_n_layers=2,
        max_position_embeddings=8192,
        id2label=id2label,
        label2id=label2id,
        problem_type="multi_label_classification",
        classifier_pooling="mean",
        pad_token_id=tokenizer.pad_token_id,
        cls_token_id=tokenizer.cls_token_id,
        sep_token_id=tokenizer.sep_token_id,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
    )
    torch.manual_seed(seed)
    model = ModernBertForSequenceClassification(config).eval()  # type: ignore[no-untyped-call]
    # Random init gives scores all near 0.5; a larger head spreads them so thresholds matter.
    with torch.no_grad():
        model.classifier.weight.mul_(8.0)
    with quiet_transformers():
        model.save_pretrained(str(out), safe_serialization=True)
    if thresholds is not None:
        (out / "thresholds.json").write_text(json.dumps({"thresholds": thresholds}, indent=2), encoding="utf-8")
    return out


def build_skeleton_model(config_file: str | Path, tokenizer_dir: str | Path, out_dir: str | Path, *, seed: int = 0) -> Path:
    """A random-init model from ``config_file`` with the tokenizer in ``tokenizer_dir``.

    With ``../shared/models/modernbert-base-go-emotions/config.json`` and ``../shared/models/modernbert-base``
    this is the real model's architecture and tokenizer, without its weights: same tokens, same FLOPs.
    """
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = AutoConfig.from_pretrained(str(config_file))
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_config(config).eval()  # type: ignore[no-untyped-call]
    with quiet_transformers():
        model.save_pretrained(str(out), safe_serialization=True)
        AutoTokenizer.from_pretrained(str(tokenizer_dir)).save_pretrained(str(out))
    for extra in ("special_tokens_map.json",):
        source = Path(tokenizer_dir) / extra
        if source.is_file() and not (out / extra).exists():
            shutil.copy(source, out / extra)
    return out
