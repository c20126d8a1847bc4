"""The fast paths' logic, on CPU: batching, the prefetch thread, OOM split-and-retry, packing, compile.

Nothing here compiles a model (torch.compile costs minutes on 2 cores): the compile option is
tested with a stand-in module, and packed batches with a CPU stand-in for flash-attn's kernel.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import spacy_goemotions.backends.torch_compiled as compiling
import spacy_goemotions.backends.torch_packed as packing
import spacy_goemotions.core.scoring as scoring
import spacy_goemotions.core.tokenization as tokenization
from spacy_goemotions import ConfigurationError, EmotionClassifier
from spacy_goemotions.backends.modernbert import classify_pooled
from spacy_goemotions.core.batching import (
    Batch,
    build_batch,
    pack_batch,
    pad_batch,
    plan_batches,
    plan_packed_batches,
    prefetch,
    row_bucket,
    split_batch,
)

TEXTS = [
    "Thank you so much, this made my day!",
    "Why would anyone do that? I am so confused and a bit annoyed.",
    "lol",
    "",
    "That is hilarious. I'm sorry for your loss, that is so sad. Wow, I did not expect that at all!",
    "Ok.",
    "I hope it works out, good luck!",
    "This is disgusting and I hate it.",
    "The meeting is at noon on Tuesday.",
    "Wow",
    "I love it, thank you so much, good luck with the meeting on Tuesday!",
]


def classifier(model: str, **options: Any) -> EmotionClassifier:
    return EmotionClassifier(model, device="cpu", dtype="float32", compile=False, progress=False, **options)


@pytest.fixture(scope="module")
def reference(tiny_model: str) -> np.ndarray:
    return classifier(tiny_model).scores(TEXTS)


# --- the prefetch thread --------------------------------------------------------------------


def slow_numbers(n: int, delay: float = 0.0) -> Iterator[int]:
    for i in range(n):
        if delay:
            time.sleep(delay)
        yield i


@pytest.mark.parametrize("depth", [1, 2, 7])
def test_prefetch_keeps_order_and_yields_everything(depth: int) -> None:
    assert list(prefetch(slow_numbers(200), depth)) == list(range(200))
    # a slow producer and a slow consumer give the same sequence
    seen = []
    for item in prefetch(slow_numbers(20, 0.001), depth):
        time.sleep(0.001)
        seen.append(item)
    assert seen == list(range(20))


def test_prefetch_runs_ahead_on_another_thread_bounded_by_depth() -> None:
    produced: list[int] = []
    threads: set[str] = set()

    def producer() -> Iterator[int]:
        for i in range(10):
            threads.add(threading.current_thread().name)
            produced.append(i)
            yield i

    stream = prefetch(producer(), 2, name="test-prefetch")
    assert next(stream) == 0
    time.sleep(0.2)
    # item 0 consumed, at most 2 waiting in the queue, and 1 in the producer's hand blocked on put
    assert len(produced) <= 4
    assert threads == {"test-prefetch"}
    assert list(stream) == list(range(1, 10))


def test_prefetch_reraises_the_producer_error_after_the_items_before_it() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("bad item 3")

    seen = []
    with pytest.raises(ValueError, match="bad item 3"):
        for item in prefetch(failing(), 1):
            seen.append(item)
    assert seen == [1, 2]


@pytest.mark.parametrize("nested", [False, True])
def test_prefetch_stops_its_thread_when_the_consumer_stops_early(nested: bool) -> None:
    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    before = threading.active_count()
    stream = prefetch(prefetch(endless(), 2), 3) if nested else prefetch(endless(), 2)
    assert [next(stream) for _ in range(5)] == [0, 1, 2, 3, 4]
    stream.close()  # what a `break` or an exception in the consumer does
    assert closed.wait(5), "the producer generator was not closed"
    deadline = time.time() + 5
    while threading.active_count() > before and time.time() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before


def test_prefetch_consumer_error_does_not_deadlock() -> None:
    def consume() -> None:
        for item in prefetch(slow_numbers(10_000), 1):
            if item == 3:
                raise RuntimeError("consumer failed")

    worker = threading.Thread(target=lambda: pytest.raises(RuntimeError, consume))
    worker.start()
    worker.join(10)
    assert not worker.is_alive()


# --- the core with prefetching, several windows --------------------------------------------------


def test_core_with_prefetch_thread_equals_inline(tiny_model: str, reference: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scoring, "DEFAULT_WINDOW_ROWS", 3)  # several windows: the tokenizing thread runs ahead
    texts = TEXTS + [None] + TEXTS[::-1]
    inline = classifier(tiny_model, prefetch=False, max_tokens=64).run(texts)
    threaded = classifier(tiny_model, prefetch=True, max_tokens=64).run(texts)
    np.testing.assert_array_equal(threaded.scores, inline.scores)
    np.testing.assert_allclose(threaded.scores[: len(TEXTS)], reference, atol=1e-5)
    np.testing.assert_allclose(threaded.scores[len(TEXTS) + 1 :], reference[::-1], atol=1e-5)
    assert np.isnan(threaded.scores[len(TEXTS)]).all()
    assert threaded.stats.rows == inline.stats.rows == len(texts)
    assert threaded.stats.batches == inline.stats.batches and threaded.stats.real_tokens == inline.stats.real_tokens


def test_core_error_in_the_tokenizing_thread_reaches_the_caller(tiny_model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scoring, "DEFAULT_WINDOW_ROWS", 4)
    before = threading.active_count()
    texts: list[Any] = [*TEXTS[:6], 42, *TEXTS[:3]]  # the bad value sits in the second window
    with pytest.raises(TypeError, match=r"texts\[6\] is a int"):
        classifier(tiny_model, prefetch=True).run(texts)
    assert threading.active_count() == before


@pytest.mark.parametrize("long_text", ["truncate", "chunk"])
def test_tokenizing_in_chunks_changes_nothing(tiny_model: str, monkeypatch: pytest.MonkeyPatch, long_text: str) -> None:
    whole = classifier(tiny_model, long_text=long_text, max_length=16).run(TEXTS * 2 + ["extra"])
    monkeypatch.setattr(tokenization, "TOKENIZE_CHUNK", 3)  # chunk borders inside a window, and inside the duplicates
    chunked = classifier(tiny_model, long_text=long_text, max_length=16).run(TEXTS * 2 + ["extra"])
    np.testing.assert_array_equal(chunked.scores, whole.scores)
    assert chunked.stats.sequences == whole.stats.sequences and chunked.stats.real_tokens == whole.stats.real_tokens
    assert (long_text == "chunk") == (whole.stats.sequences > whole.stats.unique_texts)


# --- out-of-memory: split and retry --------------------------------------------------------------


def test_out_of_memory_batches_are_split_without_losing_or_reordering_rows(
    tiny_model: str, reference: np.ndarray, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(scoring, "MIN_BATCH_EFFICIENCY", 0.0)  # one big padded batch to start from
    clf = classifier(tiny_model, max_tokens=100_000, backend="torch")  # what backend="auto" runs on CUDA
    original = clf.backend.forward
    calls: list[int] = []

    def forward_that_fits_two_rows(batch: Batch, module: torch.nn.Module) -> np.ndarray:
        calls.append(len(batch))
        if len(batch) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        # halves are padded only to their own longest sequence
        assert batch.attention_mask is not None and batch.attention_mask[:, -1].any()
        return original(batch, module)

    monkeypatch.setattr(clf.backend, "forward", forward_that_fits_two_rows)
    texts = TEXTS + [None] + TEXTS[:4]
    with caplog.at_level(logging.WARNING, logger="spacy_goemotions"):
        result = clf.run(texts)
    assert calls[0] == len(TEXTS) and max(calls) == len(TEXTS)  # one big batch first, then the halves
    assert sum(n for n in calls if n <= 2) == len(TEXTS)  # every sequence computed exactly once
    np.testing.assert_allclose(result.scores[: len(TEXTS)], reference, atol=1e-5)
    np.testing.assert_allclose(result.scores[len(TEXTS) + 1 :], reference[:4], atol=1e-5)
    assert np.isnan(result.scores[len(TEXTS)]).all()
    assert "Out of memory on a batch" in caplog.text


def test_out_of_memory_on_a_single_sequence_is_a_clear_error(tiny_model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clf = classifier(tiny_model, backend="torch")

    def always_oom(batch: Batch, module: torch.nn.Module) -> np.ndarray:
        raise torch.OutOfMemoryError("simulated")

    monkeypatch.setattr(clf.backend, "forward", always_oom)
    with pytest.raises(torch.OutOfMemoryError, match="single sequence of .* tokens.*long_text='chunk'"):
        clf.scores(TEXTS[:3])


def test_split_batch_keeps_rows_in_order_and_trims_padding() -> None:
    sequences = [[5, 6, 7, 8, 9], [5, 6], [5, 6, 7], [5]]
    batch = build_batch(np.array([3, 0, 2, 1]), sequences, pad_id=0)
    first, second = split_batch(batch, pad_id=0)
    assert first.indices.tolist() == [3, 0] and second.indices.tolist() == [2, 1]
    assert first.input_ids.tolist() == [[5, 6, 7, 8, 9], [5, 6, 0, 0, 0]]
    assert second.input_ids.tolist() == [[5, 6, 7], [5, 0, 0]]
    assert second.attention_mask is not None and second.attention_mask.tolist() == [[1, 1, 1], [1, 0, 0]]


# --- batch planning and padding efficiency -----------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 600), max_size=300),
    max_tokens=st.integers(1, 5000),
    batch_size=st.integers(1, 300),
    min_efficiency=st.sampled_from([0.0, 0.5, 0.9, 0.97, 1.0]),
    min_tokens=st.sampled_from([0, 64, 1000]),
)
def test_plan_batches_keeps_each_batch_above_the_efficiency_floor(
    lengths: list[int], max_tokens: int, batch_size: int, min_efficiency: float, min_tokens: int
) -> None:
    batches = plan_batches(lengths, max_tokens, batch_size, min_efficiency, min_tokens)
    flat = np.concatenate(batches) if batches else np.array([], dtype=int)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    array = np.asarray(lengths)
    for batch in batches:
        width = array[batch].max()
        assert len(batch) <= batch_size
        assert len(batch) == 1 or len(batch) * width <= max_tokens
        # below the floor only a batch too small to be cut (its rows but the last compute < min_tokens)
        small = (len(batch) - 1) * width < min_tokens
        assert len(batch) == 1 or small or array[batch].sum() / (len(batch) * width) >= min_efficiency - 1e-12


def test_row_buckets_are_a_fixed_set_losing_under_a_fifth_of_the_rows() -> None:
    buckets = sorted({row_bucket(rows) for rows in range(1, 1025)})
    assert buckets[:12] == [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16]
    assert len(buckets) == 8 + 4 * 7  # four per doubling from 8 to 1024
    for rows in range(1, 1025):
        assert 0.8 * rows < row_bucket(rows) <= rows


@settings(max_examples=200, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 600), max_size=300),
    max_tokens=st.integers(1, 5000),
    batch_size=st.integers(1, 300),
    min_efficiency=st.sampled_from([0.0, 0.9, 0.97]),
)
def test_bucketed_plans_keep_every_rule_and_cut_batches_only_to_bucketed_row_counts(
    lengths: list[int], max_tokens: int, batch_size: int, min_efficiency: float
) -> None:
    batches = plan_batches(lengths, max_tokens, batch_size, min_efficiency, 64, bucket_rows=True)
    flat = np.concatenate(batches) if batches else np.array([], dtype=int)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    array = np.asarray(lengths)
    remaining = len(lengths)
    for batch in batches:
        width = array[batch].max()
        available = max(1, min(batch_size, max_tokens // width, remaining))
        remaining -= len(batch)
        assert len(batch) == available or len(batch) == row_bucket(len(batch))  # full, last, or a bucket
        assert len(batch) == 1 or len(batch) * width <= max_tokens
        small = (len(batch) - 1) * width < 64
        assert len(batch) == 1 or small or array[batch].sum() / (len(batch) * width) >= min_efficiency - 1e-12


def test_padding_efficiency_on_a_long_tailed_corpus(tiny_model: str) -> None:
    # Reddit-like lengths: most texts short, a long tail; plain budget-filling wastes a lot there.
    rng = np.random.default_rng(0)
    words = np.minimum(rng.lognormal(3.0, 1.0, size=600).astype(int) + 1, 400)
    texts = [" ".join(["happy", "sad", "word"][i % 3] for i in range(n)) for n in words]
    stats = classifier(tiny_model, max_tokens=2048).run(texts).stats
    assert stats.padding_efficiency >= scoring.MIN_BATCH_EFFICIENCY
    lengths = [len(ids) for ids in classifier(tiny_model).loaded.tokenizer(texts, truncation=True, max_length=512)["input_ids"]]
    unfiltered = plan_batches(lengths, 2048, 256)
    assert sum(lengths) / sum(len(b) * max(lengths[i] for i in b) for b in unfiltered) < stats.padding_efficiency


def test_plan_packed_batches_caps_the_sum_of_lengths() -> None:
    lengths = [5, 40, 3, 17, 40, 1, 90]
    batches = plan_packed_batches(lengths, max_tokens=60, batch_size=3)
    assert [b.tolist() for b in batches] == [[6], [1], [4, 3], [0, 2, 5]]  # 90 | 40 | 40+17 | 5+3+1
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))


def test_pad_and_pack_batch_values() -> None:
    sequences = [[7, 8, 9], [4], [5, 6]]
    ids, mask = pad_batch(sequences, pad_id=0)
    assert ids.tolist() == [[7, 8, 9], [4, 0, 0], [5, 6, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0], [1, 1, 0]]
    flat, positions, cu_seqlens = pack_batch(sequences)
    assert flat.tolist() == [[7, 8, 9, 4, 5, 6]]
    assert positions.tolist() == [[0, 1, 2, 0, 0, 1]]
    assert cu_seqlens.tolist() == [0, 3, 4, 6] and cu_seqlens.dtype == np.int32


# --- packing (flash-attn varlen) logic, with a CPU stand-in for the kernel --------------------------


def cpu_packed_logits(model: Any, input_ids: torch.Tensor, position_ids: torch.Tensor, cu_seqlens: torch.Tensor, max_length: int) -> torch.Tensor:
    """What flash-attn's varlen kernel computes, done one sequence at a time with the eager model."""
    bounds = cu_seqlens.tolist()
    assert max_length == max(b - a for a, b in zip(bounds, bounds[1:], strict=False))
    parts = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        assert position_ids[0, start:end].tolist() == list(range(end - start))
        parts.append(model.model(input_ids=input_ids[:, start:end]).last_hidden_state[0])
    hidden = torch.cat(parts)
    return classify_pooled(model, packing.segment_pool(hidden, cu_seqlens, model.config.classifier_pooling))


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_segment_pooling_matches_the_padded_model(tiny_model: str, pooling: str, monkeypatch: pytest.MonkeyPatch) -> None:
    model = classifier(tiny_model).loaded.model
    monkeypatch.setattr(model.config, "classifier_pooling", pooling)
    tokenizer = classifier(tiny_model).loaded.tokenizer
    sequences = tokenizer(TEXTS[:5], truncation=True, max_length=64)["input_ids"]
    batch = build_batch(np.arange(5), sequences, tokenizer.pad_token_id, packed=True)
    tensors = [torch.from_numpy(array) for array in (batch.input_ids, batch.position_ids, batch.cu_seqlens)]
    with torch.inference_mode():
        packed = cpu_packed_logits(model, *tensors, batch.max_length)
        padded = build_batch(np.arange(5), sequences, tokenizer.pad_token_id)
        expected = model(input_ids=torch.from_numpy(padded.input_ids), attention_mask=torch.from_numpy(padded.attention_mask)).logits
    np.testing.assert_allclose(packed.numpy(), expected.numpy(), atol=1e-5)


def test_core_packed_path_equals_padded(tiny_model: str, reference: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(packing, "packing_refusal", lambda model, device, dtype: None)
    monkeypatch.setattr(packing, "enable_flash_attention", lambda model: None)
    monkeypatch.setattr(packing, "packed_logits", cpu_packed_logits)
    # backend="torch": packing is a CUDA path, where backend="auto" is torch; this test fakes it on the CPU
    result = classifier(tiny_model, max_tokens=80, max_length=32, batch_size=2, backend="torch").run(TEXTS)
    np.testing.assert_allclose(result.scores, reference, atol=1e-5)
    assert result.stats.packed and result.stats.padding_efficiency == 1.0
    # the token budget alone bounds packed batches (batch_size=2 would need 6 batches)
    assert 1 < result.stats.batches < len(TEXTS) // 2


def test_packing_true_without_flash_attn_is_a_clear_error(tiny_model: str) -> None:
    with pytest.raises(ConfigurationError, match="packing=True cannot run here: the device is cpu, not a CUDA GPU"):
        classifier(tiny_model, packing=True).scores(TEXTS[:1])


def test_packing_is_off_on_cpu(tiny_model: str) -> None:
    assert packing.packing_refusal(classifier(tiny_model).loaded.model, torch.device("cpu"), "float32") is not None


# --- the compile option (a stand-in module: the suite never runs torch.compile) ----------------------


class StandIn(torch.nn.Module):
    """Plays the compiled twin: delegates to the model, counts calls, may fail like a broken compiler."""

    def __init__(self, model: torch.nn.Module, fail: bool = False) -> None:
        super().__init__()
        self.model, self.fail, self.calls = model, fail, 0

    def forward(self, **inputs: Any) -> Any:
        self.calls += 1
        if self.fail:
            raise RuntimeError("inductor: no C++ compiler (simulated)")
        return self.model(**inputs)


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> dict[str, StandIn]:
    made: dict[str, StandIn] = {}

    def fake_compiled(model: torch.nn.Module) -> StandIn:
        made.setdefault("module", StandIn(model, fail=made.get("fail") is not None))
        return made["module"]

    monkeypatch.setattr(compiling, "compiled", fake_compiled)
    return made


@pytest.mark.parametrize(("option", "dtype", "expect_compiled"), [
    (False, "bfloat16", False), (True, "float32", True), ("auto", "bfloat16", False), ("auto", "float32", False),
])  # fmt: skip
def test_compile_option_decides_when_to_compile(
    tiny_model: str, reference: np.ndarray, stand_in: dict[str, StandIn], option: Any, dtype: str, expect_compiled: bool,
) -> None:  # fmt: skip
    # compile="auto" never compiles, whatever the run's size: compiled kernels round differently than eager ones.
    clf = EmotionClassifier(tiny_model, device="cpu", dtype=dtype, compile=option, backend="torch", progress=False)
    result = clf.run(TEXTS)
    np.testing.assert_allclose(result.scores, reference, atol=0.05 if dtype == "bfloat16" else 1e-5)
    assert result.stats.compiled is expect_compiled
    assert (stand_in["module"].calls == result.stats.batches) if expect_compiled else "module" not in stand_in


def test_warmup_compiles_on_representative_shapes(tiny_model: str, stand_in: dict[str, StandIn]) -> None:
    clf = EmotionClassifier(tiny_model, device="cpu", dtype="float32", compile=True, progress=False)
    assert clf.warmup() >= 0
    assert stand_in["module"].calls == 5  # one row and several, inside and beyond the local window
    eager = EmotionClassifier(tiny_model, backend="torch", device="cpu", compile=False)
    assert eager.warmup() >= 0 and stand_in["module"].calls == 5


def test_compile_true_fails_loudly_when_compiling_fails(tiny_model: str, stand_in: dict[str, StandIn]) -> None:
    stand_in["fail"] = StandIn(torch.nn.Identity())  # marker: the next stand-in fails
    with pytest.raises(RuntimeError, match="no C\\+\\+ compiler"):
        EmotionClassifier(tiny_model, device="cpu", dtype="float32", compile=True, progress=False).scores(TEXTS)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"compile": "yes"}, "compile must be True, False or 'auto'"),
    ({"compile": 1}, "compile must be True, False or 'auto'"),
    ({"prefetch": "on"}, "prefetch must be True, False or None"),
    ({"packing": 0}, "packing must be True, False or None"),
])  # fmt: skip
def test_fast_path_options_are_validated(tiny_model: str, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        EmotionClassifier(tiny_model, **kwargs)
