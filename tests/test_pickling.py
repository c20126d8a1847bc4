"""Picklable everywhere a pipeline travels: options, the classifier, the spaCy component and ``nlp``.

spaCy pickles the whole pipeline for ``nlp.pipe(n_process=N)`` under the spawn start method (the default
on macOS and Windows); Dask and Ray pickle what their tasks hold. Locks, loaded models and backends are
never pickled: they are rebuilt on the other side, on first use. The multiprocessing tests run in a
fresh interpreter with a timeout, so that a hang fails instead of stalling the suite.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import spacy
from spacy.language import Language

from spacy_goemotions import ClassifierOptions, EmotionClassifier

TEXTS = ["Thank you so much, this made my day!", "lol", "Why would anyone do that? I am so annoyed.", ""]


def _nlp(tiny_model: str) -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    config = {
        "model": tiny_model,
        "device": "cpu",
        "dtype": "float32",
        "threshold": "tuned",
        "taxonomy": "ekman",
        "per_sentence": True,
    }
    nlp.add_pipe("goemotions", config=config)
    return nlp


def _annotations(nlp: Language, texts: list[str]) -> list[dict[str, object]]:
    return [
        {"cats": doc.cats, "emotions": doc._.emotions, "groups": doc._.emotion_groups, "sents": [s._.emotions for s in doc.sents]}
        for doc in nlp.pipe(texts)
    ]


def test_options_pickle() -> None:
    options = ClassifierOptions("goemotions-small", dtype="float32", backend="torch", batch_size=7)
    assert pickle.loads(pickle.dumps(options)) == options


@pytest.mark.parametrize("backend", ["torch", "auto"])
def test_a_classifier_pickles_before_and_after_use_and_scores_the_same(tiny_model: str, backend: str) -> None:
    classifier = EmotionClassifier(tiny_model, device="cpu", dtype="float32", backend=backend, progress=False)
    unused = pickle.loads(pickle.dumps(classifier))
    scores = classifier.scores(TEXTS)
    used = pickle.loads(pickle.dumps(classifier))
    assert not used.is_loaded  # the model travels as its options, never as tensors
    assert used.options == classifier.options and used.engine == classifier.engine
    np.testing.assert_array_equal(used.scores(TEXTS), scores)
    np.testing.assert_array_equal(unused.scores(TEXTS), scores)


def test_nlp_and_the_component_pickle_before_and_after_use(tiny_model: str) -> None:
    nlp = _nlp(tiny_model)
    fresh = pickle.loads(pickle.dumps(nlp))  # before the first Doc: nothing loaded yet
    component = pickle.loads(pickle.dumps(nlp.get_pipe("goemotions")))
    expected = _annotations(nlp, TEXTS)
    used = pickle.loads(pickle.dumps(nlp))  # after: the classifier has a loaded model and a backend
    assert _annotations(fresh, TEXTS) == expected
    assert _annotations(used, TEXTS) == expected
    assert component.policy == nlp.get_pipe("goemotions").policy


_PIPE_WITH_WORKERS = """
import json, multiprocessing, sys
import spacy

def build():
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("goemotions", config={"model": sys.argv[2], "device": "cpu", "dtype": "float32", "per_sentence": True,
                                       "threshold": "tuned", "taxonomy": "ekman"})
    return nlp

def annotations(docs):
    return [{"cats": d.cats, "emotions": d._.emotions, "groups": d._.emotion_groups,
             "sents": [s._.emotions for s in d.sents]} for d in docs]

if __name__ == "__main__":
    multiprocessing.set_start_method(sys.argv[1], force=True)
    texts = [("I love this so much. " * (1 + 3 * i)) + ("Why is it broken? " * (i % 4)) for i in range(16)]
    nlp = build()
    single = annotations(nlp.pipe(texts, n_process=1, batch_size=5))  # the parent has used the model before the workers start
    multi = annotations(nlp.pipe(texts, n_process=2, batch_size=5))
    cats = max(abs(a["cats"][k] - b["cats"][k]) for a, b in zip(single, multi) for k in a["cats"])
    same_labels = [(a["emotions"].keys(), a["groups"], a["sents"] and [list(s) for s in a["sents"]]) for a in single] == [
        (b["emotions"].keys(), b["groups"], b["sents"] and [list(s) for s in b["sents"]]) for b in multi]
    print(json.dumps({"rows": len(multi), "cats": cats, "same_labels": same_labels}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("start_method", ["spawn", "fork"])
def test_nlp_pipe_with_two_processes_equals_one(tiny_model: str, tmp_path: Path, start_method: str) -> None:
    script = tmp_path / "pipe_with_workers.py"
    script.write_text(textwrap.dedent(_PIPE_WITH_WORKERS), encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "2"}
    with subprocess.Popen(
        [sys.executable, str(script), start_method, tiny_model],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True,
    ) as process:  # fmt: skip
        try:
            stdout, stderr = process.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            pytest.fail(f"nlp.pipe(n_process=2) under {start_method} timed out (a hang)")
    assert process.returncode == 0, stderr[-4000:]
    result = json.loads(stdout.strip().splitlines()[-1])
    assert result["rows"] == 16 and result["same_labels"] is True
    # Float32; workers batch other Docs together than one process does, and padding may move the last bits.
    assert result["cats"] < 1e-5
