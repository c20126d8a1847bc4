"""The documentation site: every example runs, the strict build passes offline, and nothing loads from the network.

Examples run while the site builds (markdown-exec: ```` ```python exec="on" ```` and ```` ```console exec="on" ````),
so ``mkdocs build --strict`` fails on a failing example, a broken link or a docstring warning. The only code blocks
that do not run are the few commands the build cannot run (installing, building the site itself, benchmarks on
data users bring), each tested elsewhere: :data:`NOT_EXECUTED_COMMANDS` names them.
"""

from __future__ import annotations

import html.parser
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^(?P<indent> *)```(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```", re.MULTILINE | re.DOTALL)
#: Languages whose blocks are code a reader would run; each must be executed by the build.
RUNNABLE = {"python", "py", "console", "bash", "sh", "shell", "pycon"}
#: Shell commands shown but not run by the build, and where each is exercised instead.
NOT_EXECUTED_COMMANDS = (
    "pip install",  # .ci/run installs the package and its extras this way from scratch
    "mkdocs ",  # tests/test_docs_site.py builds the site
    "python -m pytest",  # the README's test command: what CI runs
    "python examples/pandas_quickstart.py",  # tests/test_examples.py
    "python benchmarks/",  # tests/test_benchmark_scripts.py runs every benchmark script on a tiny model
    "bash benchmarks/gpu.sh",  # needs a GPU machine; tests/test_benchmark_scripts.py runs the dry run of its gpu.py
    "python -m spacy init fill-config",  # tests/test_spacy_training.py: fill-config then spacy train, end to end
    "python -m spacy train",
    "python -m spacy find-threshold",  # tests/test_spacy_training.py, on the pipeline spacy train saved
    "python -m spacy project run finetune",  # tests/test_evaluation.py runs the project's workflows on a tiny model
    "python -m spacy project run review",
    "spacy-goemotions sample tickets.csv -o tasks.jsonl --format prodigy",  # tests/test_annotation_cli.py
    # annotation.md's one-screen summary of the loop; the page runs each of these steps below it
    "spacy-goemotions sample tickets.csv -o tasks.json --text-column body --id-column id -n 500 --config labels.xml",
    "spacy-goemotions import-annotations export.json --format label-studio -o train.spacy --dev dev.spacy",
    "spacy-goemotions evaluate --data dev.spacy --model training/model-last/goemotions/model",
    # distillation.md's summary with the real model (no hub here); the page runs the same command on the bundled model
    "spacy-goemotions distill --teacher cirimus/modernbert-base-go-emotions",
    "spacy-goemotions classify tickets.csv --text-column body --model student",
    "prodigy ",  # commercial: tests/test_annotation.py reads fixtures written from its documented formats
)


def doc_pages() -> list[Path]:
    return sorted(path for path in DOCS.rglob("*.md") if "_build_tools" not in path.parts)


def code_blocks(page: Path) -> list[tuple[str, str]]:
    return [(match["info"].strip(), match["body"]) for match in FENCE.finditer(page.read_text(encoding="utf-8"))]


def test_every_runnable_example_is_executed_by_the_build() -> None:
    pages = doc_pages()
    assert len(pages) >= 25, pages
    executed = 0
    problems = []
    for page in pages:
        for info, body in code_blocks(page):
            language = info.split()[0] if info else ""
            if language not in RUNNABLE:
                continue
            if 'exec="on"' in info:
                executed += 1
                continue
            commands = [line.strip() for line in body.splitlines() if line.strip() and not line.strip().startswith("#")]
            commands = [command for command in commands if not command.startswith(("\\", "--"))]  # continuation lines
            strays = [c for c in commands if not any(part.strip().startswith(NOT_EXECUTED_COMMANDS) for part in c.split("&&"))]
            if language not in {"bash", "sh", "shell"} or strays:
                problems.append(f"{page.relative_to(ROOT)}: a ```{info} block that the build does not run: {body[:120]!r}")
    assert not problems, "\n".join(problems)
    assert executed >= 60, executed


class _Resources(html.parser.HTMLParser):
    """Every URL an HTML page loads by itself (scripts, styles, images, frames, fonts), not the links a reader follows."""

    LOADING = {"script": "src", "img": "src", "iframe": "src", "source": "src", "video": "src", "audio": "src", "embed": "src"}

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in self.LOADING and values.get(self.LOADING[tag]):
            self.loaded.append(values[self.LOADING[tag]] or "")
        if tag == "link" and values.get("href") and "stylesheet" in (values.get("rel") or "") + " preload icon":
            self.loaded.append(values["href"] or "")
        if values.get("style") and "url(" in (values.get("style") or ""):
            self.loaded += re.findall(r"url\(([^)]*)\)", values["style"] or "")


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("mkdocs", reason="the docs extra (pip install -e '.[docs]') builds the site")
    site = tmp_path_factory.mktemp("site")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=900, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-6000:]
    return site


@pytest.mark.slow
def test_the_site_builds_strict_with_every_page(built_site: Path) -> None:
    pages = sorted(built_site.rglob("index.html"))
    assert len(pages) >= 25
    assert (built_site / "search" / "search_index.json").stat().st_size > 10_000  # search works offline
    reference = (built_site / "reference" / "classifier" / "index.html").read_text(encoding="utf-8")
    assert "EmotionClassifier" in reference and "_option(" not in reference
    cli = (built_site / "cli" / "index.html").read_text(encoding="utf-8")
    assert "--chunk-rows" in cli and "--on-bad-lines" in cli  # generated from the parsers


@pytest.mark.slow
def test_the_site_loads_nothing_from_the_network(built_site: Path) -> None:
    remote = re.compile(r"^\s*['\"]?(https?:)?//", re.IGNORECASE)
    found = []
    for page in built_site.rglob("*.html"):
        parser = _Resources()
        parser.feed(page.read_text(encoding="utf-8"))
        found += [f"{page.relative_to(built_site)}: {url}" for url in parser.loaded if remote.match(url)]
    for sheet in built_site.rglob("*.css"):
        urls = re.findall(r"url\(([^)]*)\)|@import\s+['\"]?([^'\";]+)", sheet.read_text(encoding="utf-8"))
        found += [f"{sheet.relative_to(built_site)}: {u or i}" for u, i in urls if remote.match(u or i)]
    assert not found, "\n".join(found[:20])


@pytest.mark.slow
def test_the_visualizer_is_embedded_live_and_escaped(built_site: Path) -> None:
    page = (built_site / "visualize" / "index.html").read_text(encoding="utf-8")
    assert page.count('class="ge-root"') >= 2 and 'class="ge-item"' in page


def test_the_readme_is_a_short_front_door() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = readme.splitlines()
    assert len(lines) <= 160, len(lines)
    first_screen = "\n".join(lines[:45])
    assert "pip install torch==2.13.0 && pip install -e . && python examples/pandas_quickstart.py" in first_screen
    assert 'pip install torch==2.13.0 && pip install -e ".[test]" && python -m pytest -q' in first_screen
    assert "mkdocs serve" in readme


def test_the_model_cards_example_runs() -> None:
    card = ROOT / "spacy_goemotions" / "models" / "goemotions-small" / "MODEL_CARD.md"
    blocks = [body for info, body in code_blocks(card) if info == "python"]
    assert blocks
    for body in blocks:
        namespace: dict[str, object] = {}
        exec(compile(body, str(card), "exec"), namespace)  # noqa: S102 (our own card's example)


def test_the_readmes_python_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    blocks = [body for info, body in code_blocks(ROOT / "README.md") if info == "python"]
    assert len(blocks) >= 2
    for body in blocks:
        exec(compile(body, "README.md", "exec"), {})  # noqa: S102 (our own README's examples)
