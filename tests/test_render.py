"""The visualizer: what each text shows, escaping of every user string, offline pages, and its entry points."""

from __future__ import annotations

import html as html_lib
import json
import re
import sys
import types
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import spacy

from spacy_goemotions import Explanation, explain, render
from spacy_goemotions.cli import main as cli_main
from spacy_goemotions.testing import build_tiny_model
from spacy_goemotions.visual.assets import SCRIPT
from spacy_goemotions.visual.palette import families, label_colour

TEXTS = ["Thank you so much, this made my day!", "Why would anyone do that? I am so confused and a bit annoyed.", "lol"]
ATTACKS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</div></section><b>bold</b>",
    "it's a 'quote' & an \"ampersand\" <!-- comment -->",
    "javascript:alert(1) //evil.example.com/x.js",
]
#: Every element the renderer writes; anything else in a page was injected.
OUR_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "div", "h1", "h2", "section", "p", "span", "button",
            "details", "summary", "ol", "li", "script"}  # fmt: skip
OUR_ATTRIBUTES = {"class", "style", "title", "data-a", "data-ge-explained", "type", "aria-pressed", "role", "aria-label",
                  "open", "lang", "charset", "name", "content"}  # fmt: skip


class Page(HTMLParser):
    """Every element, attribute and text node of an HTML document, as the browser's tokenizer sees them."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[str] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._inside: str | None = None
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._inside = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag: str) -> None:
        self._inside = None

    def handle_data(self, data: str) -> None:
        if self._inside == "script":
            self.scripts.append(data)
        elif self._inside == "style":
            self.styles.append(data)
        else:
            self.texts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.texts)


@pytest.fixture(scope="module")
def hostile_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A model whose label names try to break out of attributes and elements."""
    labels = ['jo"y', "<b>anger</b>", "x' onmouseover='alert(1)", "neutral"]
    return str(build_tiny_model(tmp_path_factory.mktemp("hostile") / "model", labels=labels))


def test_a_fragment_shows_each_text_its_top_scores_and_which_are_on(tiny_model: str) -> None:
    markup = render(TEXTS, model=tiny_model, dtype="float32", threshold=0.5, bars=3, jupyter=False)
    assert markup is not None and markup.startswith('<div class="ge-root"><style>') and "<!DOCTYPE" not in markup
    page = Page(markup)
    for text in TEXTS:
        assert text in page.text
    from spacy_goemotions import EmotionClassifier

    scores = EmotionClassifier(tiny_model, dtype="float32", progress=False).scores(TEXTS)
    sections = markup.split('<section class="ge-item"')[1:]
    labels = EmotionClassifier(tiny_model).labels
    for section, row in zip(sections, scores, strict=True):
        on = {labels[i] for i in np.flatnonzero(row >= 0.5)}
        shown_on = set(re.findall(r'<div class="ge-on"[^>]*><span class="ge-label" title="([^"]*)"', section))
        shown_off = set(re.findall(r'<div class="ge-off"[^>]*><span class="ge-label" title="([^"]*)"', section))
        top = {labels[i] for i in np.argsort(-row)[:3]}
        assert shown_on == on and shown_off == top - on  # the top 3, plus every label that is on
        for label in shown_on | shown_off:
            assert f"{row[labels.index(label)]:.2f}</span>" in section


def test_a_page_is_a_complete_document(tiny_model: str) -> None:
    markup = render(TEXTS[:1], model=tiny_model, page=True, title="My <report>", jupyter=False)
    assert markup is not None and markup.startswith("<!DOCTYPE html>") and markup.rstrip().endswith("</html>")
    assert "<title>My &lt;report&gt;</title>" in markup and '<meta charset="utf-8">' in markup


@pytest.mark.slow
def test_user_text_never_becomes_markup(hostile_model: str, tmp_path: Path) -> None:
    texts = [*ATTACKS, None]
    explanations = explain(ATTACKS[:2], model=hostile_model, top_k=3)
    markup = render([*texts, *explanations], model=hostile_model, page=True, summary=True, captions=[f'id "{i}" <i>' for i in
                    range(len(texts) + 2)], title="</title><script>alert(1)</script>", jupyter=False)  # fmt: skip
    assert markup is not None
    page = Page(markup)
    assert {tag for tag, _ in page.tags} <= OUR_TAGS
    assert [tag for tag, _ in page.tags].count("script") == 1 and page.scripts == [SCRIPT]
    for _, attributes in page.tags:
        assert set(attributes) <= OUR_ATTRIBUTES, attributes
        assert not any(name.startswith("on") for name in attributes)
    for attack in ATTACKS:
        assert attack in page.text  # shown as text, character for character
    for label in ['jo"y', "<b>anger</b>", "x' onmouseover='alert(1)"]:
        assert label in page.text
    assert "</title><script>alert(1)</script>" in page.text
    # explained words and their labels are text too; titles hold escaped labels only
    assert any(attributes.get("title", "").startswith(('jo"y', "<b>anger</b>", "x'")) for _, attributes in page.tags)


def test_the_page_references_nothing_outside_itself(tiny_model: str) -> None:
    markup = render([*TEXTS, *explain(TEXTS, model=tiny_model)], model=tiny_model, page=True, summary=True, jupyter=False)
    assert markup is not None
    page = Page(markup)
    for _, attributes in page.tags:
        assert not {"src", "href", "srcset", "action", "poster", "data"} & set(attributes)
        for value in attributes.values():
            assert not re.search(r"(https?:)?//", value or "")
    for code in page.styles + page.scripts:
        assert "url(" not in code and "@import" not in code and "//" not in code and "http" not in code
    assert "//" not in markup  # and not in text either, for these texts


def test_docs_are_shown_as_the_pipeline_scored_them_with_sentences(tiny_model: str) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("goemotions", config={"model": tiny_model, "dtype": "float32", "per_sentence": True, "explain": True,
                                       "threshold": {"joy": 0.0}})  # fmt: skip
    doc = nlp("I love it. Why is it broken? Thank you anyway.")
    markup = render(doc, jupyter=False, threshold=1.0)  # the Doc's own policy wins over the render's
    assert markup is not None
    assert re.search(r'<div class="ge-on"[^>]*><span class="ge-label" title="joy"', markup)
    assert "Per sentence (3)" in markup and all(s.text in markup for s in doc.sents)
    assert "data-ge-explained" in markup and markup.count('class="ge-switch"') == 1
    assert "threshold 1.0" not in markup  # the page does not claim a policy it did not apply
    unannotated = spacy.blank("en")("Thank you so much!")
    assert "Thank you so much!" in (render(unannotated, model=tiny_model, jupyter=False) or "")


def test_explanations_colour_words_for_the_first_label_and_carry_every_label(tiny_model: str) -> None:
    (explanation,) = explain(TEXTS[:1], model=tiny_model, top_k=3)
    assert explanation is not None
    markup = render(explanation, jupyter=False)
    assert markup is not None
    spans = re.findall(r'<span class="ge-w" data-a="([^"]*)" style="background:([^"]*)" title="([^"]*)">([^<]*)</span>', markup)
    assert [word for *_, word in spans] == [w.text for w in explanation.words]
    for n, (numbers, _, title, _) in enumerate(spans):
        values = [float(v) for v in numbers.split()]
        expected = [explanation.attributions[label][n] for label in explanation.labels]
        np.testing.assert_allclose(values, expected, rtol=1e-3, atol=1e-7)
        assert html_lib.unescape(title).startswith(explanation.labels[0] + " ")
    buttons = re.findall(r'<button type="button" aria-pressed="(true|false)">([^<]*)</button>', markup)
    assert buttons == [("true" if i == 0 else "false", label) for i, label in enumerate(explanation.labels)]


def test_missing_texts_are_shown_never_dropped_and_the_summary_counts_by_hand(tiny_model: str) -> None:
    texts = [TEXTS[0], None, TEXTS[1], None, TEXTS[2]]
    markup = render(texts, model=tiny_model, summary=True, threshold=0.5, jupyter=False)
    assert markup is not None and markup.count("missing text: no scores") == 2
    assert "3 texts scored, 2 missing" in markup
    from spacy_goemotions import EmotionClassifier

    classifier = EmotionClassifier(tiny_model, progress=False)
    on = classifier.select(classifier.scores(TEXTS), classifier.policy(0.5))
    summary = markup.split('<section class="ge-summary">')[1].split("</section>")[0]
    for label in {label for row in on for label in row}:
        share = sum(label in row for row in on) / 3
        assert re.search(rf'<span class="ge-label">{re.escape(label)}</span>.*?<span class="ge-val">{share:.0%}</span>', summary)


def test_jupyter_displays_inline_and_returns_none(tiny_model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[str] = []
    display = types.ModuleType("IPython.display")
    display.HTML = lambda markup: ("HTML", markup)  # type: ignore[attr-defined]
    display.display = lambda obj: shown.append(obj[1])  # type: ignore[attr-defined]
    ipython = types.ModuleType("IPython")

    class ZMQInteractiveShell:
        pass

    ipython.get_ipython = ZMQInteractiveShell  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    assert render(TEXTS[:1], model=tiny_model) is None  # jupyter=None: detected
    assert len(shown) == 1 and TEXTS[0] in shown[0]
    assert render(TEXTS[:1], model=tiny_model, jupyter=False) is not None


def test_labels_are_coloured_by_family() -> None:
    colours = {label: label_colour(label) for label in families()}
    assert len(set(colours.values())) == 28  # one colour per label

    def hue(label: str) -> float:
        return float(re.match(r"hsl\((\d+)", colours[label]).group(1))  # type: ignore[union-attr]

    assert all(18 <= hue(label) <= 52 for label, family in families().items() if family == "joy")
    assert all(200 <= hue(label) <= 236 for label, family in families().items() if family == "sadness")
    assert label_colour("some-other-label").startswith("hsl(")


def test_pandas_renders_a_reproducible_sample_in_row_order(tiny_model: str) -> None:
    frame = pd.DataFrame({"body": [f"text number {i}" for i in range(50)]}, index=[f"r{i}" for i in range(50)])
    markup = frame.emotions.render("body", n=5, model=tiny_model, jupyter=False)
    assert markup is not None and markup == frame.emotions.render("body", n=5, model=tiny_model, jupyter=False)
    captions = re.findall(r"row &#x27;(r\d+)&#x27;", markup)
    assert len(captions) == 5 and captions == sorted(captions, key=lambda c: int(c[1:]))
    assert "How often each emotion is on" in markup
    with pytest.raises(KeyError, match="'text' not found"):
        frame.emotions.render("text", model=tiny_model)


def test_the_render_command_writes_one_offline_page(tiny_model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.csv"
    pd.DataFrame({"id": ["a", "b", "c", "d"], "body": [TEXTS[0], "", ATTACKS[0], TEXTS[2]]}).to_csv(source, index=False)
    out = tmp_path / "report.html"
    args = [str(source), "--text-column", "body", "--id-column", "id", "-o", str(out), "--model", tiny_model, "--limit", "3"]
    assert cli_main(["render", *args, "--explain"]) == 0
    assert "3 texts with explanations" in capsys.readouterr().err
    page = Page(out.read_text(encoding="utf-8"))
    assert "id a" in page.text and "id c" in page.text and "id d" not in page.text  # --limit
    assert ATTACKS[0] in page.text and "missing text" in page.text
    assert [tag for tag, _ in page.tags].count("script") == 1
    assert cli_main(["render", *args[:-2], "--limit", "0"]) == 2
    assert cli_main(["render", str(tmp_path / "in.csv"), "--text-column", "nope", "-o", str(out), "--model", tiny_model]) == 1
    assert "not found" in capsys.readouterr().err


def test_bad_arguments_fail_clearly(tiny_model: str) -> None:
    with pytest.raises(ValueError, match="bars must be an integer >= 1"):
        render(TEXTS, model=tiny_model, bars=0)
    with pytest.raises(ValueError, match="one caption per text"):
        render(TEXTS, model=tiny_model, captions=["only one"])
    with pytest.raises(TypeError, match="render takes"):
        render([3.5], model=tiny_model)


def test_explanations_saved_as_json_render_the_same(tiny_model: str) -> None:
    (explanation,) = explain(TEXTS[:1], model=tiny_model)
    assert explanation is not None
    again = Explanation.from_dict(json.loads(json.dumps(explanation.to_dict())))
    assert render(again, jupyter=False) == render(explanation, jupyter=False)


@pytest.mark.parametrize("dtype", [object, "string", "str"])
def test_a_column_with_missing_texts_renders_them_as_missing(tiny_model: str, dtype: object) -> None:
    import pandas as pd

    from spacy_goemotions import render

    column = pd.Series(["I love <b>this</b>", None, "why?", pd.NA if dtype != "str" else None], dtype=dtype)
    html = render(column, model=tiny_model, backend="torch", device="cpu", dtype="float32")
    assert isinstance(html, str)
    assert "&lt;b&gt;this&lt;/b&gt;" in html and "<b>this</b>" not in html  # user text escaped
    options = {"model": tiny_model, "backend": "torch", "device": "cpu", "dtype": "float32"}
    expected = render(["I love <b>this</b>", None, "why?", None], **options)
    assert html == expected  # NaN and pd.NA are missing texts, as None is
