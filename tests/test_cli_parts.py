"""``spacy-goemotions classify`` on folders and globs of parts (Spark, Dask, Ray): one input, one or many outputs, resume."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from spacy_goemotions import GOEMOTIONS_LABELS, EmotionClassifier
from spacy_goemotions.cli import main
from spacy_goemotions.core.table import TableOptions
from spacy_goemotions.errors import ConfigurationError
from spacy_goemotions.files import FileJob, InputError, Interrupted, classify_file, output_paths
from spacy_goemotions.files.job import output_name
from spacy_goemotions.files.part_outputs import RUN_FILE
from spacy_goemotions.files.parts import Part, find_parts, survey_parts
from spacy_goemotions.files.run import open_reader

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

WORDS = "thank you so much love it why would anyone do that confused annoyed hilarious sorry loss sad wow ok".split()  # noqa: SIM905
UUID = "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"
#: Spark's layout: Hive-style partition folders, zero-padded part names with a uuid and codec, .crc files, _SUCCESS.
SPARK_PARTS = [f"date=2024-01-0{day}/part-0000{index}-{UUID}.c000.snappy.parquet" for day, index in ((1, 0), (1, 1), (2, 0))]


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Any:
    """One torch thread: scores are then the same bits in every run of this process."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def clf(tiny_model: str) -> EmotionClassifier:
    return EmotionClassifier(tiny_model, dtype="float32", device="cpu", progress=False)


def rows(start: int, n: int) -> list[dict[str, Any]]:
    """Records with an id, a text (every 7th missing) and an int column; distinct enough to score differently."""
    rng = np.random.default_rng(start)
    texts = [" ".join(rng.choice(WORDS, size=int(rng.integers(2, 9)))) for _ in range(n)]
    return [{"id": f"r{start + i}", "text": None if (start + i) % 7 == 3 else texts[i], "n": start + i} for i in range(n)]


def write_parquet(path: Path, records: list[dict[str, Any]], schema: Any = None) -> None:
    """A Parquet part with the dataset's schema (a part of missing texts only stays a string column)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if schema is None and set(records[0]) == {"id", "text", "n"}:
        schema = pa.schema([("id", pa.string()), ("text", pa.string()), ("n", pa.int64())])
    pq.write_table(pa.Table.from_pylist(records, schema=schema), path, row_group_size=3)


def write_text(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    if ".jsonl" in path.name:
        buffer.writelines(json.dumps(record) + "\n" for record in records)
    else:
        writer = csv.writer(buffer, delimiter="\t" if ".tsv" in path.name else ",", lineterminator="\n")
        writer.writerow(list(records[0]))
        writer.writerows([["" if value is None else value for value in record.values()] for record in records])
    data = buffer.getvalue().encode("utf-8")
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)


def spark_folder(root: Path, sizes: tuple[int, ...] = (4, 4, 4)) -> list[dict[str, Any]]:
    """A Spark-style Parquet output folder with ``len(sizes)`` parts; returns its rows in reading order."""
    written: list[dict[str, Any]] = []
    for relative, size in zip(SPARK_PARTS, sizes, strict=False):
        part = rows(len(written), size)
        write_parquet(root / relative, part)
        (root / relative).with_name(f".{Path(relative).name}.crc").write_bytes(b"crc\x00garbage")
        written += part
    (root / "_SUCCESS").write_bytes(b"")
    (root / "._SUCCESS.crc").write_bytes(b"\x00")
    (root / "_temporary" / "0").mkdir(parents=True)
    (root / "_temporary" / "0" / "half-written.bin").write_bytes(b"not data")
    return written


def read_output(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".parquet":
        return list(pq.read_table(path).to_pylist())
    opener: Any = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        if ".jsonl" in path.name:
            return [json.loads(line) for line in handle]
        return list(csv.DictReader(handle))


def scores_of(records: list[dict[str, Any]]) -> np.ndarray:
    return np.array([[np.nan if row[name] in (None, "") else float(row[name]) for name in GOEMOTIONS_LABELS] for row in records])


def cli(*args: str) -> int:
    return main(["classify", *args])


def base_args(tiny_model: str) -> list[str]:
    return ["--model", tiny_model, "--dtype", "float32", "--device", "cpu", "--no-progress"]


def listing(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())


JOB: dict[str, Any] = {"text_column": "text", "id_column": "id", "keep_columns": None, "chunk_rows": 2}


# --- one input, one output ------------------------------------------------------------------------


@pytest.mark.parametrize(("chunk_rows", "target"), [(2, "out.parquet"), (3, "out.jsonl")])
def test_a_spark_folder_reads_as_the_same_rows_in_one_file(
    tmp_path: Path, clf: EmotionClassifier, chunk_rows: int, target: str
) -> None:
    written = spark_folder(tmp_path / "spark")
    write_parquet(tmp_path / "single.parquet", written)
    job = {**JOB, "chunk_rows": chunk_rows}
    summary = classify_file(FileJob(str(tmp_path / "spark"), str(tmp_path / target), **job), classifier=clf)
    classify_file(FileJob(str(tmp_path / "single.parquet"), str(tmp_path / f"ref-{target}"), **job), classifier=clf)
    assert summary.parts == 3 and summary.counts.rows_out == len(written) == 12
    out, ref = read_output(tmp_path / target), read_output(tmp_path / f"ref-{target}")
    kept = ["id", "text", "n"]
    assert [{name: row[name] for name in kept} for row in out] == written  # every part's rows, in part order
    assert [row["emotions"] for row in out] == [row["emotions"] for row in ref]
    np.testing.assert_allclose(scores_of(out), scores_of(ref), atol=1e-5)
    want = clf.scores([row["text"] for row in written])
    np.testing.assert_allclose(scores_of(out), want, atol=1e-5)
    assert np.isnan(scores_of(out)[3]).all()  # a missing text
    if chunk_rows == 2:  # every part a whole number of chunks: the same chunks, so the same bytes as one file
        assert (tmp_path / target).read_bytes() == (tmp_path / f"ref-{target}").read_bytes()
        assert pq.read_table(tmp_path / target).schema.field("n").type == pa.int64()


def test_dask_parts_are_read_in_numeric_order_and_metadata_files_are_skipped(tmp_path: Path, clf: EmotionClassifier) -> None:
    folder = tmp_path / "dask"
    for index in range(12):
        write_parquet(folder / f"part.{index}.parquet", rows(index, 1))
    (folder / "_metadata").write_bytes(b"PAR1 not a data file")
    (folder / "_common_metadata").write_bytes(b"PAR1")
    parts = find_parts(str(folder))
    assert [part.relative for part in parts.parts][:3] == ["part.0.parquet", "part.1.parquet", "part.2.parquet"]
    assert parts.parts[-1].relative == "part.11.parquet"
    classify_file(FileJob(str(folder), str(tmp_path / "out.jsonl"), **JOB), classifier=clf)
    assert [row["id"] for row in read_output(tmp_path / "out.jsonl")] == [f"r{index}" for index in range(12)]


def test_a_glob_selects_parts_and_the_summary_counts_them(
    tmp_path: Path, tiny_model: str, clf: EmotionClassifier, capsys: pytest.CaptureFixture[str]
) -> None:
    written = spark_folder(tmp_path / "spark")
    common = ["--text-column", "text", "--id-column", "id", "--chunk-rows", "2", *base_args(tiny_model)]
    assert cli(str(tmp_path / "spark" / "**" / "*.parquet"), "-o", str(tmp_path / "all.csv"), *common) == 0
    assert "classify: 3 parts read, 12 rows in, 12 rows out, 2 missing" in capsys.readouterr().err
    assert [row["id"] for row in read_output(tmp_path / "all.csv")] == [row["id"] for row in written]
    assert cli(str(tmp_path / "spark" / "date=2024-01-01" / "part-*"), "-o", str(tmp_path / "day1.csv"), *common) == 0
    assert "classify: 2 parts read, 8 rows in" in capsys.readouterr().err
    day1 = read_output(tmp_path / "day1.csv")
    assert [row["id"] for row in day1] == [row["id"] for row in written[:8]]
    np.testing.assert_allclose(scores_of(day1), scores_of(read_output(tmp_path / "all.csv"))[:8], atol=1e-5)


@pytest.mark.parametrize("folder_output", [False, True])
def test_csv_and_gzipped_jsonl_parts_and_one_progress_bar_in_bytes(
    tmp_path: Path, clf: EmotionClassifier, folder_output: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "mixed"
    first, second, third = rows(0, 5), rows(5, 4), rows(9, 3)
    write_text(folder / "part-0.csv", first)
    write_text(folder / "part-1.jsonl.gz", second)
    write_text(folder / "part-2.csv.gz", third)
    output = str(tmp_path / "out") + "/" if folder_output else str(tmp_path / "out.jsonl")
    job = FileJob(str(folder), output, text_column="text", id_column="id", chunk_rows=2, output_format="jsonl")
    classify_file(job, classifier=clf, progress=True)
    bar = capsys.readouterr().err.strip().split("\r")[-1]  # the final state of the one bar
    total = sum(path.stat().st_size for path in folder.iterdir())  # bytes on disk, compressed ones too
    assert bar.startswith("classify: 100%") and f"{total}/{total}" in bar and "12 rows" in bar
    if folder_output:  # gzip kept, the format changed
        names = ["part-0.jsonl", "part-1.jsonl.gz", "part-2.jsonl.gz"]
        assert listing(tmp_path / "out") == names
        out = [row for name in names for row in read_output(tmp_path / "out" / name)]
    else:
        out = read_output(tmp_path / "out.jsonl")
    # CSV has no types: its ids are strings like JSONL's; a CSV empty field and a JSON null are both missing.
    assert [(row["id"], row["text"]) for row in out] == [(row["id"], row["text"]) for row in first + second + third]
    np.testing.assert_allclose(scores_of(out), clf.scores([row["text"] for row in first + second + third]), atol=1e-5)


def test_parts_of_mixed_units_have_no_progress_total(tmp_path: Path) -> None:
    write_parquet(tmp_path / "in" / "a.parquet", rows(0, 3))
    write_text(tmp_path / "in" / "b.csv", rows(3, 2))

    def open_part(part: Part) -> Any:
        return open_reader(part.path, part.format, part.gz, text_column="text", keep=["text"])

    survey = survey_parts(find_parts(str(tmp_path / "in")).parts, open_part)
    assert survey.units == ["row", "B"] and survey.unit == "row" and survey.total is None
    assert survey_parts(find_parts(str(tmp_path / "in" / "a.parquet")).parts, open_part).total == 3


def test_a_jsonl_part_without_records_takes_the_columns_of_the_next(tmp_path: Path, clf: EmotionClassifier) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text("\n\n", encoding="utf-8")
    write_text(tmp_path / "in" / "b.jsonl", rows(0, 3))
    summary = classify_file(FileJob(str(tmp_path / "in"), str(tmp_path / "out.parquet"), **JOB), classifier=clf)
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.column_names[:3] == ["id", "text", "n"] and table.column("id").to_pylist() == ["r0", "r1", "r2"]
    assert table.schema.field("n").type == pa.int64()  # typed from the first rows, not from the empty part
    assert summary.counts.blank_lines == 2


# --- one output file per part -------------------------------------------------------------------------


@pytest.mark.parametrize("output_format", [None, "csv"])
def test_a_folder_output_has_one_file_per_part_with_the_same_names(
    tmp_path: Path, tiny_model: str, output_format: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    spark_folder(tmp_path / "spark")
    extra = ["--format", output_format] if output_format else []
    common = ["--text-column", "text", "--id-column", "id", "--all-columns", "--chunk-rows", "2", *base_args(tiny_model), *extra]
    assert cli(str(tmp_path / "spark"), "-o", str(tmp_path / "out") + "/", *common) == 0
    assert "classify: 3 parts read, 12 rows in" in capsys.readouterr().err
    names = [name.replace(".snappy.parquet", ".csv") if output_format else name for name in SPARK_PARTS]
    assert listing(tmp_path / "out") == sorted(names)  # no run file, checkpoint or partial file left
    for index, (source, name) in enumerate(zip(SPARK_PARTS, names, strict=True)):
        reference = tmp_path / "ref" / f"{index}-{Path(name).name}"
        reference.parent.mkdir(exist_ok=True)
        assert cli(str(tmp_path / "spark" / source), "-o", str(reference), *common) == 0
        assert (tmp_path / "out" / name).read_bytes() == reference.read_bytes()  # each part as if classified alone


def test_output_names_keep_gzip_and_drop_parquets_codec() -> None:
    part = Part("d/x=1/part-0.csv.gz", "x=1/part-0.csv.gz", "csv", True)
    assert output_name(part, None) == ("x=1/part-0.csv.gz", "csv", True)
    assert output_name(part, "jsonl") == ("x=1/part-0.jsonl.gz", "jsonl", True)
    assert output_name(part, "parquet") == ("x=1/part-0.parquet", "parquet", False)
    spark = Part("d/part-1.snappy.parquet", "part-1.snappy.parquet", "parquet", False)
    assert output_name(spark, "tsv") == ("part-1.tsv", "tsv", False)
    assert output_name(spark, "parquet") == ("part-1.snappy.parquet", "parquet", False)


# --- bad inputs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("int32", "column 'n' is int32 here, int64 there"),
        ("extra", "it has column(s) ['extra'] that the first part lacks"),
        ("large_string", "column 'text' is large_string here, string there"),
    ],
)
def test_a_part_with_other_columns_fails_naming_it(
    tmp_path: Path, tiny_model: str, change: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spark_folder(tmp_path / "spark", sizes=(4, 4))
    odd = tmp_path / "spark" / SPARK_PARTS[2]
    records = rows(8, 3)
    if change == "extra":
        write_parquet(odd, [{**record, "extra": 1.5} for record in records])
    else:
        fields = {"int32": [("id", pa.string()), ("text", pa.string()), ("n", pa.int32())],
                  "large_string": [("id", pa.string()), ("text", pa.large_string()), ("n", pa.int64())]}[change]  # fmt: skip
        write_parquet(odd, records, schema=pa.schema(fields))
    args = ["--text-column", "text", "--all-columns", *base_args(tiny_model)]
    assert cli(str(tmp_path / "spark"), "-o", str(tmp_path / "out.parquet"), *args) == 1
    err = capsys.readouterr().err
    assert f"{odd}: its columns differ from the first part's" in err and message in err
    assert "--keep-columns" in err  # the library option, said as the flag
    assert not (tmp_path / "out.parquet").exists()
    if change == "extra":  # the columns used are the same: naming them reads every part
        used = ["--text-column", "text", "--keep-columns", "id,n", *base_args(tiny_model)]
        assert cli(str(tmp_path / "spark"), "-o", str(tmp_path / "out.parquet"), *used) == 0


def test_a_csv_part_with_another_header_fails_naming_it(tmp_path: Path, clf: EmotionClassifier) -> None:
    write_text(tmp_path / "in" / "a.csv", rows(0, 2))
    write_text(tmp_path / "in" / "b.csv", [{"id": "x", "body": "hello", "n": 1}])
    with pytest.raises(InputError, match=r"b\.csv: column\(s\) \['text'\] not found in the header"):
        classify_file(FileJob(str(tmp_path / "in"), str(tmp_path / "out.csv"), text_column="text"), classifier=clf)
    write_text(tmp_path / "in" / "b.csv", [{"id": "x", "text": "hello", "n": 1, "m": 2}])
    with pytest.raises(InputError, match=r"b\.csv: its columns differ .* \['m'\] that the first part lacks"):
        classify_file(
            FileJob(str(tmp_path / "in"), str(tmp_path / "out.csv"), text_column="text", keep_columns=None), classifier=clf
        )
    classify_file(FileJob(str(tmp_path / "in"), str(tmp_path / "out.csv"), text_column="text"), classifier=clf)  # used: same


def test_a_file_of_unknown_format_fails_naming_it(tmp_path: Path, tiny_model: str, capsys: pytest.CaptureFixture[str]) -> None:
    spark_folder(tmp_path / "spark")
    (tmp_path / "spark" / "date=2024-01-02" / "notes.txt").write_text("not data", encoding="utf-8")
    assert cli(str(tmp_path / "spark"), "-o", str(tmp_path / "out.csv"), "--text-column", "text", *base_args(tiny_model)) == 2
    err = capsys.readouterr().err
    assert "date=2024-01-02/notes.txt" in err and "Cannot tell the format" in err and "move it out" in err
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(
    ("layout", "message"), [("empty", "is empty"), ("only-markers", "is empty"), ("glob", "matches no file")]
)
def test_an_empty_folder_or_a_glob_matching_nothing_is_an_error(
    tmp_path: Path, tiny_model: str, layout: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    if layout == "only-markers":
        (folder / "_SUCCESS").write_bytes(b"")
        (folder / ".part-0.crc").write_bytes(b"")
    source = str(folder / "*.parquet") if layout == "glob" else str(folder)
    assert cli(source, "-o", str(tmp_path / "out.csv"), "--text-column", "text", *base_args(tiny_model)) == 1  # no input
    assert message in capsys.readouterr().err


def test_an_output_that_a_later_run_would_read_is_refused(tmp_path: Path, clf: EmotionClassifier) -> None:
    spark_folder(tmp_path / "spark")
    for output in (str(tmp_path / "spark" / "out.csv"), str(tmp_path / "spark" / "scored") + "/"):
        with pytest.raises(ConfigurationError, match="would read it as a part of the input"):
            classify_file(FileJob(str(tmp_path / "spark"), str(output), text_column="text"), classifier=clf)
    write_text(tmp_path / "a.csv", rows(0, 2))
    with pytest.raises(ConfigurationError, match="would read it as a part of the input"):
        classify_file(FileJob(str(tmp_path / "*.csv"), str(tmp_path / "out.csv"), text_column="text"), classifier=clf)
    classify_file(FileJob(str(tmp_path / "*.csv"), str(tmp_path / "out.jsonl"), text_column="text"), classifier=clf)


# --- resume --------------------------------------------------------------------------------------------


class ScoredTexts:
    """Wraps ``classifier.run`` to record the texts each chunk scored."""

    def __init__(self, classifier: EmotionClassifier) -> None:
        self.run = classifier.run
        self.texts: list[str | None] = []

    def __call__(self, texts: list[str | None], **kwargs: Any) -> Any:
        self.texts += list(texts)
        return self.run(texts, **kwargs)


def stop_after(chunks: int) -> Any:
    calls = iter(range(1000))
    return lambda: next(calls) == chunks - 1


@pytest.mark.parametrize(
    ("names", "target"), [(SPARK_PARTS, "out.parquet"), (["a/p-0.csv.gz", "a/p-1.csv.gz", "b/p-0.csv"], "out.jsonl.gz")]
)
def test_one_output_resumes_in_the_part_it_stopped_in_to_identical_bytes(
    tmp_path: Path, clf: EmotionClassifier, monkeypatch: pytest.MonkeyPatch, names: list[str], target: str
) -> None:
    folder = tmp_path / "in"
    written: list[dict[str, Any]] = []
    for name in names:
        part = rows(len(written), 6)  # 3 chunks of 2 rows per part
        (write_parquet if name.endswith(".parquet") else write_text)(folder / name, part)
        written += part
    options: dict[str, Any] = {"classifier": clf, "table": TableOptions(threshold=0.4)}
    classify_file(FileJob(str(folder), str(tmp_path / f"ref-{target}"), **JOB), **options)
    out = tmp_path / target
    with pytest.raises(Interrupted) as stopped:  # chunk 5 of 9: the middle of part 2 of 3
        classify_file(FileJob(str(folder), str(out), **JOB), should_stop=stop_after(5), **options)
    assert stopped.value.summary.counts.rows_out == 10 and stopped.value.summary.parts == 3
    state = json.loads(output_paths(out).checkpoint.read_text(encoding="utf-8"))
    assert state["position"]["part"] == 1 and state["position"]["part_rows"] == 4
    assert not out.exists()
    spy = ScoredTexts(clf)
    monkeypatch.setattr(clf, "run", spy)
    summary = classify_file(FileJob(str(folder), str(out), **JOB), resume=True, **options)
    assert spy.texts == [row["text"] for row in written[10:]]  # parts 1 and the first 4 rows of part 2 not redone
    assert summary.resumed_from_row == 10 and summary.rows_this_run == 8 and summary.counts.rows_out == 18
    assert out.read_bytes() == (tmp_path / f"ref-{target}").read_bytes()
    assert not output_paths(out).checkpoint.exists()


def test_a_folder_output_resumes_in_the_part_it_stopped_in(
    tmp_path: Path, tiny_model: str, clf: EmotionClassifier, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    written = spark_folder(tmp_path / "spark", sizes=(4, 6, 4))
    options: dict[str, Any] = {"classifier": clf, "table": TableOptions(threshold=0.4)}
    job = {**JOB, "output_format": "jsonl"}
    classify_file(FileJob(str(tmp_path / "spark"), str(tmp_path / "ref") + "/", **job), **options)
    out = tmp_path / "out"
    with pytest.raises(Interrupted) as stopped:  # chunk 4 of 7: the second of part 2's three
        classify_file(FileJob(str(tmp_path / "spark"), str(out) + "/", **job), should_stop=stop_after(4), **options)
    assert stopped.value.summary.counts.rows_out == 8 and stopped.value.summary.parts == 3
    names = [output_name(Part("", name, "parquet", False), "jsonl")[0] for name in SPARK_PARTS]
    assert (out / names[0]).exists() and not (out / names[1]).exists() and not (out / names[2]).exists()
    assert output_paths(out / names[1]).checkpoint.exists()
    run_file = json.loads((out / RUN_FILE).read_text(encoding="utf-8"))
    assert list(run_file["completed"]) == [SPARK_PARTS[0]]
    args = [str(tmp_path / "spark"), "-o", str(out) + "/", "--text-column", "text", *base_args(tiny_model)]
    assert cli(*args) == 2  # without --resume, the run file is in the way
    err = capsys.readouterr().err
    assert RUN_FILE in err and "(1 of 3 parts done)" in err and "Pass --resume" in err
    spy = ScoredTexts(clf)
    monkeypatch.setattr(clf, "run", spy)
    summary = classify_file(FileJob(str(tmp_path / "spark"), str(out) + "/", **job), resume=True, **options)
    assert spy.texts == [row["text"] for row in written[8:]]  # part 1 and the first chunk of part 2 not redone
    assert summary.resumed_from_row == 8 and summary.rows_this_run == 6 and summary.counts.rows_out == 14
    assert listing(out) == listing(tmp_path / "ref") == sorted(names)
    for name in names:
        assert (out / name).read_bytes() == (tmp_path / "ref" / name).read_bytes()


@pytest.mark.parametrize("folder_output", [False, True])
def test_a_part_added_after_the_interruption_makes_resume_refuse(
    tmp_path: Path, tiny_model: str, clf: EmotionClassifier, folder_output: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    spark_folder(tmp_path / "spark", sizes=(4, 4))
    out = str(tmp_path / "out") + ("/" if folder_output else ".csv")
    with pytest.raises(Interrupted):
        classify_file(FileJob(str(tmp_path / "spark"), out, **JOB), classifier=clf, should_stop=stop_after(3))
    write_parquet(tmp_path / "spark" / SPARK_PARTS[2], rows(8, 2))
    flags = ["--text-column", "text", "--id-column", "id", "--all-columns", "--chunk-rows", "2"]
    args = [str(tmp_path / "spark"), "-o", out, *flags]
    assert cli(*args, *base_args(tiny_model), "--resume") == 2
    err = capsys.readouterr().err
    assert "Cannot resume" in err and "differ" in err
    assert f"input.parts.{SPARK_PARTS[2]}: was None" in err
    os.utime(tmp_path / "spark" / SPARK_PARTS[0], ns=(0, 0))  # a part changed: named too
    os.remove(tmp_path / "spark" / SPARK_PARTS[2])
    assert cli(*args, *base_args(tiny_model), "--resume") == 2
    assert f"input.parts.{SPARK_PARTS[0]}.mtime_ns: was" in capsys.readouterr().err
