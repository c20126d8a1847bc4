"""MkDocs hooks: the examples of the site run offline, in a scratch folder that holds the example files.

Every executed block (markdown-exec) runs in the build's process (Python) or a shell it starts (console),
with the working directory set to a fresh folder holding ``comments.csv`` and the other example inputs, so
that a page can say ``spacy-goemotions classify comments.csv ...`` as a user would. The folder is removed
after the build; the repository is never written to.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TOOLS = Path(__file__).resolve().parent
REPOSITORY = TOOLS.parents[1]
#: The files a page's examples may read, by the name they have in the scratch folder.
EXAMPLE_INPUTS = {
    "comments.csv": REPOSITORY / "examples" / "comments.csv",  # 8 short comments, column "text"
    "tickets.csv": TOOLS / "data" / "tickets.csv",  # 20 support tickets: id, created (a date), body; one empty
    "labelled.tsv": REPOSITORY / "tests" / "fixtures" / "goemotions_test_sample.tsv",  # GoEmotions test rows, gold labels
}

_state: dict[str, Any] = {}
log = logging.getLogger("mkdocs.hooks.examples")


def on_config(config: Any) -> Any:
    # Offline and quiet: no hub, no tokenizer thread pools after fork, no progress bars in captured output.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ["COLUMNS"] = "100"  # argparse wraps usage lines to the terminal: the same width on every machine
    os.environ["NO_MKDOCS_2_WARNING"] = "1"
    os.environ["ANSI_COLORS_DISABLED"] = "1"  # spaCy's CLI (wasabi) prints plain text into the pages
    os.environ["NO_COLOR"] = "1"
    # The console examples call the spacy-goemotions command of the Python that builds the site.
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    # Included files are found from the repository, whatever the working directory (the build moves it).
    config["mdx_configs"]["pymdownx.snippets"]["base_path"] = [str(REPOSITORY)]
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))  # the hidden blocks that generate tables import docgen
    return config


def on_pre_build(config: Any) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="spacy-goemotions-docs-"))
    for name, path in EXAMPLE_INPUTS.items():
        shutil.copy(path, workdir / name)
    _state["cwd"], _state["workdir"] = os.getcwd(), workdir
    os.chdir(workdir)


def on_post_build(config: Any) -> None:
    os.chdir(_state.pop("cwd", os.getcwd()))
    shutil.rmtree(_state.pop("workdir", ""), ignore_errors=True)


def on_build_error(error: Exception) -> None:
    on_post_build(None)


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    _state["page_started"] = time.perf_counter()
    return markdown


def on_page_content(html: str, page: Any, **kwargs: Any) -> str:
    # What each page's examples cost, so that a slow page is seen before it slows every build.
    log.info("%s: %.1f s", page.file.src_uri, time.perf_counter() - _state.pop("page_started", time.perf_counter()))
    return html
