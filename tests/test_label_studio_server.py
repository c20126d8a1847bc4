"""The annotation loop against a real Label Studio server: our labelling config and tasks go in through its API,
annotations are posted through its API, its JSON export comes back through ``import-annotations``, and the
DocBin holds exactly the posted annotations.

Label Studio's pins clash with ours, so it lives in a virtual environment of its own: CI installs it there and
names its command in ``LABEL_STUDIO_BIN`` (see .ci/run); elsewhere a ``label-studio`` on the PATH is used, and
without one the test is skipped with that reason. The server runs on 127.0.0.1 with SQLite in a temporary folder
and an API token given through its environment.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spacy_goemotions.cli import main
from spacy_goemotions.evaluation.datasets import read_dataset

pytestmark = pytest.mark.slow

#: Seconds the server may take to create its database and answer (about 60-90 s on 2 cores).
START_TIMEOUT = 300
TEXTS = [
    "Thank you so much for fixing this, you made my whole week!",
    "Why does the export button do nothing? I've clicked it ten times.",
    "lol that cat video is the funniest thing I've seen all year",
    "I'm really sorry to hear about your dog.",
    "This is the worst update ever, everything is broken.",
    "I'm so nervous about the interview tomorrow",
    "Wow, I did not expect that at all!",
    "I miss my grandmother every day.",
    "Great job on the release, proud of the team.",
    "Could you explain how the new pricing works?",
]


def label_studio_command() -> str | None:
    return os.environ.get("LABEL_STUDIO_BIN") or shutil.which("label-studio")


@dataclass
class Server:
    url: str
    token: str
    log: Path

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Authorization": f"Token {self.token}", "Content-Type": "application/json"}
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                text = response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{method} {path}: HTTP {error.code}: {error.read().decode('utf-8')[:1000]}") from None
        return json.loads(text) if text else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    command = label_studio_command()
    if command is None:
        pytest.skip("Label Studio is not installed: set LABEL_STUDIO_BIN to its command (CI installs it in its own venv)")
    folder = tmp_path_factory.mktemp("label-studio")
    port, token = free_port(), secrets.token_hex(20)
    environment = {
        **os.environ,
        "LABEL_STUDIO_BASE_DATA_DIR": str(folder / "data"),
        "LABEL_STUDIO_USERNAME": "ci@example.com",
        "LABEL_STUDIO_PASSWORD": secrets.token_hex(12),
        "LABEL_STUDIO_USER_TOKEN": token,
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        "DJANGO_DB": "sqlite",
    }
    log = folder / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [command, "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(port)],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=folder,
        )
    found = Server(f"http://127.0.0.1:{port}", token, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"Label Studio exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(found.url + "/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"Label Studio did not answer within {START_TIMEOUT} s:\n{log.read_text()[-3000:]}")
            time.sleep(2)
        yield found
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def choices(labels: list[str]) -> list[dict[str, Any]]:
    return [{"from_name": "emotions", "to_name": "text", "type": "choices", "value": {"choices": labels}}]


def test_label_studio_round_trip(server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    comments = tmp_path / "comments.csv"
    with comments.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["id", "text"], *([f"c{i}", text] for i, text in enumerate(TEXTS))])
    tasks_file, config_file = tmp_path / "tasks.json", tmp_path / "labels.xml"
    code = main(["sample", str(comments), "-o", str(tasks_file), "--id-column", "id", "-n", "10", "--config", str(config_file),
                 "--model", "goemotions-small", "--no-progress"])  # fmt: skip
    assert code == 0
    ours = json.loads(tasks_file.read_text(encoding="utf-8"))

    project = server.call("POST", "/api/projects", {"title": "emotions review", "label_config": config_file.read_text()})
    imported = server.call("POST", f"/api/projects/{project['id']}/import?return_task_ids=true", ours)
    assert imported["task_count"] == 10 and imported["prediction_count"] == 10
    listed = server.call("GET", f"/api/tasks?project={project['id']}&page_size=100&fields=all")
    in_server = {task["data"]["id"]: task for task in listed["tasks"]}
    for task in ours:  # Label Studio kept our data and predictions as we wrote them
        kept = in_server[task["data"]["id"]]
        assert kept["data"] == task["data"]
        assert kept["predictions"][0]["result"] == task["predictions"][0]["result"]

    expected: dict[str, list[str]] = {}
    for position, task in enumerate(ours):
        task_id, server_id = task["data"]["id"], in_server[task["data"]["id"]]["id"]
        predicted = task["predictions"][0]["result"]
        predicted_labels = predicted[0]["value"]["choices"] if predicted else []
        kind = position % 5
        if kind == 0:  # the pre-filled labels accepted as they are
            answer = predicted_labels
        elif kind == 1:  # corrected
            answer = ["curiosity", "joy"] if "curiosity" not in predicted_labels else ["anger"]
        elif kind == 2:  # no label applies
            answer = []
        elif kind == 3:  # skipped: left out
            server.call("POST", f"/api/tasks/{server_id}/annotations", {"result": [], "was_cancelled": True})
            continue
        else:  # two annotators who disagree: majority keeps what both chose
            server.call("POST", f"/api/tasks/{server_id}/annotations", {"result": choices(["sadness", "grief"])})
            answer = ["sadness"]
            server.call("POST", f"/api/tasks/{server_id}/annotations", {"result": choices(["sadness"])})
            expected[task_id] = answer
            continue
        server.call("POST", f"/api/tasks/{server_id}/annotations", {"result": choices(answer)})
        expected[task_id] = answer

    export = server.call("GET", f"/api/projects/{project['id']}/export?exportType=JSON&download_all_tasks=true")
    export_file = tmp_path / "export.json"
    export_file.write_text(json.dumps(export), encoding="utf-8")
    capsys.readouterr()
    code = main(["import-annotations", str(export_file), "--format", "label-studio", "-o", str(tmp_path / "train.spacy")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert (
        "left out: tasks skipped (every annotation cancelled): 2" in err and "conflicts: 2 tasks whose annotators disagree" in err
    )
    data = read_dataset(tmp_path / "train.spacy")
    assert data.labels[:3] == ("admiration", "amusement", "anger") and len(data.labels) == 28
    got = {
        identifier: sorted(np.array(data.labels)[row == 1].tolist()) for identifier, row in zip(data.ids, data.gold, strict=True)
    }
    assert got == {task_id: sorted(labels) for task_id, labels in expected.items()}
    texts = {task["data"]["id"]: task["data"]["text"] for task in ours}
    assert all(texts[identifier] == text for identifier, text in zip(data.ids, data.texts, strict=True))
