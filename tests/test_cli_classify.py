"""``spacy-goemotions classify``: formats, values, bad input, atomic output, kill-and-resume, memory."""

from __future__ import annotations

import csv
import gzip
import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from conftest import shared_file

from spacy_goemotions import GOEMOTIONS_LABELS, EmotionClassifier
from spacy_goemotions.cli import main
from spacy_goemotions.core.table import TableOptions
from spacy_goemotions.files import FileJob, Interrupted, classify_file, detect_format, output_paths

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

# "" is a missing text (an empty field); "NA", "null", "None" and "n/a" are texts.
TEXTS: list[str] = [
    "Thank you so much, this made my day!", "", "NA", "Why would anyone do that? I am so confused.", "null",
    'He said "stop", then left.\nA second line.', "tab\tinside", "None", "That is hilarious lol 😂", "  ",
    "I'm sorry for your loss, that is so sad.", "n/a", "Ok.",
]  # fmt: skip
SUBPROCESS_TIMEOUT = 240


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Any:
    """One torch thread here and in the subprocesses: their scores are then bitwise comparable with this
    process's, and tiny batches do not stall on OpenMP threads competing for a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def clf(tiny_model: str) -> EmotionClassifier:
    return EmotionClassifier(tiny_model, dtype="float32", progress=False)


def expected(clf: EmotionClassifier, texts: list[str | None], threshold: float = 0.5) -> tuple[np.ndarray, list[list[str]]]:
    scores = clf.scores(texts)
    return scores, clf.select(scores, clf.policy(threshold))


def records(texts: list[str]) -> list[dict[str, Any]]:
    return [{"id": f"r{i}", "text": text or None, "n": i} for i, text in enumerate(texts)]


def write_input(path: Path, rows: list[dict[str, Any]]) -> Path:
    fmt, gz = detect_format(str(path))
    if fmt == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=4)
        return path
    opener: Any = gzip.open if gz else open
    with opener(path, "wt", encoding="utf-8", newline="") as handle:
        if fmt == "jsonl":
            handle.writelines(json.dumps(row) + "\n" for row in rows)
        else:
            writer = csv.writer(handle, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
            writer.writerow(list(rows[0]))
            writer.writerows([["" if value is None else value for value in row.values()] for row in rows])
    return path


def read_output(
    path: Path, labels_column: str = "emotions", prefix: str = ""
) -> tuple[list[dict[str, Any]], np.ndarray, list[list[str]]]:
    """Kept columns per row, the score matrix (float32) and the label lists of an output file."""
    fmt, gz = detect_format(str(path))
    score_names = [prefix + name for name in GOEMOTIONS_LABELS]
    if fmt == "parquet":
        rows = pq.read_table(path).to_pylist()
    else:
        opener: Any = gzip.open if gz else open
        with opener(path, "rt", encoding="utf-8", newline="") as handle:
            if fmt == "jsonl":
                rows = [json.loads(line) for line in handle]
            else:
                rows = list(csv.DictReader(handle, delimiter="," if fmt == "csv" else "\t"))
                for row in rows:
                    row[labels_column] = row[labels_column].split(",") if row[labels_column] else []
                    for name in score_names:
                        row[name] = float(row[name]) if row[name] != "" else None
    scores = np.array([[np.nan if row[name] is None else row[name] for name in score_names] for row in rows], dtype=np.float32)
    kept = [{key: value for key, value in row.items() if key not in score_names and key != labels_column} for row in rows]
    return kept, scores.reshape(len(rows), len(score_names)), [row[labels_column] for row in rows]


def cli(*args: str) -> int:
    return main(["classify", *args])


def base_args(tiny_model: str) -> list[str]:
    return ["--model", tiny_model, "--dtype", "float32", "--no-progress"]


def child_env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}


# --- formats and values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "target"),
    [("in.csv", "out.csv"), ("in.tsv", "out.tsv"), ("in.jsonl", "out.jsonl"), ("in.parquet", "out.parquet"),
     ("in.csv.gz", "out.jsonl.gz"), ("in.jsonl.gz", "out.tsv.gz"), ("in.tsv", "out.parquet"), ("in.parquet", "out.csv")],
)  # fmt: skip
def test_every_format_gives_the_core_scores_in_row_order(
    tmp_path: Path, tiny_model: str, clf: EmotionClassifier, source: str, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = records(TEXTS)
    write_input(tmp_path / source, rows)
    assert (
        cli(
            str(tmp_path / source),
            "-o",
            str(tmp_path / target),
            "--text-column",
            "text",
            "--id-column",
            "id",
            *base_args(tiny_model),
        )
        == 0
    )
    kept, scores, labels = read_output(tmp_path / target)
    want_scores, want_labels = expected(clf, [text or None for text in TEXTS])
    assert [row["id"] for row in kept] == [row["id"] for row in rows]
    tabular_text = detect_format(target)[0] in ("csv", "tsv")  # CSV has no null: a missing value is an empty field
    assert [row["text"] for row in kept] == [text if tabular_text else text or None for text in TEXTS]
    np.testing.assert_array_equal(scores, want_scores)  # exact: floats are written in their shortest float32 form
    assert labels == want_labels
    assert np.isnan(scores[1]).all() and labels[1] == []  # the empty field
    assert not np.isnan(scores[[2, 4, 7, 11]]).any()  # "NA", "null", "None", "n/a" are texts
    summary = capsys.readouterr().err
    assert f"{len(TEXTS)} rows in, {len(TEXTS)} rows out, 1 missing" in summary
    assert not output_paths(tmp_path / target).checkpoint.exists()
    assert not output_paths(tmp_path / target).partial.exists()


def test_na_strings_are_text_in_every_column(tmp_path: Path, tiny_model: str, clf: EmotionClassifier) -> None:
    (tmp_path / "in.csv").write_text("id,text\nNA,NA\nnull,null\n,\n", encoding="utf-8")
    assert cli(str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.jsonl"), "--text-column", "text", "--id-column", "id",
               *base_args(tiny_model)) == 0  # fmt: skip
    kept, scores, _ = read_output(tmp_path / "out.jsonl")
    assert kept == [{"id": "NA", "text": "NA"}, {"id": "null", "text": "null"}, {"id": None, "text": None}]
    np.testing.assert_array_equal(scores, clf.scores(["NA", "null", None]))


def test_columns_prefix_threshold_and_top_k(tmp_path: Path, tiny_model: str, clf: EmotionClassifier) -> None:
    write_input(tmp_path / "in.parquet", records(TEXTS))
    out = tmp_path / "out.parquet"
    assert cli(str(tmp_path / "in.parquet"), "-o", str(out), "--text-column", "text", "--all-columns", "--prefix", "emo_",
               "--labels-column", "labels", "--threshold", "0.3", "--top-k", "2", *base_args(tiny_model)) == 0  # fmt: skip
    table = pq.read_table(out)
    assert table.column_names == ["id", "text", "n", *[f"emo_{name}" for name in GOEMOTIONS_LABELS], "labels"]
    assert table.schema.field("n").type == pa.int64()  # Parquet keeps the input's types
    assert table.schema.field("emo_joy").type == pa.float32()
    scores = clf.scores([text or None for text in TEXTS])
    assert table.column("labels").to_pylist() == clf.select(scores, clf.policy(0.3, top_k=2))
    assert max(len(labels) for labels in table.column("labels").to_pylist()) == 2


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--text-column", "body"], "column(s) ['body'] not found"),
        (["--text-column", "text", "--keep-columns", "id,nope"], "['nope'] not found"),
        (["--text-column", "text", "--keep-columns", "joy"], "would appear twice"),
        (["--text-column", "text", "--threshold", "1.5"], "argument --threshold: must be a number in [0, 1]"),
        (["--text-column", "text", "--threshold", "no_such_preset"], "--threshold: expected a number in [0, 1], a preset"),
        (["--text-column", "text", "--chunk-rows", "0"], "error: --chunk-rows must be an integer >= 1"),
        (["--text-column", "text", "--format", "jsonl", "--resume", "-o", "-"], "cannot be resumed"),
    ],
)
def test_bad_options_fail_before_any_output(tmp_path: Path, tiny_model: str, arguments: list[str], message: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    (tmp_path / "in.csv").write_text("id,text,joy\n1,hello,x\n", encoding="utf-8")
    expected_code = 1 if "not found" in message else 2  # a bad input file is 1, bad options 2
    assert cli(str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv"), *arguments, *base_args(tiny_model)) == expected_code
    assert message in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["in.csv"]


def test_unknown_output_extension_names_the_fix(tmp_path: Path, tiny_model: str, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in.csv").write_text("text\nhello\n", encoding="utf-8")
    assert cli(str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.xlsx"), "--text-column", "text", *base_args(tiny_model)) == 2
    assert "--format csv" in capsys.readouterr().err
    assert (
        cli(
            str(tmp_path / "in.csv"),
            "-o",
            str(tmp_path / "out.txt"),
            "--format",
            "tsv",
            "--text-column",
            "text",
            *base_args(tiny_model),
        )
        == 0
    )
    assert (tmp_path / "out.txt").read_text(encoding="utf-8").startswith("text\tadmiration\t")


def test_empty_and_header_only_inputs(tmp_path: Path, tiny_model: str, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    assert cli(str(tmp_path / "empty.csv"), "-o", str(tmp_path / "a.csv"), "--text-column", "text", *base_args(tiny_model)) == 1
    assert "empty" in capsys.readouterr().err
    (tmp_path / "header.csv").write_text("id,text\n", encoding="utf-8")
    assert cli(str(tmp_path / "header.csv"), "-o", str(tmp_path / "b.csv"), "--text-column", "text", *base_args(tiny_model)) == 0
    assert (tmp_path / "b.csv").read_text(encoding="utf-8") == "text," + ",".join(GOEMOTIONS_LABELS) + ",emotions\n"
    (tmp_path / "none.jsonl").write_bytes(b"\n")
    assert (
        cli(str(tmp_path / "none.jsonl"), "-o", str(tmp_path / "c.parquet"), "--text-column", "text", *base_args(tiny_model)) == 0
    )
    assert pq.read_table(tmp_path / "c.parquet").num_rows == 0


# --- bad input ------------------------------------------------------------------------------------

BAD_CSV = (
    "id,text\n"          # line 1
    "1,fine\n"           # line 2
    '2,"two\nlines"\n'   # lines 3-4: a quoted newline, not an error
    "3,too,many\n"       # line 5: 3 fields
    '4,"bad"quote\n'     # line 6: a quote in the wrong place
    "5,last\n"           # line 7
)  # fmt: skip


@pytest.mark.parametrize("gz", [False, True])
def test_malformed_csv_line_is_an_error_with_its_line_number(tmp_path: Path, tiny_model: str, gz: bool,
                                                             capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    source = tmp_path / ("in.csv.gz" if gz else "in.csv")
    source.write_bytes(gzip.compress(BAD_CSV.encode()) if gz else BAD_CSV.encode())
    assert cli(str(source), "-o", str(tmp_path / "out.csv"), "--text-column", "text", *base_args(tiny_model)) == 1
    err = capsys.readouterr().err
    assert "line 5: expected 2 fields (the header's), saw 3" in err
    assert "--on-bad-lines skip" in err
    assert not (tmp_path / "out.csv").exists()


def test_malformed_lines_are_skipped_and_counted(tmp_path: Path, tiny_model: str, clf: EmotionClassifier,
                                                 capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    (tmp_path / "in.csv").write_text(BAD_CSV, encoding="utf-8")
    assert cli(str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv"), "--text-column", "text", "--id-column", "id",
               "--on-bad-lines", "skip", *base_args(tiny_model)) == 0  # fmt: skip
    kept, scores, _ = read_output(tmp_path / "out.csv")
    assert [row["id"] for row in kept] == ["1", "2", "5"]
    np.testing.assert_array_equal(scores, clf.scores(["fine", "two\nlines", "last"]))
    assert "5 rows in, 3 rows out, 0 missing, 0 repaired, 0 undecodable bytes replaced, 2 skipped" in capsys.readouterr().err


def test_bad_jsonl_lines(tmp_path: Path, tiny_model: str, clf: EmotionClassifier, capsys: pytest.CaptureFixture[str]) -> None:
    lines = ['{"id": 1, "text": "fine"}', "", "{not json", "[1, 2]", '{"id": 4, "text": 42}', '{"id": 5, "text": null}',
             '{"id": 6}', '{"id": 7, "text": "a\\ud800b"}']  # fmt: skip
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = [
        str(tmp_path / "in.jsonl"),
        "-o",
        str(tmp_path / "out.jsonl"),
        "--text-column",
        "text",
        "--id-column",
        "id",
        *base_args(tiny_model),
    ]
    assert cli(*args) == 1
    assert "line 3: invalid JSON" in capsys.readouterr().err
    assert cli(*args, "--on-bad-lines", "skip") == 0
    err = capsys.readouterr().err
    assert "7 rows in, 4 rows out, 2 missing, 1 repaired, 0 undecodable bytes replaced, 3 skipped, 1 blank lines ignored" in err
    kept, scores, labels = read_output(tmp_path / "out.jsonl")
    # The lone surrogate is repaired for scoring (and counted) but the kept text is written losslessly.
    assert kept == [{"id": 1, "text": "fine"}, {"id": 5, "text": None}, {"id": 6, "text": None}, {"id": 7, "text": "a\ud800b"}]
    np.testing.assert_array_equal(scores, clf.scores(["fine", None, None, "a\ufffdb"]))
    assert labels[1] == labels[2] == []


def test_undecodable_bytes_are_replaced_and_counted(tmp_path: Path, tiny_model: str, clf: EmotionClassifier,
                                                    capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    # A BOM, a Latin-1 "é", a lone continuation byte, and a genuine U+FFFD that must not be counted.
    (tmp_path / "in.csv").write_bytes(b"\xef\xbb\xbfid,text\n1,caf\xe9\n2,x\x80y \xef\xbf\xbd\n")
    assert cli(str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv"), "--text-column", "text", "--id-column", "id",
               *base_args(tiny_model)) == 0  # fmt: skip
    assert "2 undecodable bytes replaced" in capsys.readouterr().err
    kept, scores, _ = read_output(tmp_path / "out.csv")
    assert kept == [{"id": "1", "text": "caf\ufffd"}, {"id": "2", "text": "x\ufffdy \ufffd"}]
    np.testing.assert_array_equal(scores, clf.scores(["caf\ufffd", "x\ufffdy \ufffd"]))


@pytest.mark.slow
def test_stdin_to_stdout_is_jsonl(tmp_path: Path, tiny_model: str, clf: EmotionClassifier) -> None:
    lines = "".join(json.dumps({"text": text or None, "k": i}) + "\n" for i, text in enumerate(TEXTS))
    done = subprocess.run([sys.executable, "-m", "spacy_goemotions", "classify", "-", "-o", "-", "--text-column", "text",
                           "--keep-columns", "k", "--chunk-rows", "5", *base_args(tiny_model)],
                          input=lines.encode(), capture_output=True, timeout=SUBPROCESS_TIMEOUT, env=child_env())  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    rows = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [row["k"] for row in rows] == list(range(len(TEXTS)))
    chunks = [[text or None for text in TEXTS[i : i + 5]] for i in range(0, len(TEXTS), 5)]
    want = np.concatenate([clf.scores(chunk) for chunk in chunks])
    got = np.array([[np.nan if row[name] is None else row[name] for name in GOEMOTIONS_LABELS] for row in rows], dtype=np.float32)
    np.testing.assert_array_equal(got, want)
    assert b"13 rows in, 13 rows out, 1 missing" in done.stderr


def test_gzip_output_is_one_member_per_chunk_and_decompresses_to_the_plain_output(tmp_path: Path, tiny_model: str) -> None:
    write_input(tmp_path / "in.csv", records(TEXTS))
    for name in ("out.csv", "out.csv.gz"):
        assert cli(str(tmp_path / "in.csv"), "-o", str(tmp_path / name), "--text-column", "text", "--chunk-rows", "4",
                   *base_args(tiny_model)) == 0  # fmt: skip
    compressed = (tmp_path / "out.csv.gz").read_bytes()
    assert gzip.decompress(compressed) == (tmp_path / "out.csv").read_bytes()
    assert compressed.count(b"\x1f\x8b\x08") >= 4  # 4 chunks: 4 members (the first with the header)


# --- atomic output and resume -----------------------------------------------------------------------


def many_rows(n: int, vocabulary: int) -> list[dict[str, Any]]:
    words = "thank you so much love it why would anyone do that confused annoyed hilarious sorry loss sad wow ok".split()  # noqa: SIM905
    rng = np.random.default_rng(0)
    phrases = [" ".join(rng.choice(words, size=int(rng.integers(2, 12)))) for _ in range(vocabulary)]
    return [{"id": str(i), "text": None if i % 97 == 0 else phrases[i % vocabulary]} for i in range(n)]


@pytest.mark.parametrize(("source", "target"), [("in.csv", "out.csv"), ("in.csv.gz", "out.tsv.gz"), ("in.jsonl", "out.jsonl"),
                                                ("in.parquet", "out.parquet"), ("in.jsonl", "out.parquet")])  # fmt: skip
def test_interrupted_run_resumes_to_identical_bytes(tmp_path: Path, clf: EmotionClassifier, source: str, target: str) -> None:
    rows = many_rows(300, 40)
    write_input(tmp_path / source, rows)
    job: dict[str, Any] = {"text_column": "text", "id_column": "id", "chunk_rows": 64}
    options: dict[str, Any] = {"classifier": clf, "table": TableOptions(threshold=0.5)}
    classify_file(FileJob(str(tmp_path / source), str(tmp_path / f"ref-{target}"), **job), **options)
    out = tmp_path / target
    paths = output_paths(out)
    with pytest.raises(Interrupted) as stopped:
        classify_file(FileJob(str(tmp_path / source), str(out), **job), should_stop=lambda: True, **options)
    assert stopped.value.summary.counts.chunks == 1
    assert not out.exists() and paths.checkpoint.exists()
    if paths.partial.exists():  # a chunk that was being written when the process died: dropped on resume
        with open(paths.partial, "ab") as handle:
            handle.write(b"half a chunk")
    else:
        (paths.parts / "part-000001.parquet.tmp").write_bytes(b"half a part")
    calls = iter(range(100))
    with pytest.raises(Interrupted):
        classify_file(FileJob(str(tmp_path / source), str(out), **job), resume=True, should_stop=lambda: next(calls) == 1, **options)
    summary = classify_file(FileJob(str(tmp_path / source), str(out), **job), resume=True, **options)
    assert summary.resumed_from_row == 3 * 64
    assert summary.counts.rows_out == summary.counts.rows_in == 300 and summary.counts.missing == 4
    assert out.read_bytes() == (tmp_path / f"ref-{target}").read_bytes()
    assert not paths.checkpoint.exists() and not paths.partial.exists() and not paths.parts.exists()


def test_resume_refuses_a_changed_input_or_options_and_a_fresh_run_refuses_to_clobber(
    tmp_path: Path, tiny_model: str, clf: EmotionClassifier, capsys: pytest.CaptureFixture[str]
) -> None:
    write_input(tmp_path / "in.csv", many_rows(200, 30))
    out = tmp_path / "out.csv"
    with pytest.raises(Interrupted):
        classify_file(FileJob(str(tmp_path / "in.csv"), str(out), text_column="text", chunk_rows=50), classifier=clf,
                      should_stop=lambda: True)  # fmt: skip
    args = [str(tmp_path / "in.csv"), "-o", str(out), "--text-column", "text", "--chunk-rows", "50", *base_args(tiny_model)]
    assert cli(*args) == 2
    assert "Pass --resume to continue it" in capsys.readouterr().err
    assert cli(*args, "--threshold", "0.3", "--resume") == 2
    assert "policy.default: was 0.5, now 0.3" in capsys.readouterr().err
    with open(tmp_path / "in.csv", "a", encoding="utf-8") as handle:
        handle.write("999,appended later\n")
    assert cli(*args, "--resume") == 2
    assert "input.size" in capsys.readouterr().err
    assert not out.exists()


def _wait_for_checkpoint(process: subprocess.Popen[bytes], checkpoint: Path, chunks: int) -> dict[str, Any]:
    deadline = time.monotonic() + SUBPROCESS_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1].decode()
        try:
            state: dict[str, Any] = json.loads(checkpoint.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            state = {}
        if state.get("chunks", 0) >= chunks:
            return state
        time.sleep(0.01)
    raise AssertionError("no checkpoint in time")


KILL_ROWS = 2500


@pytest.fixture(scope="module")
def slow_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough chunks of distinct-enough texts that a run is still going when it is killed."""
    path = tmp_path_factory.mktemp("kill") / "in.csv.gz"
    return write_input(path, many_rows(KILL_ROWS, 400))


@pytest.mark.slow
@pytest.mark.parametrize("target", ["out.csv", "out.jsonl.gz"])
def test_sigkill_mid_run_then_resume_is_byte_identical(tmp_path: Path, tiny_model: str, slow_input: Path, target: str) -> None:
    out = tmp_path / target
    args = [
        str(slow_input),
        "-o",
        str(out),
        "--text-column",
        "text",
        "--id-column",
        "id",
        "--chunk-rows",
        "50",
        *base_args(tiny_model),
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "spacy_goemotions", "classify", *args], stderr=subprocess.PIPE, env=child_env()
    )
    try:
        state = _wait_for_checkpoint(process, output_paths(out).checkpoint, chunks=1)
        process.kill()
    finally:
        process.kill()
        process.communicate(timeout=SUBPROCESS_TIMEOUT)
    assert process.returncode == -signal.SIGKILL
    assert not out.exists(), "killed too late: the run had finished"
    assert state["counts"]["rows_out"] < KILL_ROWS
    assert cli(*args, "--resume") == 0
    assert cli(str(slow_input), "-o", str(tmp_path / f"ref-{target}"), *args[3:]) == 0
    assert out.read_bytes() == (tmp_path / f"ref-{target}").read_bytes()
    _, scores, _ = read_output(out)
    assert len(scores) == KILL_ROWS


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_sigint_stops_after_the_chunk_and_prints_the_resume_command(
    tmp_path: Path, tiny_model: str, slow_input: Path, signum: int
) -> None:
    out = tmp_path / "out.parquet"
    args = [
        str(slow_input),
        "-o",
        str(out),
        "--text-column",
        "text",
        "--chunk-rows",
        "50",
        "--threshold",
        "0.4",
        *base_args(tiny_model),
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "spacy_goemotions", "classify", *args], stderr=subprocess.PIPE, env=child_env()
    )
    try:
        _wait_for_checkpoint(process, output_paths(out).checkpoint, chunks=1)
        process.send_signal(signum)
        _, stderr_bytes = process.communicate(timeout=SUBPROCESS_TIMEOUT)
    finally:
        process.kill()
    stderr = stderr_bytes.decode()
    assert process.returncode == 128 + signum, stderr
    assert "Resume with:" in stderr
    command = stderr.split("Resume with:\n", 1)[1].strip().splitlines()[0]
    words = shlex.split(command)
    assert words[:2] == ["spacy-goemotions", "classify"] and words[-1] == "--resume" and "0.4" in words
    state = json.loads(output_paths(out).checkpoint.read_text(encoding="utf-8"))
    assert 1 <= state["chunks"] < KILL_ROWS // 50 and not out.exists()
    assert main(words[1:]) == 0
    assert cli(str(slow_input), "-o", str(tmp_path / "ref.parquet"), *args[3:]) == 0
    assert out.read_bytes() == (tmp_path / "ref.parquet").read_bytes()


# --- a million rows -------------------------------------------------------------------------------

MEASURE = textwrap.dedent(
    """
    import json, resource, sys, time
    from spacy_goemotions.cli import main
    small, big, out, model = sys.argv[1:5]
    common = ["--text-column", "text", "--id-column", "id", "--model", model, "--dtype", "float32", "--no-progress"]
    assert main(["classify", small, "-o", out + ".small.csv", *common]) == 0
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    assert main(["classify", big, "-o", out, *common]) == 0
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"baseline_kib": baseline, "peak_kib": peak, "seconds": seconds}))
    """
)


@pytest.mark.slow
def test_a_million_row_csv_streams_in_bounded_memory(tmp_path: Path, tiny_model: str) -> None:
    n, vocabulary = 1_000_000, 200
    phrases = [f"phrase {i} thank you so much" if i % 3 else f"why would anyone do that {i}" for i in range(vocabulary)]
    big = tmp_path / "big.csv"
    with open(big, "w", encoding="utf-8") as handle:
        handle.write("id,text\n")
        handle.writelines(f"{i},{phrases[i % vocabulary] if i % 1000 else ''}\n" for i in range(n))
    small = tmp_path / "small.csv"
    small.write_text("id,text\n" + "".join(f"{i},{phrases[i % vocabulary]}\n" for i in range(20_000)), encoding="utf-8")
    out = tmp_path / "big-out.csv"
    done = subprocess.run([sys.executable, "-c", MEASURE, str(small), str(big), str(out), tiny_model],
                          capture_output=True, timeout=SUBPROCESS_TIMEOUT, env=child_env())  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    figures = json.loads(done.stdout.decode().strip().splitlines()[-1])
    growth_mib = (figures["peak_kib"] - figures["baseline_kib"]) / 1024
    rate = n / figures["seconds"]
    peak_mib = figures["peak_kib"] / 1024
    print(f"1M rows: {figures['seconds']:.1f} s, {rate:,.0f} rows/s, peak RSS {peak_mib:.0f} MiB, growth {growth_mib:.0f} MiB")
    assert "1,000,000 rows in, 1,000,000 rows out, 1,000 missing" in done.stderr.decode()
    with open(out, "rb") as handle:
        lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
    assert lines == n + 1
    # The input is 20 MB and the output ~300 MB: holding either would show here.
    assert growth_mib < 150


@pytest.mark.slow
def test_real_reddit_csv_reads_like_pandas(tmp_path: Path, tiny_model: str) -> None:
    """10,000 real Reddit comments (quotes, newlines, emoji): every row and text arrives intact and in order."""
    import pandas as pd

    source = shared_file("data", "reddit", "random_sample_10k.csv.gz")
    out = tmp_path / "out.jsonl"
    args = ["--text-column", "body", "--id-column", "id", "--max-length", "16", *base_args(tiny_model)]
    assert cli(str(source), "-o", str(out), *args) == 0
    kept, scores, _ = read_output(out)
    reference = pd.read_csv(source, dtype=str, keep_default_na=False)
    assert [row["id"] for row in kept] == reference["id"].tolist()
    assert [row["body"] for row in kept] == reference["body"].tolist()
    assert not np.isnan(scores).any()


@pytest.mark.parametrize(("source", "unit"), [("in.csv.gz", "B"), ("in.parquet", "row")])
def test_progress_bar_shows_rows_per_second(
    tmp_path: Path, clf: EmotionClassifier, source: str, unit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write_input(tmp_path / source, many_rows(120, 10))
    classify_file(FileJob(str(tmp_path / source), str(tmp_path / "out.csv"), text_column="text", chunk_rows=50),
                  classifier=clf, table=TableOptions(threshold=0.5), progress=True)  # fmt: skip
    bar = capsys.readouterr().err.strip().split("\r")[-1]  # the final state of the bar
    assert bar.startswith("classify: 100%") and "120 rows" in bar and "rows/s" in bar
    total = (tmp_path / source).stat().st_size if unit == "B" else 120  # bytes on disk (compressed) or rows
    assert f"{total}/{total}" in bar


def test_without_pyarrow_scores_are_formatted_by_numpy_with_the_same_values(
    tmp_path: Path, tiny_model: str, clf: EmotionClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spacy_goemotions.files import rendering

    write_input(tmp_path / "in.csv", records(TEXTS))
    monkeypatch.setattr(rendering, "has_pyarrow", lambda: False)
    for name in ("out.csv", "out.jsonl"):
        assert cli(str(tmp_path / "in.csv"), "-o", str(tmp_path / name), "--text-column", "text", *base_args(tiny_model)) == 0
        _, scores, labels = read_output(tmp_path / name)
        want_scores, want_labels = expected(clf, [text or None for text in TEXTS])
        np.testing.assert_array_equal(scores, want_scores)
        assert labels == want_labels
    with open(tmp_path / "out.csv", encoding="utf-8", newline="") as handle:
        fields = [row[1:-1] for row in list(csv.reader(handle))[1:]]  # the score fields, as written
    want_text = want_scores.astype(str)
    want_text[np.isnan(want_scores)] = ""
    assert fields == want_text.tolist()  # numpy's shortest float32 form ("1e-05", "1.0")
