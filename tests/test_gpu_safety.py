"""What keeps a first GPU run from crashing or misleading, tested on CPU with stand-ins.

Out of memory: the failed forward's memory is released before the halves run, rows keep their order, and the
rest of the run keeps to the size that fit. NaN logits: an error naming the engine, never scores.
"""

from __future__ import annotations

import gc
import importlib.util
import logging
import sys
import types
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import spacy_goemotions.core.scoring as scoring
from spacy_goemotions import EmotionClassifier
from spacy_goemotions.backends.torch_eager import TorchBatch
from spacy_goemotions.errors import NonFiniteScoresError
from spacy_goemotions.testing import build_tiny_model

TEXTS = [f"{word} and then some more words, {index}" for index, word in enumerate("thanks sad wow ok sorry lol hate love".split())]
TEXTS += [text + " again and again" * (index % 3) for index, text in enumerate(TEXTS)]


def classifier(model: str, **options: Any) -> EmotionClassifier:
    return EmotionClassifier(model, backend="torch", device="cpu", dtype="float32", compile=False, progress=False, **options)


def test_out_of_memory_frees_the_failed_batch_keeps_row_order_and_lowers_the_runs_budget(
    tiny_model: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(scoring, "MIN_BATCH_EFFICIENCY", 0.0)  # batches as big as the budget allows
    expected = classifier(tiny_model).scores(TEXTS)
    clf = classifier(tiny_model, max_tokens=12 * 16, batch_size=12)
    original = clf.backend.forward
    alive: list[weakref.ref[torch.Tensor]] = []
    tried: list[tuple[int, bool]] = []  # (tokens, ran out of memory)
    limit: list[int] = []

    def forward_with_a_memory_limit(prepared: TorchBatch, module: torch.nn.Module) -> np.ndarray:
        # What a failed forward leaves behind must be gone by the time anything else runs.
        assert all(ref() is None for ref in alive), "the failed forward's activations are still alive"
        tokens = prepared.batch.computed_tokens
        limit.append(limit[0] if limit else tokens // 2)  # the first batch is twice what fits
        if tokens > limit[0]:
            activations = torch.empty(tokens, 64)
            alive.append(weakref.ref(activations))
            tried.append((tokens, True))
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        tried.append((tokens, False))
        return original(prepared, module)

    monkeypatch.setattr(clf.backend, "forward", forward_with_a_memory_limit)
    with caplog.at_level(logging.WARNING, logger="spacy_goemotions"):
        result = clf.run(TEXTS)
    gc.collect()
    np.testing.assert_allclose(result.scores, expected, atol=1e-6)  # every row, in its place
    failures = [tokens for tokens, failed in tried if failed]
    assert len(failures) == 1, tried  # later batches were cut before they could fail
    assert len(tried) > 3 and all(tokens <= failures[0] // 2 for tokens, _ in tried[1:])
    assert "batches of this run keep under" in caplog.text


def test_nan_logits_are_an_error_naming_the_engine_never_scores(tmp_path: Path) -> None:
    model = broken_model(tmp_path)
    with pytest.raises(NonFiniteScoresError, match=r"NaN or infinite logits for \d+ of \d+ texts.*torch, float32, on cpu"):
        classifier(str(model)).scores(["thanks", "so sad"])


@pytest.mark.skipif(importlib.util.find_spec("openvino") is None, reason="needs the openvino extra")
def test_nan_logits_from_openvino_are_an_error_too(tmp_path: Path) -> None:
    model = broken_model(tmp_path)
    clf = EmotionClassifier(str(model), backend="openvino", dtype="float32", cache_dir="off", progress=False)
    with pytest.raises(NonFiniteScoresError, match="OpenVINO computed NaN or infinite logits"):
        clf.scores(["thanks", "so sad"])


def broken_model(tmp_path: Path) -> Path:
    """A tiny model whose classifier has one NaN weight: every text's logit for that label is NaN."""
    folder = build_tiny_model(tmp_path / "broken")
    weights = load_file(folder / "model.safetensors")
    name = next(key for key in weights if key.startswith("classifier.") and key.endswith("weight"))
    weights[name][0, 0] = float("nan")
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    return folder


# --- packing only where it works -----------------------------------------------------------------------------------


class FakeCuda:
    """Stand-ins for what packing asks of a GPU: its compute capability, per device."""

    def __init__(self, capabilities: dict[int, tuple[int, int]]) -> None:
        self.capabilities = capabilities

    def get_device_capability(self, device: Any = None) -> tuple[int, int]:
        index = torch.device(device).index if device is not None else 0
        return self.capabilities[index or 0]


@pytest.fixture
def ampere_and_turing(monkeypatch: pytest.MonkeyPatch) -> None:
    import spacy_goemotions.backends.torch_packed as packing

    fake = FakeCuda({0: (8, 0), 1: (7, 5)})
    monkeypatch.setattr(packing.torch.cuda, "get_device_capability", fake.get_device_capability)
    monkeypatch.setattr(packing, "flash_attn_refusal", lambda: None)  # as if flash-attn loaded


def test_packing_is_refused_for_float32_older_gpus_and_a_kernel_that_does_not_load(
    tiny_model: str, ampere_and_turing: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import spacy_goemotions.backends.torch_packed as packing

    model = classifier(tiny_model).loaded.model
    assert packing.packing_refusal(model, torch.device("cuda:0"), "bfloat16") is None
    assert "float32" in str(packing.packing_refusal(model, torch.device("cuda:0"), "float32"))
    assert "capability 7.5" in str(packing.packing_refusal(model, torch.device("cuda:1"), "float16"))
    assert "not a CUDA GPU" in str(packing.packing_refusal(model, torch.device("cpu"), "bfloat16"))
    monkeypatch.undo()
    # A flash_attn that is installed but built for another torch fails when imported: no packing, the reason said.
    monkeypatch.setattr(packing, "flash_attn_available", lambda: True)
    monkeypatch.setitem(sys.modules, "flash_attn", BrokenFlashAttn("flash_attn"))
    refusal = str(packing.flash_attn_refusal())
    assert "flash_attn does not load (OSError: flash_attn_2_cuda.so: undefined symbol" in refusal


class BrokenFlashAttn(types.ModuleType):
    """flash-attn built for another torch: its CUDA extension fails to load when the kernel is first imported."""

    def __getattr__(self, name: str) -> Any:
        raise OSError("flash_attn_2_cuda.so: undefined symbol: _ZN3c104cuda9SetDeviceEi")


def test_automatic_packing_warns_once_and_runs_padded_where_it_cannot_run(
    tiny_model: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import spacy_goemotions.backends.torch_packed as packing
    from spacy_goemotions.core.options import ClassifierOptions

    loaded = classifier(tiny_model).loaded
    monkeypatch.setattr(type(loaded), "device", property(lambda self: torch.device("cuda:0")))
    monkeypatch.setattr(type(loaded), "device_type", property(lambda self: "cuda"))
    monkeypatch.setattr(packing, "flash_attn_available", lambda: True)
    monkeypatch.setattr(packing.torch.cuda, "get_device_capability", lambda device=None: (9, 0))
    monkeypatch.setattr(packing, "_WARNED", set())
    with caplog.at_level(logging.WARNING, logger="spacy_goemotions"):
        assert packing.use_packing(ClassifierOptions(packing=None), loaded) is False  # float32
        assert packing.use_packing(ClassifierOptions(packing=None), loaded) is False
    assert caplog.text.count("Packed batches are off (dtype is float32") == 1
    with pytest.raises(Exception, match="packing=True cannot run here: dtype is float32"):
        packing.use_packing(ClassifierOptions(packing=True), loaded)


# --- bf16 where each GPU computes it ---------------------------------------------------------------------------------


def test_auto_dtype_asks_each_gpu_for_native_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    from spacy_goemotions.core.devices import resolve_dtype

    fake = FakeCuda({0: (9, 0), 1: (7, 5), 2: (8, 6)})  # an H100 beside a T4 beside an A10
    monkeypatch.setattr(torch.cuda, "get_device_capability", fake.get_device_capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)  # what T4s answer: never asked
    assert resolve_dtype("auto", torch.device("cuda:0")) == torch.bfloat16
    assert resolve_dtype("auto", torch.device("cuda:1")) == torch.float16
    assert resolve_dtype("auto", torch.device("cuda:2")) == torch.bfloat16
    assert resolve_dtype("auto", torch.device("cuda")) == torch.bfloat16  # the current device (0 here)


# --- the first batch starts after a few thousand texts, not a whole window ----------------------------------------


def test_the_first_window_is_small_and_prefetching_does_not_change_the_scores(
    tiny_model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scoring, "FIRST_WINDOW_ROWS", 3)
    monkeypatch.setattr(scoring, "DEFAULT_WINDOW_ROWS", 5)
    sizes: list[int] = []
    original = scoring.ScoringRun._prepare_window

    def spy(self: scoring.ScoringRun, window: Any, offset: int, stats: Any) -> Any:
        sizes.append(len(window))
        return original(self, window, offset, stats)

    monkeypatch.setattr(scoring.ScoringRun, "_prepare_window", spy)
    threaded = classifier(tiny_model, prefetch=True).scores(TEXTS)
    assert sizes == [3, 5, 5, 3]  # 16 texts: a small first window (the device starts sooner), then whole ones
    sizes.clear()
    inline = classifier(tiny_model, prefetch=False).scores(TEXTS)
    assert sizes == [3, 5, 5, 3]  # the same windows, so the same batches
    np.testing.assert_array_equal(threaded, inline)
