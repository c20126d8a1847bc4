from __future__ import annotations

from importlib.util import find_spec

import threading
from pathlib import Path

import numpy as np
import torch
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spacy_goemotions.core.loading as loading
from spacy_goemotions import GOEMOTIONS_LABELS, ConfigurationError, EmotionClassifier, ModelLoadError
from spacy_goemotions.core.batching import plan_batches

TEXTS = [
    "Thank you so much, this made my day!",
    "Why would anyone do that? I am so confused and a bit annoyed.",
    "lol",
    "",
    "That is hilarious. I'm sorry for your loss, that is so sad. Wow, I did not expect that at all!",
    "Ok.",
    "I hope it works out, good luck!",
]


ENGINES = ["torch", pytest.param("openvino", marks=pytest.mark.skipif(find_spec("openvino") is None, reason="needs openvino"))]


@pytest.fixture(scope="module", params=ENGINES)
def fp32(tiny_model: str, request: pytest.FixtureRequest) -> EmotionClassifier:
    """Float32 on each backend by name: every test that uses it runs on torch and on OpenVINO."""
    return EmotionClassifier(tiny_model, backend=request.param, dtype="float32", device="cpu", progress=False)


def pipeline_scores(model_dir: str, texts: list[str], labels: tuple[str, ...]) -> np.ndarray:
    from transformers import pipeline

    classify = pipeline("text-classification", model=model_dir, top_k=None, function_to_apply="sigmoid", device="cpu")
    rows = classify(texts, batch_size=1)
    return np.array([[next(d["score"] for d in row if d["label"] == name) for name in labels] for row in rows])


def test_parity_with_transformers_pipeline_float32(fp32: EmotionClassifier, tiny_model: str) -> None:
    ours = fp32.scores(TEXTS)
    reference = pipeline_scores(tiny_model, TEXTS, fp32.labels)
    assert ours.dtype == np.float32 and ours.shape == (len(TEXTS), 28)
    assert np.abs(ours - reference).max() <= 1e-5
    # the scores are not degenerate: the check above would otherwise prove little
    assert ours.std() > 0.05


LONG_TEXTS = [
    "Thank you so much, this made my day!",
    " ".join(["This is a long rambling comment about nothing in particular and everything at once."] * 60),
    "ok",
    "Honestly I can't tell whether to laugh or cry. " * 80,
]


@pytest.mark.parametrize("backend", ENGINES)
def test_parity_with_transformers_pipeline_on_the_bundled_checkpoint_past_max_length(backend: str) -> None:
    """The trained bundled model, texts longer than max_length (truncated, as the pipeline truncates), float32."""
    from spacy_goemotions.core.loading import resolve_model_source

    classifier = EmotionClassifier("goemotions-small", backend=backend, dtype="float32", device="cpu", max_length=64, progress=False)
    ours = classifier.scores(LONG_TEXTS)
    tokens = [len(ids) for ids in classifier.loaded.tokenizer(LONG_TEXTS)["input_ids"]]
    assert max(tokens) > 4 * 64  # the texts do run past max_length (64: the bundled tokenizer's model_max_length)
    from transformers import pipeline

    # dtype: the bundled config records float16 (its training precision), which a plain pipeline would load.
    source = resolve_model_source("goemotions-small")
    classify = pipeline("text-classification", model=source, top_k=None, function_to_apply="sigmoid", dtype=torch.float32)
    rows = classify(LONG_TEXTS, batch_size=1, truncation=True, max_length=64)
    reference = np.array([[next(d["score"] for d in row if d["label"] == name) for name in classifier.labels] for row in rows])
    assert np.abs(ours - reference).max() <= 1e-5  # measured: 7e-7 (OpenVINO), 0 to 1e-7 (torch)
    assert ours.std() > 0.05


def test_labels_come_from_the_model_config(fp32: EmotionClassifier) -> None:
    assert fp32.labels == GOEMOTIONS_LABELS


@pytest.mark.parametrize(("batch_size", "max_tokens"), [(1, 4096), (2, 16), (3, 64), (256, 100_000)])
def test_results_do_not_depend_on_batching(fp32: EmotionClassifier, tiny_model: str, batch_size: int, max_tokens: int) -> None:
    other = EmotionClassifier(
        tiny_model, backend=fp32.options.backend, dtype="float32", device="cpu", batch_size=batch_size, max_tokens=max_tokens,
        progress=False,
    )
    np.testing.assert_allclose(other.scores(TEXTS), fp32.scores(TEXTS), atol=1e-5)


def test_results_do_not_depend_on_input_order(fp32: EmotionClassifier) -> None:
    permutation = np.random.default_rng(1).permutation(len(TEXTS))
    np.testing.assert_allclose(fp32.scores([TEXTS[i] for i in permutation]), fp32.scores(TEXTS)[permutation], atol=1e-5)


def test_duplicates_are_computed_once(fp32: EmotionClassifier) -> None:
    result = fp32.run(TEXTS * 3 + [None])
    assert result.stats.unique_texts == len(TEXTS) and result.stats.sequences == len(TEXTS)
    assert result.stats.missing == 1
    np.testing.assert_array_equal(result.scores[: len(TEXTS)], result.scores[len(TEXTS) : 2 * len(TEXTS)])
    assert np.isnan(result.scores[-1]).all()


def test_padding_efficiency_is_high_on_sorted_batches(fp32: EmotionClassifier) -> None:
    texts = [" ".join(["word"] * n) for n in range(1, 200)]
    stats = EmotionClassifier(fp32.model_name, dtype="float32", max_tokens=512, progress=False).run(texts).stats
    assert stats.padding_efficiency > 0.95
    assert stats.real_tokens == sum(len(fp32.loaded.tokenizer(t, truncation=True, max_length=512)["input_ids"]) for t in texts)


def test_long_text_truncate_equals_scoring_the_truncated_prefix(tiny_model: str) -> None:
    clf = EmotionClassifier(tiny_model, dtype="float32", max_length=16, progress=False)
    tokenizer = clf.loaded.tokenizer
    long_text = " ".join(TEXTS * 5)
    ids = tokenizer(long_text, add_special_tokens=False)["input_ids"][:14]
    prefix = tokenizer.decode(ids)
    assert tokenizer(prefix, add_special_tokens=False)["input_ids"] == ids
    np.testing.assert_allclose(clf.scores([long_text]), clf.scores([prefix]), atol=1e-5)


@pytest.mark.parametrize("aggregate", ["max", "mean"])
def test_long_text_chunk_combines_overlapping_windows(tiny_model: str, aggregate: str) -> None:
    clf = EmotionClassifier(tiny_model, dtype="float32", max_length=16, chunk_overlap=4, long_text="chunk", aggregate=aggregate, progress=False)  # type: ignore[arg-type]
    tokenizer = clf.loaded.tokenizer
    long_text = " ".join(TEXTS * 3)
    ids = tokenizer(long_text, add_special_tokens=False)["input_ids"]
    windows = [ids[start : start + 14] for start in range(0, len(ids) - 4, 10)]
    assert windows[-1] == ids[-len(windows[-1]) :]  # the last window reaches the end
    plain = EmotionClassifier(tiny_model, dtype="float32", max_length=512, progress=False)
    window_scores = plain.scores([tokenizer.decode(w) for w in windows])
    expected = window_scores.max(axis=0) if aggregate == "max" else window_scores.mean(axis=0)
    result = clf.run([long_text, "short"])
    np.testing.assert_allclose(result.scores[0], expected, atol=1e-5)
    np.testing.assert_allclose(result.scores[1], plain.scores(["short"])[0], atol=1e-5)
    assert result.stats.sequences == len(windows) + 1


def test_lone_surrogates_are_repaired_not_crashing(fp32: EmotionClassifier) -> None:
    result = fp32.run(["bad \ud800 text", "bad \ufffd text"])
    assert result.stats.repaired == 1
    np.testing.assert_array_equal(result.scores[0], result.scores[1])


def test_non_string_input_names_its_position(fp32: EmotionClassifier) -> None:
    with pytest.raises(TypeError, match=r"texts\[1\] is a int"):
        fp32.scores(["ok", 5])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not a single string"):
        fp32.scores("just one string")


def test_empty_input_gives_empty_matrix(fp32: EmotionClassifier) -> None:
    assert fp32.scores([]).shape == (0, 28)


def test_iter_scores_streams_in_chunks(fp32: EmotionClassifier) -> None:
    chunks = list(fp32.iter_scores(iter(TEXTS), chunk_rows=3))
    assert [len(c) for c in chunks] == [3, 3, 1]
    np.testing.assert_allclose(np.concatenate(chunks), fp32.scores(TEXTS), atol=1e-5)


def test_shipped_thresholds_drive_the_tuned_preset(fp32: EmotionClassifier) -> None:
    policy = fp32.policy("tuned")
    cutoffs = policy.cutoffs(fp32.labels, fp32.loaded.shipped_thresholds)
    assert cutoffs[fp32.labels.index("joy")] == pytest.approx(0.25)
    assert cutoffs[fp32.labels.index("anger")] == pytest.approx(0.75)


def test_model_is_loaded_once_per_key_across_threads(tiny_model: str) -> None:
    loading.clear_model_cache()
    before = loading.load_count
    results: list[np.ndarray] = []

    def work() -> None:
        results.append(EmotionClassifier(tiny_model, dtype="float32", progress=False).scores(TEXTS))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loading.load_count == before + 1
    for scores in results[1:]:
        np.testing.assert_array_equal(scores, results[0])


#: Texts for the agreement of precisions, on the trained bundled model (random weights put every score near
#: 0.5, where any rounding flips a label: see PITFALLS).
AGREEMENT_TEXTS = [
    *[t for t in TEXTS if t],
    "Thank you so much for fixing this, you made my whole week!",
    "Why does the export button do nothing? I've clicked it ten times.",
    "lol that cat video is the funniest thing I've seen all year",
    "I'm really sorry to hear about your dog. Sending love to you and your family.",
    "This update is a disaster. Everything I relied on is broken and nobody answers support tickets.",
    "Wow, I did not expect the package to arrive a week early!",
    "The meeting has been moved to Thursday at 10am.",
    "I'm nervous about the interview tomorrow, hope it goes well.",
    " ".join(["I love it, I hate it, I am confused, I am so grateful, what a surprise!"] * 30),
]


@pytest.mark.parametrize("backend", ENGINES)
def test_bfloat16_agrees_with_float32_on_labels(backend: str) -> None:
    reference = EmotionClassifier("goemotions-small", backend="torch", dtype="float32", device="cpu", progress=False)
    bf16 = EmotionClassifier("goemotions-small", backend=backend, dtype="bfloat16", device="cpu", progress=False)
    assert bf16.engine.precision == "bfloat16"
    ours, expected = bf16.scores(AGREEMENT_TEXTS), reference.scores(AGREEMENT_TEXTS)
    # Measured on an AMX Xeon: max 6.8e-3 (torch) / 5.0e-3 (OpenVINO), labels all equal; bf16 without AMX
    # rounds more (OpenVINO ~0.08 on the 512-token repeated text on an AMD EPYC): bars with that margin.
    assert 0 < np.abs(ours - expected).max() < 0.1
    labels_equal = ((ours >= 0.5) == (expected >= 0.5)).mean()
    assert labels_equal >= 0.995, labels_equal


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"device": "tpu"}, "Unknown device 'tpu'"),
        ({"device": "cuda:3"}, "CUDA"),
        ({"dtype": "int4"}, "Unknown dtype 'int4'"),
        ({"dtype": "int8", "backend": "torch"}, "dtype='int8' runs on the OpenVINO backend"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"max_tokens": -5}, "max_tokens must be"),
        ({"long_text": "split"}, "long_text must be one of"),
        ({"aggregate": "sum"}, "aggregate must be one of"),
        ({"max_length": 4}, "max_length must be at least 8"),
        ({"chunk_overlap": 400}, "chunk_overlap"),
    ],
)
def test_bad_options_fail_at_construction(tiny_model: str, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        EmotionClassifier(tiny_model, **kwargs)  # type: ignore[arg-type]


def test_missing_model_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="neither an existing directory nor a hub id"):
        _ = EmotionClassifier(str(tmp_path / "nope" / "model")).labels
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="no config.json"):
        _ = EmotionClassifier(str(tmp_path / "empty")).labels


def test_hub_id_offline_is_a_clear_error() -> None:
    with pytest.raises(ModelLoadError, match="Could not load model 'someone/not-cached'"):
        _ = EmotionClassifier("someone/not-cached").labels


def test_weights_only_as_pickle_are_refused(tiny_model: str, tmp_path: Path) -> None:
    import shutil

    import torch
    from safetensors.torch import load_file

    target = tmp_path / "pickled"
    shutil.copytree(tiny_model, target)
    state = load_file(str(target / "model.safetensors"))
    (target / "model.safetensors").unlink()
    torch.save(state, target / "pytorch_model.bin")
    with pytest.raises(ModelLoadError, match="safetensors"):
        _ = EmotionClassifier(str(target)).labels


@pytest.mark.parametrize(
    ("lengths", "max_tokens", "batch_size"),
    [([5, 1, 9, 3, 3, 7], 10, 4), ([1] * 10, 3, 100), ([50, 2], 10, 8), ([], 10, 2)],
)
def test_plan_batches_covers_every_index_once_within_budget(lengths: list[int], max_tokens: int, batch_size: int) -> None:
    batches = plan_batches(lengths, max_tokens, batch_size)
    flat = sorted(i for batch in batches for i in batch.tolist())
    assert flat == list(range(len(lengths)))
    for batch in batches:
        widest = max(lengths[i] for i in batch)
        assert len(batch) <= batch_size
        assert len(batch) == 1 or len(batch) * widest <= max_tokens


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.text(max_size=40), st.none(), st.sampled_from(["", " ", "\x00", "😀" * 30, "\ud800", "\n\t"])), max_size=12))
def test_arbitrary_unicode_never_crashes_and_keeps_rows(fp32: EmotionClassifier, texts: list[str | None]) -> None:
    scores = fp32.scores(texts)
    assert scores.shape == (len(texts), 28)
    missing = np.array([t is None for t in texts], dtype=bool)
    assert np.isnan(scores[missing]).all()
    assert np.isfinite(scores[~missing]).all()


def test_threads_sharing_one_tokenizer_with_other_truncation_settings_do_not_collide(tiny_model: str) -> None:
    # Two classifiers on one loaded model (one tokenizer): truncating and chunking calls set the Rust
    # tokenizer's truncation differently, which fails with "Already borrowed" when two threads overlap.
    common = {"dtype": "float32", "device": "cpu", "backend": "torch", "progress": False, "max_length": 16}
    truncating = EmotionClassifier(tiny_model, **common)  # type: ignore[arg-type]
    chunking = EmotionClassifier(tiny_model, long_text="chunk", **common)  # type: ignore[arg-type]
    assert truncating.loaded.tokenizer is chunking.loaded.tokenizer
    texts = [f"{text} and then some more words to go past sixteen tokens {i}" for i, text in enumerate(TEXTS * 8)]
    expected = {id(clf): clf.scores(texts) for clf in (truncating, chunking)}
    errors: list[BaseException] = []

    def work(clf: EmotionClassifier) -> None:
        try:
            for _ in range(15):
                np.testing.assert_allclose(clf.scores(texts), expected[id(clf)], atol=1e-6)
        except BaseException as error:  # reported below, in the test's own thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(clf,)) for clf in (truncating, chunking, truncating, chunking)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[0]
