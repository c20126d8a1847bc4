"""The visualizer in a real browser: headless Chromium renders the page, the label switch works, nothing is blank.

Needs Chromium (Debian's ``chromium`` package; ``.ci/run`` installs it) and Pillow to read the screenshot;
each test skips with the reason where either is missing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from spacy_goemotions import explain, render

pytestmark = pytest.mark.slow  # long: outside the contributors' fast loop (pytest -m 'not slow')

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (apt-get install chromium)")
TEXTS = ["Thank you so much, this made my day!", "Why would anyone do that? I am so confused and a bit annoyed.", None]


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--disable-extensions"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def page(tiny_model: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    explanations = explain(TEXTS, model=tiny_model, top_k=3)
    markup = render([*TEXTS, *explanations], model=tiny_model, page=True, summary=True, title="Browser check", jupyter=False)
    assert markup is not None
    path = tmp_path_factory.mktemp("page") / "report.html"
    path.write_text(markup, encoding="utf-8")
    first = explanations[0]
    assert first is not None
    return path, list(first.labels)


@needs_chromium
def test_the_page_renders_and_is_not_blank(page: tuple[Path, list[str]], tmp_path: Path) -> None:
    image_module = pytest.importorskip("PIL.Image", reason="needs Pillow to read the screenshot")
    shot = tmp_path / "shot.png"
    done = chromium("--window-size=1000,1400", f"--screenshot={shot}", page[0].as_uri())
    assert shot.is_file(), done.stderr[-2000:]
    image = image_module.open(shot).convert("RGB")
    assert image.size == (1000, 1400)
    pixels = np.asarray(image).reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    assert counts.max() / len(pixels) < 0.95  # text, bars and colours cover the page, not one background
    assert len(colours) > 200  # many colours: bars and highlighted words were drawn


@needs_chromium
def test_the_dom_holds_the_texts_labels_and_a_working_label_switch(page: tuple[Path, list[str]], tmp_path: Path) -> None:
    path, labels = page
    # Click the second label of the first explained text once the page's own script has run.
    clicked = tmp_path / "clicked.html"
    click = "<script>document.querySelectorAll('.ge-item[data-ge-explained] .ge-switch button')[1].click();</script>"
    clicked.write_text(path.read_text(encoding="utf-8").replace("</body>", click + "</body>"), encoding="utf-8")
    dom = chromium("--dump-dom", clicked.as_uri()).stdout
    for text in TEXTS[:2]:
        assert text is not None and text in dom
    assert "missing text: no scores" in dom and "How often each emotion is on" in dom
    for label in labels:
        assert f">{label}</button>" in dom
    assert 'data-ge-ready="1"' in dom  # the script ran
    first = dom.split('data-ge-explained=""', 1)[1].split("</section>", 1)[0]
    assert f'aria-pressed="true">{labels[1]}</button>' in first and f'aria-pressed="false">{labels[0]}</button>' in first
    assert f'title="{labels[1]} ' in first and f'title="{labels[0]} ' not in first  # words now coloured for the second label
