"""The scoring tokenizer read with ``tokenizers`` alone gives the ids transformers' tokenizer gives.

The oracle is ``AutoTokenizer`` on the same files, on texts that exercise what could differ: empty and
blank texts, special tokens written in the text, Unicode that normalization changes, control
characters, and texts far longer than the model (truncation, and no truncation for chunking).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import SHARED_DIR
from transformers import AutoTokenizer

from spacy_goemotions.core.loading import BUNDLED_MODELS_DIR
from spacy_goemotions.core.tokenizer_file import read_tokenizer_file

TEXTS = [
    "",
    " ",
    "Thank you so much, this made my day!",
    "Hello [MASK] world [CLS] [SEP] [PAD]",
    "naïve café 😀🎉 ＡＢＣ ﬁ",
    "line\nbreak\ttab \x00 nul \u200b zero-width",
    "Why would anyone do that? " * 200,
    "a" * 5000,
]
CALLS = [
    {"truncation": True, "max_length": 8},
    {"truncation": True, "max_length": 512},
    {"add_special_tokens": False, "verbose": False},
]


def tokenizer_folders() -> list[Path]:
    folders = [BUNDLED_MODELS_DIR / "goemotions-small"]
    modernbert = SHARED_DIR / "models" / "modernbert-base"
    if modernbert.is_dir():  # the project's reference files; users' runs test the bundled tokenizer alone
        folders.append(modernbert)
    return folders


@pytest.mark.parametrize("folder", tokenizer_folders(), ids=lambda folder: folder.name)
@pytest.mark.parametrize("call", CALLS, ids=["truncate-8", "truncate-512", "whole"])
def test_ids_equal_transformers(folder: Path, call: dict[str, object]) -> None:
    oracle = AutoTokenizer.from_pretrained(str(folder))
    light = read_tokenizer_file(folder)
    assert light is not None
    assert light.pad_token_id == oracle.pad_token_id and len(light) == len(oracle)
    expected = oracle(TEXTS, return_attention_mask=False, return_token_type_ids=False, **call)["input_ids"]
    assert light(TEXTS, **call)["input_ids"] == expected
    assert light(TEXTS[2], **call)["input_ids"] == expected[2]  # one text: one flat list, as transformers returns


def test_left_truncation_follows_the_config(tmp_path: Path) -> None:
    folder = copy_tokenizer(tmp_path, truncation_side="left")
    oracle, light = AutoTokenizer.from_pretrained(str(folder)), read_tokenizer_file(folder)
    assert light is not None and light.truncation_side == "left"
    text = "one two three four five six seven eight nine ten"
    assert light(text, truncation=True, max_length=5)["input_ids"] == oracle(text, truncation=True, max_length=5)["input_ids"]


@pytest.mark.parametrize(
    "change",
    [{"add_prefix_space": False}, {"tokenizer_class": "BertTokenizerFast"}, {"pad_token": None}, {"pad_token": "[NOT A TOKEN]"}],
    ids=["rewritten-pre-tokenizer", "own-class", "no-pad-token", "unknown-pad-token"],
)
def test_configs_only_transformers_reads_are_left_to_it(tmp_path: Path, change: dict[str, object]) -> None:
    assert read_tokenizer_file(copy_tokenizer(tmp_path, **change)) is None


def test_a_folder_without_tokenizer_json_is_left_to_transformers(tmp_path: Path) -> None:
    assert read_tokenizer_file(tmp_path) is None


def copy_tokenizer(tmp_path: Path, **config_changes: object) -> Path:
    source = BUNDLED_MODELS_DIR / "goemotions-small"
    folder = tmp_path / "tokenizer"
    folder.mkdir()
    shutil.copy(source / "tokenizer.json", folder / "tokenizer.json")
    config = json.loads((source / "tokenizer_config.json").read_text(encoding="utf-8"))
    for key, value in config_changes.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def test_the_loader_uses_the_light_tokenizer_only_where_it_gives_transformers_ids(tmp_path: Path) -> None:
    from spacy_goemotions.core.loading import clear_model_cache, load_model
    from spacy_goemotions.core.tokenizer_file import TokenizerFile
    from spacy_goemotions.testing import build_tiny_model

    plain = build_tiny_model(tmp_path / "plain")
    rewritten = build_tiny_model(tmp_path / "rewritten")
    config_file = rewritten / "tokenizer_config.json"
    config_file.write_text(json.dumps({**json.loads(config_file.read_text()), "add_prefix_space": False}), encoding="utf-8")
    clear_model_cache()
    assert isinstance(load_model(plain, device="cpu", dtype="float32").text_tokenizer, TokenizerFile)
    loaded = load_model(rewritten, device="cpu", dtype="float32")
    assert loaded.text_tokenizer is loaded.tokenizer and not isinstance(loaded.tokenizer, TokenizerFile)
    clear_model_cache()
