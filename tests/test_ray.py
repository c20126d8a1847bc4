"""EmotionPredictor for Ray Data: the pandas accessor's columns, one model load per actor."""

from __future__ import annotations

import concurrent.futures
import importlib
import inspect
import os
import sys
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

ray = pytest.importorskip("ray", reason="the Ray adapter needs the [ray] extra: pip install -e '.[ray]'")
pytest.importorskip("ray.data", reason="the Ray adapter needs the [ray] extra (ray[data])")

from spacy_goemotions import GOEMOTIONS_LABELS, ConfigurationError, MissingExtraError, ModelLoadError  # noqa: E402
from spacy_goemotions.integrations.pandas import EmotionsDataFrameAccessor  # noqa: E402
from spacy_goemotions.integrations.ray import EmotionPredictor  # noqa: E402

# Ray warns about its own deprecated settings when it builds a DataContext; nothing we can change.
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*")]

TIMEOUT_S = 240  # two actors each import torch and transformers; the machine is shared
OPTIONS = {"model": None, "dtype": "float32", "threshold": "tuned"}

TEXTS = [
    "Thank you so much!", None, "I am so confused.", "lol", "That is so sad.", "Ok.", None, "What a great day",
    "I hate this", "", "Wow, really?", "sure", "Ugh.", "I miss you", "Yay!!", "hmm", "This is fine.", "no",
    "Thanks, I guess", "Scary stuff", "oh no", "best news ever",
]  # fmt: skip


def frame() -> pd.DataFrame:
    return pd.DataFrame({"id": np.arange(len(TEXTS), dtype=np.int64), "text": pd.Series(TEXTS, dtype=object)})


def options(model: str) -> dict[str, object]:
    return {**OPTIONS, "model": model}


@pytest.fixture(scope="module")
def ray_data() -> Iterator[object]:
    """One local Ray instance for the module (it takes seconds to start), shut down at the end."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    context = ray.data.DataContext.get_current()
    kept = context.execution_options.preserve_order
    context.execution_options.preserve_order = True  # compare row by row with the pandas result
    try:
        yield ray.data
    finally:
        context.execution_options.preserve_order = kept
        ray.shutdown()


def test_ray_dataset_equals_pandas_and_each_actor_loads_once(tiny_model: str, ray_data: object) -> None:
    class CountingPredictor(EmotionPredictor):
        """Adds who scored each row and how many models that process had loaded by then."""

        def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
            import spacy_goemotions.core.loading as _loading

            return super().__call__(batch).assign(pid=os.getpid(), loads=_loading.load_count)

    df = frame()
    blocks = [df.iloc[:8], df.iloc[8:15], df.iloc[15:]]  # several blocks; no shuffle stage needed
    dataset = ray.data.from_pandas(blocks).map_batches(
        CountingPredictor,
        fn_constructor_kwargs={"column": "text", **options(tiny_model)},
        batch_format="pandas",
        batch_size=4,  # 22 rows -> at least 6 batches over at most 2 actors
        compute=ray.data.ActorPoolStrategy(size=2),
        num_cpus=0.5,  # leaves a CPU for Ray's own tasks on a 2-CPU machine
    )
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # a hang fails the test instead of stalling CI
        result = pool.submit(dataset.to_pandas).result(timeout=TIMEOUT_S)

    expected = df.emotions.classify("text", **options(tiny_model))
    assert list(result.columns) == [*expected.columns, "pid", "loads"]
    assert result["id"].tolist() == df["id"].tolist()  # every row, in order
    assert [t if isinstance(t, str) else None for t in result["text"]] == TEXTS
    # Ray stores batches as Arrow: floats come back Arrow-backed, missing scores as nulls.
    scores = np.stack([result[name].to_numpy(dtype=np.float32, na_value=np.nan) for name in GOEMOTIONS_LABELS], axis=1)
    # float32 scores move in the 7th digit with the batch shape (padding, kernel choice), not more.
    np.testing.assert_allclose(scores, expected[list(GOEMOTIONS_LABELS)].to_numpy(), rtol=1e-5, atol=1e-6)
    assert np.isnan(scores[[1, 6]]).all() and not np.isnan(np.delete(scores, [1, 6], axis=0)).any()
    assert [list(labels) for labels in result["emotions"]] == expected["emotions"].tolist()
    assert [labels for labels, t in zip(expected["emotions"], TEXTS, strict=True) if t is None] == [[], []]
    # Each actor process loaded the model once (in __init__) and kept it for all its batches.
    assert set(result["loads"]) == {1}
    assert 1 <= result["pid"].nunique() <= 2 and os.getpid() not in set(result["pid"])


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(["Thank you so much!", None, "lol", np.nan], dtype=object),
        pd.Series(["Thank you so much!", None, "lol", None], dtype="string"),
        pd.Series(["Thank you so much!", None, "lol", None]),
    ],
    ids=["object", "string", "default-str"],
)
def test_a_batch_gets_exactly_the_pandas_columns(tiny_model: str, column: pd.Series) -> None:
    batch = pd.DataFrame({"text": column.set_axis([10, 11, 12, 13]), "n": [3, 1, 2, 0]})
    predictor = EmotionPredictor(
        "text", prefix="emo_", labels_column="top", top_k=2, threshold=0.0, dtype="float32", model=tiny_model
    )
    assert predictor.labels == GOEMOTIONS_LABELS
    out = predictor(batch)
    expected = batch.emotions.classify(
        "text", model=tiny_model, prefix="emo_", labels_column="top", top_k=2, threshold=0.0, dtype="float32"
    )
    pd.testing.assert_frame_equal(out, expected)
    assert [len(labels) for labels in out["top"]] == [2, 0, 2, 0]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"threshold": {"joyful": 0.3}}, ConfigurationError, "joyful"),
        ({"top_k": 0}, ConfigurationError, "top_k"),
        ({"long_text": "cut"}, ConfigurationError, "long_text"),
        ({"model": "/no/such/model-dir"}, ModelLoadError, "neither an existing directory nor a hub id"),
    ],
    ids=["threshold", "top-k", "long-text", "model"],
)
def test_bad_options_fail_in_the_constructor(tiny_model: str, kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        EmotionPredictor("text", **{"model": tiny_model, **kwargs})


def test_batches_must_be_pandas(tiny_model: str) -> None:
    predictor = EmotionPredictor("text", model=tiny_model, dtype="float32")
    with pytest.raises(TypeError, match=r'got dict.*batch_format="pandas"'):
        predictor({"text": np.array(["a"])})  # type: ignore[arg-type]


def test_same_options_as_the_pandas_accessor() -> None:
    pandas_params = list(inspect.signature(EmotionsDataFrameAccessor.classify).parameters.values())[1:]  # no self
    ray_params = list(inspect.signature(EmotionPredictor.__init__).parameters.values())[1:]
    assert [(p.name, p.default) for p in ray_params[1:]] == [(p.name, p.default) for p in pandas_params[1:]]
    assert ray_params[0].name == pandas_params[0].name == "column"


def test_missing_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # None in sys.modules makes `import ray` fail
    monkeypatch.delitem(sys.modules, "spacy_goemotions.integrations.ray")
    with pytest.raises(MissingExtraError, match=r"EmotionPredictor.*'ray'.*pip install 'spacy-goemotions\[ray\]'") as caught:
        importlib.import_module("spacy_goemotions.integrations.ray")
    assert isinstance(caught.value, ImportError) and caught.value.extra == "ray"
