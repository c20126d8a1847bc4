"""Emotion groupings: the built-in taxonomies equal the GoEmotions files, groups score as the max of their
members, every integration adds the same group columns, and evaluation at group level equals scikit-learn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import spacy
from conftest import SHARED_DIR
from sklearn.metrics import f1_score, precision_recall_fscore_support

import spacy_goemotions
from spacy_goemotions import GOEMOTIONS_LABELS, ConfigurationError, EmotionClassifier
from spacy_goemotions.cli import main as cli_main
from spacy_goemotions.core.taxonomies import Taxonomy, available_taxonomies, load_taxonomy, taxonomies

PACKAGE_DATA = Path(spacy_goemotions.__file__).parent / "data"
TEXTS = ["I am so angry and annoyed at this", None, "Thank you so much, I love it!", "Why would anyone do that?", "ok"]


@pytest.mark.parametrize(("name", "file"), [("ekman", "ekman_mapping.json"), ("sentiment", "sentiment_dict.json")])
def test_built_in_taxonomies_are_the_goemotions_files_plus_neutral(name: str, file: str) -> None:
    mapping = json.loads((PACKAGE_DATA / file).read_text(encoding="utf-8"))
    taxonomy = load_taxonomy(name)
    assert {group: list(members) for group, members in taxonomy.groups.items()} == {**mapping, "neutral": ["neutral"]}
    members = [label for group in taxonomy.groups.values() for label in group]
    assert sorted(members) == sorted(GOEMOTIONS_LABELS) and len(members) == 28  # every label in exactly one group
    shared = SHARED_DIR / "data" / "goemotions" / file
    if shared.exists():  # the package copy is the GoEmotions release's file, unmodified
        assert (PACKAGE_DATA / file).read_bytes() == shared.read_bytes()


def test_a_group_scores_the_maximum_of_its_members_and_is_gold_when_any_member_is() -> None:
    taxonomy = load_taxonomy("ekman")
    rng = np.random.default_rng(0)
    scores = rng.random((6, 28), dtype=np.float32)
    scores[2] = np.nan
    gold = (rng.random((6, 28)) > 0.9).astype(np.uint8)
    group_scores, group_gold = taxonomy.scores(scores, GOEMOTIONS_LABELS), taxonomy.gold(gold, GOEMOTIONS_LABELS)
    for g, (group, members) in enumerate(taxonomy.groups.items()):
        columns = [GOEMOTIONS_LABELS.index(m) for m in members]
        for row in (0, 1, 3, 4, 5):
            assert group_scores[row, g] == max(scores[row, c] for c in columns), group
            assert group_gold[row, g] == int(any(gold[row, c] for c in columns))
        assert np.isnan(group_scores[2, g])
    assert group_scores.dtype == np.float32 and group_gold.dtype == np.uint8


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"a": ["joy", "happiness"], "b": [x for x in GOEMOTIONS_LABELS if x != "joy"]}, r"label\(s\) \['happiness'\]"),
        ({"a": list(GOEMOTIONS_LABELS), "b": ["joy"]}, r"in several: \{'joy': \['a', 'b'\]\}"),
        ({"a": list(GOEMOTIONS_LABELS), "b": []}, r"Group 'b' .* must list at least one label"),
        ({"a": [x for x in GOEMOTIONS_LABELS if x not in ("grief", "pride")]},
         r"leaves label\(s\) \['grief', 'pride'\] in no group.*other"),
    ],
)  # fmt: skip
def test_bad_taxonomies_fail_naming_the_offenders(mapping: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Taxonomy.from_mapping("mine", mapping)


def test_taxonomies_come_from_names_files_or_the_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import catalogue

    monkeypatch.setattr(catalogue, "REGISTRY", dict(catalogue.REGISTRY))  # the taxonomy must not outlive this test
    file = tmp_path / "support.json"
    file.write_text(json.dumps({"upset": ["anger", "annoyance", "disappointment"], "other": [
        x for x in GOEMOTIONS_LABELS if x not in ("anger", "annoyance", "disappointment")]}), encoding="utf-8")  # fmt: skip
    assert load_taxonomy(str(file)).name == "support" and load_taxonomy(file).group_names == ("upset", "other")

    @taxonomies.register("polarity-test")  # type: ignore[untyped-decorator]
    def polarity() -> dict[str, list[str]]:
        return {"neutral": ["neutral"], "emotional": [x for x in GOEMOTIONS_LABELS if x != "neutral"]}

    assert "polarity-test" in available_taxonomies() and load_taxonomy("polarity-test").source == "registry"
    with pytest.raises(ConfigurationError, match=r"Unknown taxonomy 'plutchik'. Choose one of \[.*'ekman'"):
        load_taxonomy("plutchik")
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_taxonomy(str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not valid JSON"):
        load_taxonomy(str(tmp_path / "bad.json"))
    with pytest.raises(ConfigurationError, match="taxonomy must be a name"):
        load_taxonomy(3)  # type: ignore[arg-type]


def test_pandas_adds_group_scores_and_selected_groups(tiny_model: str) -> None:
    frame = pd.DataFrame({"text": TEXTS}, dtype=object)
    out = frame.emotions.classify("text", model=tiny_model, dtype="float32", prefix="e_", taxonomy=["ekman", "sentiment"],
                                  group_threshold={"joy": 0.3, "negative": 0.6}, group_top_k=2)  # fmt: skip
    scores = out[[f"e_{label}" for label in GOEMOTIONS_LABELS]].to_numpy()
    for name in ("ekman", "sentiment"):
        taxonomy = load_taxonomy(name)
        columns = [f"e_{name}_{group}" for group in taxonomy.groups]
        assert all(out[c].dtype == np.float32 for c in columns)
        np.testing.assert_array_equal(out[columns].to_numpy(), taxonomy.scores(scores, GOEMOTIONS_LABELS))
        cutoffs = {group: {"joy": 0.3, "negative": 0.6}.get(group, 0.5) for group in taxonomy.groups}
        for row, chosen in enumerate(out[name]):
            values = dict(zip(taxonomy.groups, out.loc[row, columns], strict=True))
            passing = sorted((g for g in taxonomy.groups if values[g] >= cutoffs[g]), key=lambda g: -values[g])[:2]
            assert chosen == passing
    assert out.loc[1, "ekman"] == [] and np.isnan(out.loc[1, "e_ekman_joy"])
    assert list(out.columns[-3:]) == ["emotions", "ekman", "sentiment"]


def test_group_options_are_validated(tiny_model: str) -> None:
    frame = pd.DataFrame({"text": ["hi"], "ekman": [1]})
    with pytest.raises(ValueError, match=r"\['ekman'\] already exist"):
        frame.emotions.classify("text", model=tiny_model, taxonomy="ekman")
    with pytest.raises(ConfigurationError, match=r"group_threshold names group\(s\) \['happy'\]"):
        frame[["text"]].emotions.classify("text", model=tiny_model, taxonomy="ekman", group_threshold={"happy": 0.2})
    with pytest.raises(ConfigurationError, match="does not apply to groups"):
        frame[["text"]].emotions.classify("text", model=tiny_model, taxonomy="ekman", group_threshold="tuned")
    with pytest.raises(ConfigurationError, match="share a name"):
        frame[["text"]].emotions.classify("text", model=tiny_model, taxonomy=["ekman", "ekman"])


def test_dask_and_ray_add_the_same_group_columns(tiny_model: str) -> None:
    dd = pytest.importorskip("dask.dataframe")
    import spacy_goemotions.integrations.dask  # noqa: F401

    frame = pd.DataFrame({"text": TEXTS}, dtype=object)
    options: dict[str, Any] = {"model": tiny_model, "dtype": "float32", "taxonomy": "sentiment"}
    expected = frame.emotions.classify("text", **options)
    import dask

    with dask.config.set({"dataframe.convert-string": False}):  # keep the object column as pandas has it
        lazy = dd.from_pandas(frame, npartitions=2, sort=False).emotions.classify("text", **options)
        pd.testing.assert_frame_equal(lazy.compute(scheduler="sync"), expected)
    ray_module = pytest.importorskip("spacy_goemotions.integrations.ray")
    pd.testing.assert_frame_equal(ray_module.EmotionPredictor("text", **options)(frame), expected)


def test_the_spacy_component_writes_groups_on_docs_and_sentences_and_saves_them(tiny_model: str, tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("goemotions", config={"model": tiny_model, "dtype": "float32", "per_sentence": True,
                                       "taxonomy": ["ekman", "sentiment"], "group_threshold": 0.3})  # fmt: skip
    doc = nlp("I am so angry. Thank you so much!")
    taxonomy = load_taxonomy("ekman")
    scores = np.array([[doc.cats[label] for label in GOEMOTIONS_LABELS]], dtype=np.float32)
    every = dict(zip(taxonomy.groups, taxonomy.scores(scores, GOEMOTIONS_LABELS)[0].tolist(), strict=True))
    np.testing.assert_allclose(list(doc._.emotion_group_scores["ekman"].values()), list(every.values()), atol=1e-6)
    assert list(doc._.emotion_groups["ekman"]) == sorted((g for g in every if every[g] >= 0.3), key=lambda g: -every[g])
    assert all(set(s._.emotion_groups) == {"ekman", "sentiment"} for s in doc.sents)
    nlp.to_disk(tmp_path / "pipeline")
    again = spacy.load(tmp_path / "pipeline")(doc.text)
    assert again._.emotion_groups == doc._.emotion_groups
    cfg = json.loads((tmp_path / "pipeline" / "goemotions" / "cfg").read_text())
    assert [item["name"] for item in cfg["taxonomies"]] == ["ekman", "sentiment"]


def test_the_classify_command_writes_the_pandas_group_columns(tiny_model: str, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    args = [str(source), "-o", str(out), "--text-column", "text", "--model", tiny_model, "--dtype", "float32",
            "--taxonomy", "ekman", "--taxonomy", "sentiment", "--group-threshold", "0.4", "--no-progress"]  # fmt: skip
    assert cli_main(["classify", *args]) == 0
    written = pd.read_json(out, lines=True, dtype=False)
    expected = pd.DataFrame({"text": TEXTS}, dtype=object).emotions.classify(
        "text", model=tiny_model, dtype="float32", taxonomy=["ekman", "sentiment"], group_threshold=0.4
    )
    assert list(written.columns) == list(expected.columns)
    for name in ("ekman", "sentiment"):
        assert written[name].tolist() == expected[name].tolist()
        columns = [c for c in expected.columns if c.startswith(f"{name}_")]
        np.testing.assert_allclose(written[columns].to_numpy(dtype=float), expected[columns].to_numpy(dtype=float), rtol=1e-6)


def _labelled(path: Path, n: int = 40) -> np.ndarray:
    rng = np.random.default_rng(3)
    words = ["thank", "you", "love", "angry", "sad", "why", "wow", "scared", "ok", "great"]
    gold = np.zeros((n, 28), dtype=np.uint8)
    rows = []
    for i in range(n):
        columns = sorted(set(rng.choice(28, size=int(rng.integers(1, 3))).tolist()))
        gold[i, columns] = 1
        rows.append(f"{' '.join(rng.choice(words, size=5))} {i}\t{','.join(map(str, columns))}\tid{i}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return gold


def test_evaluate_at_group_level_equals_scikit_learn(tiny_model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "test.tsv"
    gold = _labelled(data)
    assert cli_main(["evaluate", "--data", str(data), "--model", tiny_model, "--dtype", "float32", "--taxonomy", "ekman",
                     "--group-threshold", "0.4", "--format", "json"]) == 0  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    texts = [line.split("\t")[0] for line in data.read_text(encoding="utf-8").splitlines()]
    scores = EmotionClassifier(tiny_model, dtype="float32", progress=False).scores(texts)
    taxonomy = load_taxonomy("ekman")
    group_scores, group_gold = taxonomy.scores(scores, GOEMOTIONS_LABELS), taxonomy.gold(gold, GOEMOTIONS_LABELS)
    tables = result["tables"]
    assert [t["name"] for t in tables] == ["ekman groups, threshold 0.5", "ekman groups, threshold 0.4"]
    for table, cutoff in zip(tables, (0.5, 0.4), strict=True):
        predicted = (group_scores >= cutoff).astype(int)
        precision, recall, f1, support = precision_recall_fscore_support(group_gold, predicted, average=None, zero_division=0)
        rows = {row["label"]: row for row in table["labels"]}
        assert list(rows) == list(taxonomy.groups)
        for g, group in enumerate(taxonomy.groups):
            assert rows[group]["f1"] == pytest.approx(f1[g]) and rows[group]["precision"] == pytest.approx(precision[g])
            assert rows[group]["recall"] == pytest.approx(recall[g]) and rows[group]["support"] == support[g]
        assert table["macro_avg"]["f1"] == pytest.approx(f1_score(group_gold, predicted, average="macro", zero_division=0))
        assert table["micro_avg"]["f1"] == pytest.approx(f1_score(group_gold, predicted, average="micro", zero_division=0))


def test_tune_thresholds_at_group_level_feeds_group_threshold(
    tiny_model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "dev.tsv"
    _labelled(data)
    out = tmp_path / "groups.json"
    assert (
        cli_main(["tune-thresholds", "--data", str(data), "--model", tiny_model, "--taxonomy", "sentiment", "-o", str(out)]) == 0
    )
    thresholds = json.loads(out.read_text())["thresholds"]
    assert set(thresholds) == {"positive", "negative", "ambiguous", "neutral"}
    assert "--taxonomy sentiment --group-threshold" in capsys.readouterr().err
    frame = pd.DataFrame({"text": ["Thank you!"]}).emotions.classify("text", model=tiny_model, taxonomy=["ekman", "sentiment"],
                                                                     group_threshold=str(out))  # fmt: skip
    assert "sentiment" in frame.columns  # one file may hold the groups of one taxonomy among several
