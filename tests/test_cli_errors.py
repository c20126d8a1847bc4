"""One CLI error table: every command ends an error the same way, with the exit code of its type.

Each command runs in-process through ``spacy_goemotions.cli.main`` on the tiny model (torch on CPU).
"""

from __future__ import annotations

import pickle
import re
import shlex
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import spacy_goemotions.cli.stopping
from spacy_goemotions import GOEMOTIONS_LABELS
from spacy_goemotions.cli import EXIT_CODES, build_parser, command_parser, exit_code, main
from spacy_goemotions.cli.options import Flags
from spacy_goemotions.errors import (
    BadLineError,
    ConfigurationError,
    GoEmotionsError,
    InputError,
    InputNotFoundError,
    MissingExtraError,
    ModelLoadError,
)
from spacy_goemotions.evaluation.datasets import DatasetError

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("classify", "render", "evaluate", "tune-thresholds", "convert", "summarize")
#: The commands that load a model, and so take the classifier options and --batch-size.
SCORING = ("classify", "render", "evaluate", "tune-thresholds")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A labelled CSV (what every command but summarize reads) and a scored CSV (what summarize reads)."""
    folder = tmp_path_factory.mktemp("cli-errors")
    labelled = folder / "labelled.csv"
    pd.DataFrame({"id": ["a", "b"], "text": ["I love it", "so sad"], "labels": ["love", "sadness"]}).to_csv(labelled, index=False)
    scored = folder / "scored.csv"
    columns: dict[str, Any] = {"id": ["a", "b"], "text": ["I love it", "so sad"]}
    columns |= {label: [0.9 if label == "love" else 0.1, 0.8 if label == "sadness" else 0.1] for label in GOEMOTIONS_LABELS}
    pd.DataFrame({**columns, "emotions": ["love", "sadness"]}).to_csv(scored, index=False)
    return {"labelled": labelled, "scored": scored}


def argv(command: str, source: Path | str, out: Path, model: str, *extra: str) -> list[str]:
    """A command line of ``command`` that would succeed on ``source``, plus ``extra``."""
    scoring = ["--model", model, "--backend", "torch", "--device", "cpu", "--dtype", "float32"]
    words = {
        "classify": [str(source), "-o", str(out / "scored.csv"), "--text-column", "text", "--no-progress", *scoring],
        "render": [str(source), "-o", str(out / "report.html"), "--text-column", "text", *scoring],
        "evaluate": ["--data", str(source), *scoring],
        "tune-thresholds": ["--data", str(source), "-o", str(out / "thresholds.json"), *scoring],
        "convert": [str(source), str(out / "docs.spacy")],
        "summarize": [str(source)],
    }[command]
    return [command, *words, *extra]


def source_of(command: str, files: dict[str, Path]) -> Path:
    return files["scored" if command == "summarize" else "labelled"]


def run(capsys: pytest.CaptureFixture[str], words: list[str]) -> tuple[int, str, str]:
    code = main(words)
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str, command: str) -> str:
    """The one stderr line of an expected error, without its prefix (and no traceback)."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    prefix = f"spacy-goemotions {command}: error: "
    assert lines[0].startswith(prefix), err
    assert "Traceback" not in err
    return lines[0][len(prefix) :]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_missing_input_file_is_exit_code_1_and_one_line(
    command: str, files: dict[str, Path], tiny_model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.csv"
    code, out, err = run(capsys, argv(command, missing, tmp_path, tiny_model))
    assert code == 1 and out == ""
    message = one_line(err, command)
    assert str(missing) in message and "does not exist" in message


#: Per command: a column that the input lacks, named by the command's flag.
MISSING_COLUMN = {command: ["--text-column", "body"] for command in COMMANDS} | {"summarize": ["--by", "body"]}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_missing_column_is_exit_code_1_and_one_line_naming_it(
    command: str, files: dict[str, Path], tiny_model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, argv(command, source_of(command, files), tmp_path, tiny_model, *MISSING_COLUMN[command]))
    assert code == 1 and out == ""
    message = one_line(err, command)
    assert "'body'" in message and "text" in message  # the missing column, and the columns there are


@pytest.mark.parametrize("command", SCORING)
def test_a_bad_library_option_is_exit_code_2_and_says_the_flag(
    command: str, files: dict[str, Path], tiny_model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, argv(command, files["labelled"], tmp_path, tiny_model, "--batch-size", "0"))
    assert code == 2 and out == ""
    # ClassifierOptions says "batch_size must be ... Example: batch_size=256"; the command says its flag.
    assert one_line(err, command) == "--batch-size must be an integer >= 1, got 0. Example: --batch-size 256"
    assert "batch_size" not in err


#: Per command: a bad value that its own code or the library refuses (not argparse).
BAD_OPTION = {
    "classify": (["--chunk-rows", "0"], "--chunk-rows must be an integer >= 1, got 0. Example: --chunk-rows 10000"),
    "render": (["--dtype", "float64"], "Unknown dtype 'float64'. Choose one of auto, float32, bfloat16, float16, int8. "
                                       "Example: --dtype float32"),
    "evaluate": (["--predictions-out", "x.parquet"], "--predictions-out must end in .csv or .jsonl, got 'x.parquet'"),
    "tune-thresholds": (["--device", "tpu"], "Unknown device 'tpu'. Choose one of auto, cpu, cuda, cuda:N, mps. "
                                             "Example: --device cuda"),
    "convert": (["--lang", "zz"], "--lang 'zz' is no language spaCy knows"),
    "summarize": (["--prefix", "emo_"], "This frame lacks the column(s) ['emo_admiration', 'emo_amusement', 'emo_anger', "
                                        "'emo_annoyance', 'emo_approval']... of scored texts. Summarize what "
                                        "df.emotions.classify returned, with its --prefix and --labels-column"),
}  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
def test_a_bad_option_value_is_exit_code_2_and_one_line(
    command: str, files: dict[str, Path], tiny_model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra, expected = BAD_OPTION[command]
    code, out, err = run(capsys, argv(command, source_of(command, files), tmp_path, tiny_model, *extra))
    assert code == 2 and out == ""
    message = one_line(err, command)
    assert message.startswith(expected), message
    assert not re.search(r"\b(chunk_rows|dtype|device|prefix|labels_column)=", message), message


#: Command lines argparse refuses, each with the message that follows ``PROG: error: ``.
REFUSED = [
    (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),  # said by the main parser
    (["--input-format", "xlsx"], "argument --input-format: invalid choice: 'xlsx' "
                                 "(choose from 'csv', 'tsv', 'jsonl', 'parquet')"),
    (["--threshold", "nonsense"], "argument --threshold: expected a number in [0, 1], a preset (model_card, tuned) or a "
                                  "thresholds JSON file, got 'nonsense' (no such file)"),
    (["--threshold", "1.5"], "argument --threshold: must be a number in [0, 1] (scores are probabilities), got 1.5"),
    (["--top-k", "0"], "argument --top-k: must be an integer >= 1, got '0'"),
    (["--limit", "0"], "argument --limit: must be an integer >= 1, got '0'"),
    (["--backend", "tensorflow"], "argument --backend: invalid choice: 'tensorflow' (choose from 'auto', 'torch', 'openvino')"),
]  # fmt: skip


def _takes(command: str, flag: str) -> bool:
    parser = command_parser(build_parser(), command)
    return any(flag in action.option_strings for action in parser._actions)


@pytest.mark.parametrize(
    ("command", "extra", "expected"),
    [(command, extra, expected) for extra, expected in REFUSED for command in COMMANDS
     if extra[0] == "--no-such-flag" or _takes(command, extra[0])],
)  # fmt: skip
def test_a_command_line_argparse_refuses_is_exit_code_2_and_one_line(
    command: str,
    extra: list[str],
    expected: str,
    files: dict[str, Path],
    tiny_model: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, argv(command, source_of(command, files), tmp_path, tiny_model, *extra))
    assert code == 2 and out == ""
    prog = "spacy-goemotions" if extra == ["--no-such-flag"] else f"spacy-goemotions {command}"
    assert err.splitlines() == [f"{prog}: error: {expected}"], err  # one line: argparse's usage text is not printed


def test_every_refused_command_line_reaches_some_command() -> None:
    assert all(extra[0] == "--no-such-flag" or any(_takes(c, extra[0]) for c in COMMANDS) for extra, _ in REFUSED)


#: Per command: a function deep in it to break, and the arguments that reach it.
DEEP = {
    "classify": "spacy_goemotions.cli.classify.classify_file",
    "render": "spacy_goemotions.cli.render.open_reader",
    "evaluate": "spacy_goemotions.evaluation.datasets.read_dataset",
    "tune-thresholds": "spacy_goemotions.evaluation.datasets.read_dataset",
    "convert": "spacy_goemotions.evaluation.conversion.write_docbin",
    "summarize": "spacy_goemotions.cli.summarize.read_scored",
}


def _raiser(error: BaseException) -> Callable[..., Any]:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise error

    return broken


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unexpected_error_is_not_swallowed(
    command: str, files: dict[str, Path], tiny_model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(DEEP[command], _raiser(RuntimeError("a bug")))
    with pytest.raises(RuntimeError, match="a bug"):
        main(argv(command, source_of(command, files), tmp_path, tiny_model))


@pytest.mark.parametrize("command", COMMANDS)
def test_ctrl_c_is_exit_code_130_without_a_traceback(
    command: str,
    files: dict[str, Path],
    tiny_model: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(DEEP[command], _raiser(KeyboardInterrupt()))
    code, _, err = run(capsys, argv(command, source_of(command, files), tmp_path, tiny_model))
    assert code == 130 and "Traceback" not in err
    lines = err.splitlines()
    lines = lines[next(i for i, line in enumerate(lines) if line.startswith("spacy-goemotions ")) :]  # after convert's data report
    assert lines[0] == f"spacy-goemotions {command}: SIGINT: stopped"
    if command == "classify":  # a resumable run says how to resume
        assert lines[1:] == ["Stopped at once. Resume from the last finished chunk with:", lines[2]]
        assert lines[2].strip().startswith("spacy-goemotions classify ") and lines[2].endswith(" --resume")
    else:
        assert len(lines) == 1


def test_a_classify_run_asked_to_stop_prints_the_resume_command(
    files: dict[str, Path], tiny_model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(spacy_goemotions.cli.stopping.StopRequest, "requested", lambda self: True)  # as after a SIGINT
    code, _, err = run(capsys, argv("classify", files["labelled"], tmp_path, tiny_model, "--chunk-rows", "1"))
    assert code == 130, err
    lines = err.splitlines()
    assert lines[0] == "spacy-goemotions classify: SIGINT: stopped after 1 rows (1 chunks)"
    assert lines[1].startswith("classify: 1 rows in, 1 rows out")
    assert lines[2] == "Stopped after 1 rows; the output is not written yet. Resume with:" and len(lines) == 4
    words = shlex.split(lines[3])
    assert words[:2] == ["spacy-goemotions", "classify"] and words[-1] == "--resume" and "--chunk-rows" in words
    monkeypatch.undo()
    assert main(words[1:]) == 0  # the printed command finishes the run
    assert len(pd.read_csv(tmp_path / "scored.csv")) == 2


def test_a_model_that_cannot_load_is_exit_code_3(
    tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, argv("evaluate", files["labelled"], tmp_path, str(tmp_path / "no-model")))
    assert code == 3
    assert "is neither an existing directory nor a hub id" in one_line(err, "evaluate")


def test_a_missing_extra_is_exit_code_4(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("spacy_goemotions.cli.summarize._charts", _raiser(MissingExtraError("matplotlib", "plot", "--plot")))
    code, _, err = run(capsys, ["summarize", str(files["scored"]), "--plot", str(tmp_path / "x.png")])
    assert code == 4
    assert one_line(err, "summarize").endswith("Install it with: pip install 'spacy-goemotions[plot]'")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InputNotFoundError("no such file"), 1),  # an InputError and a FileNotFoundError
        (BadLineError("line 3: bad", 3), 1),
        (DatasetError("unknown label"), 1),
        (InputError("no header"), 1),
        (FileNotFoundError(2, "No such file or directory", "x.csv"), 1),
        (PermissionError(13, "Permission denied", "out.csv"), 1),
        (ConfigurationError("bad"), 2),
        (GoEmotionsError("ours"), 2),
        (ModelLoadError("cannot load"), 3),  # an OSError: not 1
        (MissingExtraError("pyarrow", "parquet", "Parquet"), 4),  # an ImportError
        (KeyboardInterrupt(), 130),
        (RuntimeError("a bug"), None),
        (ValueError("a bug"), None),
        (TypeError("a bug"), None),
        (ImportError("a bug"), None),
    ],
)
def test_the_table_maps_each_type_once(error: BaseException, code: int | None) -> None:
    assert exit_code(error) == code


def test_a_stop_exits_with_128_plus_its_signal() -> None:
    assert exit_code(KeyboardInterrupt(), signal.SIGTERM) == 143
    assert exit_code(KeyboardInterrupt(), None) == 130
    assert exit_code(ConfigurationError("x"), signal.SIGTERM) == 2  # a signal changes only a stop's code


def test_every_code_of_the_table_is_documented() -> None:
    section = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8").split("## The CLI error table", 1)[1]
    section = section.split("\n## ", 1)[0]
    for row in EXIT_CODES:
        for kind in row.types:
            assert f"`{kind.__name__}`" in section, kind
        assert f"| {row.code} " in section, row
    # The user's documentation prints the table itself, from EXIT_CODES, when the site builds: it cannot drift.
    cli_page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert "## Errors and exit codes" in cli_page and "print(docgen.exit_codes())" in cli_page


# --- the flags said for library options ---------------------------------------------------------------


@pytest.fixture(scope="module")
def classify_flags() -> Flags:
    return Flags.of(command_parser(build_parser(), "classify"))


@pytest.mark.parametrize(
    ("message", "fields", "expected"),
    [
        ("Pass prefix= (e.g. prefix='emo_') and/or labels_column=.", {"options": ("prefix", "labels_column")},
         "Pass --prefix (e.g. --prefix 'emo_') and/or --labels-column."),
        ("Pass prefix= (e.g. prefix='emo_')", {"options": ("prefix",), "example": {"prefix": "emo_"}},
         "Pass --prefix (e.g. --prefix emo_)"),
        ("chunk_rows must be an integer >= 1, got 0. Example: chunk_rows=10000", {"options": ("chunk_rows",)},
         "--chunk-rows must be an integer >= 1, got 0. Example: --chunk-rows 10000"),
        ("Pass resume=True to continue it", {"options": ("resume",)}, "Pass --resume to continue it"),
        ("keep_columns=None (every column) takes the keys", {"options": ("keep_columns",)},
         "--all-columns (every column) takes the keys"),
        ("name the columns with keep_columns=[...].", {"options": ("keep_columns",)},
         "name the columns with --keep-columns [...]."),
        ("e.g. output_format='csv'.", {"options": ("output_format",), "example": {"output_format": "csv"}}, "e.g. --format csv."),
        ("got dtype='int 8'; use dtype='int8'", {"options": ("dtype",), "value": "int 8", "example": {"dtype": "int8"}},
         "got --dtype 'int 8'; use --dtype int8"),
        ("Pass backend='openvino', dtype='bfloat16' to continue", {"options": ("backend", "dtype"),
         "example": {"backend": "openvino", "dtype": "bfloat16"}}, "Pass --backend openvino, --dtype bfloat16 to continue"),
        ("group_top_k=2 and top_k=3", {"options": ("top_k",)}, "group_top_k=2 and --top-k 3"),  # not inside a longer name
        ("the text_column is empty", {"options": ("text_column",)}, "the text_column is empty"),  # prose stays
        ("no_such_option=1 stays", {"options": ("no_such_option",)}, "no_such_option=1 stays"),  # no flag for it
        ("prefix=x stays when the error names no option", {}, "prefix=x stays when the error names no option"),
    ],
)  # fmt: skip
def test_the_command_line_says_library_options_as_its_flags(
    classify_flags: Flags, message: str, fields: dict[str, Any], expected: str
) -> None:
    assert classify_flags.message(GoEmotionsError(message, **fields)) == expected


def test_the_flags_come_from_the_option_definitions(classify_flags: Flags) -> None:
    assert classify_flags.flags["batch_size"] == "--batch-size" and classify_flags.flags["output_format"] == "--format"
    assert classify_flags.assignment("keep_columns", ["a", "b"]) == "--keep-columns a,b"
    assert classify_flags.assignment("compile", True) == "--compile true"
    assert classify_flags.assignment("resume", True) == "--resume"
    assert classify_flags.assignment("prefix", "my prefix") == "--prefix 'my prefix'"


@pytest.mark.parametrize(
    "error",
    [
        ConfigurationError("chunk_rows=0", options=("chunk_rows",), value=0, example={"chunk_rows": 10000}),
        InputNotFoundError("Input file 'x' does not exist"),
        BadLineError("line 3: bad", 3),
        MissingExtraError("pyarrow", "parquet", "Parquet"),
        DatasetError("bad label", options=("labels_column",)),
    ],
)
def test_errors_pickle_with_their_fields(error: GoEmotionsError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error) and vars(copy) == vars(error)
