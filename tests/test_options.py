"""One definition of the options: every entry point takes every field of ClassifierOptions, from that definition."""

from __future__ import annotations

import argparse
import dataclasses
import pickle
import typing
from typing import Any

import pandas as pd
import pytest
import spacy
from spacy.language import Language

from spacy_goemotions import ClassifierOptions, ConfigurationError, EmotionClassifier, get_classifier
from spacy_goemotions.cli import build_parser
from spacy_goemotions.core.options import ClassifierKwargs, option_fields, resolve_options
from spacy_goemotions.core.table import ClassifyKwargs, TableKwargs, TableOptions, split_classify_kwargs
from spacy_goemotions.integrations.spacy import DEFAULT_CONFIG

FIELDS = [field.name for field in option_fields()]
SCORING_COMMANDS = ("classify", "evaluate", "tune-thresholds")
#: A value other than the default for every field (the tests check each one travels).
NON_DEFAULT: dict[str, Any] = {
    "revision": "main", "device": "cpu", "dtype": "float32", "backend": "torch", "batch_size": 7, "max_tokens": 999,
    "max_length": 96, "long_text": "chunk", "aggregate": "mean", "chunk_overlap": 5, "compile": False,
    "prefetch": True, "packing": False, "cache_dir": "off",
}  # fmt: skip
#: Fields that need another value elsewhere (calibration_texts only goes with dtype="int8"): tested on their own.
DEPENDENT_FIELDS = {"calibration_texts"}


def test_the_fields_are_the_inference_options_of_the_core() -> None:
    assert FIELDS == ["model", "revision", "device", "dtype", "backend", "batch_size", "max_tokens", "max_length",
                      "long_text", "aggregate", "chunk_overlap", "compile", "prefetch", "packing", "cache_dir",
                      "calibration_texts"]  # fmt: skip
    assert set(NON_DEFAULT) == set(FIELDS) - {"model"} - DEPENDENT_FIELDS
    for field in option_fields():
        assert field.metadata.get("help"), f"{field.name} has no help text for the CLI and the docs"


def test_the_keyword_types_spell_the_same_fields_with_the_same_types() -> None:
    fields = typing.get_type_hints(ClassifierOptions)
    kwargs = typing.get_type_hints(ClassifierKwargs)
    assert set(kwargs) == set(FIELDS)
    for name in FIELDS:
        assert kwargs[name] == fields[name], name
    table = typing.get_type_hints(TableOptions)
    assert typing.get_type_hints(TableKwargs) == table  # the same fields, the same types
    assert set(typing.get_type_hints(ClassifyKwargs)) == set(FIELDS) | set(table) | {"options", "progress"}


def test_the_spacy_factory_takes_every_field_with_its_default() -> None:
    meta = Language.get_factory_meta("goemotions")
    factory = spacy.registry.factories.get("goemotions")
    import inspect

    parameters = inspect.signature(factory).parameters
    for field in option_fields():
        assert meta.default_config[field.name] == field.default == DEFAULT_CONFIG[field.name]
        assert field.name in parameters, field.name
    component_keys = {"threshold", "top_k", "write_cats", "per_sentence", "save_weights", "explain", "explain_top_k",
                      "taxonomy", "group_threshold", "group_top_k", "scorer", "labels", "training"}
    assert set(meta.default_config) == set(FIELDS) | component_keys


def test_every_scoring_command_has_a_flag_for_every_field() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    for command in SCORING_COMMANDS:
        actions = {action.dest: action for action in commands[command]._actions}
        for field in option_fields():
            assert field.name in actions, f"{command} has no flag for {field.name}"
            action = actions[field.name]
            assert action.option_strings == ["--" + field.name.replace("_", "-")]
            assert action.default == field.default, (command, field.name)


@pytest.mark.parametrize("command", SCORING_COMMANDS)
def test_every_flag_reaches_the_options(command: str) -> None:
    from spacy_goemotions.cli.options import classifier_options

    flags = {"classify": ["in.csv", "-o", "out.csv", "--text-column", "t"], "evaluate": ["--data", "d.tsv"],
             "tune-thresholds": ["--data", "d.tsv", "-o", "t.json"]}[command]  # fmt: skip
    for name, value in NON_DEFAULT.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        flags += ["--" + name.replace("_", "-"), text]
    args = build_parser().parse_args([command, *flags, "--model", "goemotions-small"])
    assert classifier_options(args) == ClassifierOptions("goemotions-small", **NON_DEFAULT)


def test_the_calibration_flag_reaches_the_options_with_int8() -> None:
    from spacy_goemotions.cli.options import classifier_options

    args = build_parser().parse_args(["evaluate", "--data", "d.tsv", "--dtype", "int8", "--calibration-texts", "mine.txt"])
    assert classifier_options(args) == ClassifierOptions(dtype="int8", calibration_texts="mine.txt")
    assert ClassifierOptions(dtype="int8", calibration_texts=["text"] * 16).calibration_texts == ("text",) * 16  # hashable


def test_the_switches_take_auto_true_and_false() -> None:
    for words, expected in ((["--compile", "auto"], "auto"), (["--compile", "TRUE"], True), (["--prefetch", "auto"], None),
                            (["--packing", "off"], False)):  # fmt: skip
        args = build_parser().parse_args(["evaluate", "--data", "d.tsv", *words])
        assert getattr(args, words[0][2:]) == expected
    with pytest.raises(SystemExit):
        build_parser().parse_args(["evaluate", "--data", "d.tsv", "--compile", "maybe"])


def test_every_table_integration_passes_every_field_to_the_core(tiny_model: str) -> None:
    frame = pd.DataFrame({"text": ["so happy", None]})
    options = {**NON_DEFAULT, "revision": None, "compile": False, "prefetch": True}
    frame.emotions.classify("text", model=tiny_model, **options)
    expected = ClassifierOptions(tiny_model, **options)
    assert get_classifier(options=expected).options == expected  # the one the accessor used, from the cache
    split = split_classify_kwargs({"model": tiny_model, "threshold": 0.3, "prefix": "e_", "progress": False, **options})
    assert split == (expected, TableOptions(threshold=0.3, prefix="e_"), False)


def test_options_object_and_keywords_combine_keywords_winning(tiny_model: str) -> None:
    base = ClassifierOptions(tiny_model, dtype="float32", batch_size=4)
    assert resolve_options(base, {"batch_size": 8}) == dataclasses.replace(base, batch_size=8)
    assert EmotionClassifier(options=base, max_length=64).options == base.replace(max_length=64)
    assert EmotionClassifier("goemotions-small", options=base).options.model == "goemotions-small"
    scores = pd.Series(["so happy"]).emotions.scores(options=base, batch_size=2)
    assert scores.shape == (1, 28)


def test_options_are_hashable_equal_by_value_and_pickle(tmp_path: Any) -> None:
    from pathlib import Path

    first = ClassifierOptions(Path("some/model"), dtype="torch.float32")
    second = ClassifierOptions("some/model", dtype="float32")
    assert first == second and hash(first) == hash(second) and first.model == "some/model" and first.dtype == "float32"
    assert pickle.loads(pickle.dumps(first)) == first
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.batch_size = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"batch_size": 0}, r"batch_size must be an integer >= 1, got 0\. Example: batch_size=256"),
        ({"batch_size": True}, "batch_size must be an integer"),
        ({"max_tokens": 2.5}, "max_tokens must be an integer"),
        ({"long_text": "split"}, r"long_text must be one of \('truncate', 'chunk'\), got 'split'"),
        ({"backend": "onnx"}, r"backend must be one of \('auto', 'torch', 'openvino'\)"),
        ({"device": "gpu"}, r"Unknown device 'gpu'.*Example: device='cuda'"),
        ({"dtype": "int4"}, r"Unknown dtype 'int4'. Choose one of auto, float32, bfloat16, float16, int8"),
        ({"dtype": "int8", "backend": "torch"}, r"dtype='int8' runs on the OpenVINO backend, not backend='torch'"),
        ({"dtype": "int8", "device": "cuda"}, "runs on the CPU"),
        ({"dtype": "int8", "compile": True}, "compiles the model itself"),
        ({"calibration_texts": "calib.txt"}, r"calibration_texts only applies to dtype='int8'"),
        ({"dtype": "int8", "calibration_texts": ["a", "b"]}, "needs at least 16 texts"),
        ({"dtype": "int8", "calibration_texts": ["ok"] * 20 + [""]}, r"calibration_texts\[20\] must be a non-empty string"),
        ({"dtype": "int8", "calibration_texts": 5}, "must be a text file"),
        ({"cache_dir": 3}, "cache_dir must be a folder path or 'off'"),
        ({"compile": "yes"}, "compile must be True, False or 'auto'"),
        ({"prefetch": 1}, "prefetch must be True, False or None"),
        ({"chunk_overlap": 300}, r"chunk_overlap must be an integer in \[0, max_length // 2\)"),
        ({"model": ""}, "model must be a hub id"),
        ({"backend": "openvino", "device": "cuda"}, "runs on the CPU"),
    ],
)
def test_bad_values_fail_on_construction_naming_the_value(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        ClassifierOptions(**changes)
    assert caught.value.options  # names the option, so that the CLI can add its flag


def test_unknown_names_are_a_type_error_with_the_closest_option(tiny_model: str) -> None:
    with pytest.raises(TypeError, match=r"Unknown classifier option 'batchsize'. Did you mean 'batch_size'\?"):
        ClassifierOptions().replace(batchsize=3)
    with pytest.raises(TypeError, match="'max_token'.*'max_tokens'"):
        pd.DataFrame({"text": ["a"]}).emotions.classify("text", model=tiny_model, max_token=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"Unknown option 'thresold'. Did you mean 'threshold'\?"):  # a table option
        pd.DataFrame({"text": ["a"]}).emotions.classify("text", model=tiny_model, thresold=0.3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="options must be a ClassifierOptions"):
        resolve_options({"batch_size": 3})  # type: ignore[arg-type]
