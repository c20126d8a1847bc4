"""The teacher's scores over the unlabelled texts, kept on disk as Parquet so that an interrupted run goes on.

The scoring is an ordinary resumable file run (:func:`spacy_goemotions.files.classify_file`, any backend): its
output, the cache, holds the text and one score column per label (``teacher_`` + label). Beside it,
``CACHE.source.json`` records what the scores are of (the texts file's SHA-256, the teacher, its engine, the text
column). A run finds a complete cache of the same record and reads it; a cache left half-written by a killed run is
resumed from its checkpoint (which checks the input and options itself); a cache of other texts or another teacher
is an error that says to delete it. Rows without a text (an empty field) have no scores and are left out, counted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..core.classifier import EmotionClassifier
from ..core.table import TableOptions
from ..errors import ConfigurationError, InputError
from ..files.formats import output_paths
from ..files.job import DEFAULT_CHUNK_ROWS, FileJob
from ..files.run import classify_file

#: The score columns of the cache: this prefix + the label.
SCORE_PREFIX = "teacher_"
#: Bytes read at a time when hashing the texts file.
HASH_BLOCK = 1 << 20


@dataclass(frozen=True)
class TeacherScores:
    """The texts the teacher scored, in file order, with its scores.

    Attributes:
        texts: the texts that had a text.
        scores: (len(texts), labels) float32 sigmoid scores.
        labels: the teacher's labels, the columns of ``scores``.
        missing: rows of the file without a text (left out).
        cache: the Parquet file that holds them.
        resumed: whether this run continued or reused a cache instead of scoring everything.
    """

    texts: list[str]
    scores: npt.NDArray[np.float32]
    labels: tuple[str, ...]
    missing: int
    cache: Path
    resumed: bool
    source: dict[str, str]


def _never() -> bool:
    return False


def input_sha256(job: FileJob) -> str:
    """The SHA-256 of the input's bytes: its one file's, or its parts' one after the other (the model card names the
    texts by it).

    Args:
        job: the file job whose input to hash.

    Returns:
        the hex digest.
    """
    digest = hashlib.sha256()
    files = [part.path for part in job.parts.parts] if job.parts is not None else [job.input]
    for file in files:
        with Path(file).open("rb") as handle:
            while block := handle.read(HASH_BLOCK):
                digest.update(block)
    return digest.hexdigest()


def teacher_scores(
    teacher: EmotionClassifier,
    texts_path: str | Path,
    cache: str | Path,
    *,
    text_column: str = "text",
    input_format: str | None = None,
    progress: bool | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    should_stop: Callable[[], bool] = _never,
) -> TeacherScores:
    """Score a texts file with the teacher into ``cache`` (Parquet), or read the cache a previous run left.

    Args:
        teacher: the teacher's classifier (any backend, device and precision).
        texts_path: a CSV, TSV, JSONL or Parquet file (``.gz`` too) of texts, or a folder or glob of them.
        cache: the Parquet file of the teacher's scores.
        text_column: the column of the texts.
        input_format: the input's format where its extension does not tell.
        progress: a progress bar (None: when stderr is a terminal).
        chunk_rows: rows scored between two checkpoints (a resumed run must use the same).
        should_stop: polled after every chunk; True stops the scoring with ``Interrupted`` (the cache resumes).

    Returns:
        the :class:`TeacherScores`.

    Raises:
        Interrupted: ``should_stop()`` returned True.
        InputError: for a file without any text.
        ConfigurationError: for a cache of another input or of other options (delete it, or pass another path).
    """
    import pyarrow.parquet as pq

    cache_path = Path(cache)
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    job = FileJob(str(texts_path), str(cache_path), text_column=text_column, input_format=input_format, chunk_rows=chunk_rows)
    table = TableOptions(prefix=SCORE_PREFIX, labels_column="teacher_labels")
    paths = output_paths(cache_path)
    record_file = cache_path.with_name(cache_path.name + ".source.json")
    source = {
        "texts": str(texts_path),
        "texts_sha256": input_sha256(job),
        "text_column": text_column,
        "teacher": str(teacher.options.model_name),
        "revision": str(teacher.options.revision),
        "engine": str(teacher.engine),
    }
    done = _complete(cache_path, paths.checkpoint)
    if (done or paths.checkpoint.exists()) and _read_record(record_file) != source:
        raise ConfigurationError(
            f"The teacher's score cache {cache_path} holds the scores of other texts or another teacher "
            f"(see {record_file}). Delete it (and {record_file}), or pass another --scores-cache.",
            options=("scores_cache",),
        )
    resumed = done or paths.checkpoint.exists()
    if not done:
        record_file.write_text(json.dumps(source, indent=1), encoding="utf-8")
        resume = paths.checkpoint.exists()
        classify_file(job, classifier=teacher, table=table, resume=resume, progress=progress, should_stop=should_stop)
    data = pq.read_table(cache_path)
    labels = teacher.labels
    columns = [f"{SCORE_PREFIX}{label}" for label in labels]
    absent = [column for column in columns if column not in data.column_names]
    if absent:
        raise InputError(
            f"The teacher's score cache {cache_path} lacks the columns {absent[:3]}: it was written by another teacher. "
            "Delete it, or pass another --scores-cache."
        )
    texts_column = data.column(text_column).to_pylist()
    scores = np.stack([data.column(column).to_numpy(zero_copy_only=False) for column in columns], axis=1).astype(np.float32)
    keep = np.array([isinstance(text, str) and bool(text.strip()) for text in texts_column], dtype=bool)
    keep &= ~np.isnan(scores).any(axis=1)
    if not keep.any():
        raise InputError(
            f"{texts_path} has no text in column {text_column!r} ({len(texts_column)} rows): distillation needs the "
            "texts the student should learn on. Check --text-column."
        )
    kept_texts = [text for text, kept in zip(texts_column, keep, strict=True) if kept]
    return TeacherScores(kept_texts, scores[keep], labels, int((~keep).sum()), cache_path, resumed, source)


def _read_record(path: Path) -> dict[str, str] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _complete(cache: Path, checkpoint: Path) -> bool:
    """Whether ``cache`` is a finished run's output (the checkpoint says complete, or is gone after success)."""
    if not cache.is_file():
        return False
    if not checkpoint.exists():
        return True
    try:
        return bool(json.loads(checkpoint.read_text(encoding="utf-8")).get("complete"))
    except (OSError, ValueError):
        return False
