"""Distillation: a small student trained on a big teacher's scores over your own unlabelled texts.

The steps of :func:`distill`:

1. The teacher scores the texts (:mod:`.teacher`: any backend, cached as Parquet, resumable).
2. A share of the texts (``held_out_share``, by content hash: the same text always falls on the same side) is held
   out: half of it picks the student's thresholds when no labelled data is given, the other half measures how
   closely the student follows the teacher.
3. The student (:mod:`.students`) learns the teacher's scores. **The loss** is binary cross-entropy against the
   teacher's probabilities, label by label: with the teacher's logit ``z`` and the student's ``s``, the target is
   ``sigmoid(z / T)`` and the loss ``T² · BCE(sigmoid(s / T), sigmoid(z / T))``, averaged over texts and labels.
   ``T`` (``temperature``, default 1) above 1 softens both sides and brings the teacher's near-certain scores into
   play; ``T²`` keeps the gradients' size. AdamW, linear warmup and decay, batches of texts of similar length.
4. Its thresholds: tuned for F1 on the labelled data when given, else on the teacher's own decisions (the teacher's
   labels at its thresholds) over the first held-out half.
5. The student directory: the weights (safetensors), the teacher's tokenizer, ``thresholds.json``,
   ``distillation.json`` (everything measured) and ``README.md``, the model card (:mod:`.card`). It is written as
   ``STUDENT_DIR.partial`` and renamed at the end: a failed run leaves no half-made model.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .._version import __version__
from ..core.classifier import EmotionClassifier
from ..core.devices import resolve_device
from ..core.options import ClassifierOptions
from ..errors import ConfigurationError
from .agreement import agreement
from .card import write_card
from .measures import agreement_record, labelled_f1, measure_speed, model_cutoffs
from .settings import DistillSettings
from .student_training import train_student
from .students import build_student, student_config, student_shape
from .teacher import TeacherScores, _never, teacher_scores


@dataclass
class DistillResult:
    """What :func:`distill` made and measured (also saved as ``distillation.json`` in the student directory).

    Attributes:
        student_dir: the student's directory.
        record: everything the model card says, as plain data.

    Examples:
        >>> result = distill("goemotions-small", "texts.csv", "student")  # doctest: +SKIP
        >>> result.student_dir, result.record["agreement"]["spearman"]    # doctest: +SKIP
        (PosixPath('student'), 0.9)
    """

    student_dir: Path
    record: dict[str, Any] = field(default_factory=dict)


def distill(
    teacher: str | Path,
    texts: str | Path,
    out: str | Path,
    *,
    text_column: str = "text",
    input_format: str | None = None,
    labelled: str | Path | None = None,
    settings: DistillSettings | None = None,
    teacher_options: ClassifierOptions | None = None,
    scores_cache: str | Path | None = None,
    progress: bool | None = None,
    command: str | None = None,
    should_stop: Callable[[], bool] = _never,
) -> DistillResult:
    """Train a small student on a teacher's scores over unlabelled texts, and write it as a model directory.

    The directory works wherever a model does (``model="STUDENT_DIR"``: pandas, spaCy, every backend, int8).

    Args:
        teacher: the teacher model (hub id, directory or bundled name).
        texts: a CSV, TSV, JSONL or Parquet file (``.gz`` too), folder or glob of texts; labels in it are ignored.
        out: the student directory to write (must not exist yet).
        text_column: the column of the texts.
        input_format: the input's format where its extension does not tell.
        labelled: labelled data (GoEmotions TSV, CSV, JSONL, Parquet or ``.spacy``) with the teacher's labels: tunes
            the student's thresholds and gives both models' macro-F1 on it.
        settings: how to distil.
        teacher_options: how the teacher runs (backend, device, dtype, batch size...); the student's speed is timed
            on the same engine.
        scores_cache: the Parquet file of the teacher's scores (default: ``STUDENT_DIR.teacher-scores.parquet``);
            a killed run resumes it.
        progress: progress bars (None: when stderr is a terminal).
        command: the command that made the student, for its model card.
        should_stop: polled between chunks of the teacher's scoring (``Interrupted``: its cache resumes) and between
            training steps (``KeyboardInterrupt``; the teacher's scores are kept).

    Returns:
        the :class:`DistillResult`.

    Raises:
        ConfigurationError: bad settings, an existing ``out``, a student whose labels or vocabulary are not the
            teacher's, a cache of other texts.
        InputError: a texts file without texts, labelled data with labels the teacher lacks.

    Examples:
        >>> result = distill("goemotions-small", "tickets.csv", "student", text_column="body")  # doctest: +SKIP
        >>> result.record["agreement"]["decisions"]                                             # doctest: +SKIP
        0.985
    """
    settings = settings or DistillSettings()
    started = time.perf_counter()
    out_dir = Path(out)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ConfigurationError(
            f"The student directory {out_dir} exists and is not empty; choose another, or delete it.", options=("output",)
        )
    shape = student_shape(settings.student)  # a bad preset or config fails before the teacher runs
    teacher_classifier = EmotionClassifier(teacher, options=teacher_options or ClassifierOptions())
    labels = teacher_classifier.labels
    gold = _labelled(labelled, labels)
    cache = Path(scores_cache) if scores_cache is not None else out_dir.with_name(out_dir.name + ".teacher-scores.parquet")
    scored = teacher_scores(
        teacher_classifier,
        texts,
        cache,
        text_column=text_column,
        input_format=input_format,
        progress=progress,
        should_stop=should_stop,
    )
    scoring_s = time.perf_counter() - started
    train_rows, tune_rows, check_rows = split_held_out(scored.texts, settings.held_out_share)
    if len(train_rows) < settings.batch_size or not len(tune_rows) or not len(check_rows):
        raise ConfigurationError(
            f"{len(scored.texts)} texts are too few to distil (training {len(train_rows)}, held out "
            f"{len(tune_rows) + len(check_rows)}): give a few thousand texts at least.",
            options=("texts",),
        )

    loaded = teacher_classifier.loaded
    config = student_config(loaded.config.to_dict(), shape, len(loaded.tokenizer))
    embeddings = _teacher_embeddings(teacher_classifier) if settings.teacher_embeddings else None
    student = build_student(config, embeddings, seed=settings.seed)
    student.to(resolve_device(teacher_classifier.options.device))  # a GPU trains where there is one
    training_started = time.perf_counter()
    losses = train_student(
        student, loaded.tokenizer, labels, scored, train_rows, settings, progress=progress, should_stop=should_stop
    )
    training_s = time.perf_counter() - training_started

    in_memory = _in_memory(student, loaded.tokenizer, str(teacher))
    held = EmotionClassifier.held_in_memory(in_memory, ClassifierOptions(model=str(teacher)))
    teacher_cutoffs = model_cutoffs(teacher_classifier)
    thresholds, tuned_on = _student_thresholds(held, scored, tune_rows, teacher_cutoffs, gold, labels)
    student_cutoffs = np.array([thresholds["thresholds"][label] for label in labels], dtype=np.float32)
    check_texts = [scored.texts[row] for row in check_rows]
    followed = agreement(scored.scores[check_rows], held.scores(check_texts), teacher_cutoffs, student_cutoffs, labels)

    partial = out_dir.with_name(out_dir.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    _save_student(student, loaded.tokenizer, partial, thresholds)
    record: dict[str, Any] = {
        "format": "spacy-goemotions/distillation-v1",
        "library_version": __version__,
        "command": command,
        "teacher": {
            "model": str(teacher),
            "revision": teacher_classifier.options.revision,
            "engine": str(teacher_classifier.engine),
        },
        "student": {"preset_or_config": str(settings.student), "parameters": _parameters(student), "config": _sizes(config)},
        "texts": {
            "source": scored.source["texts"],
            "sha256": scored.source["texts_sha256"],
            "text_column": text_column,
            "scored": len(scored.texts),
            "without_text": scored.missing,
            "scores_resumed": scored.resumed,
            "training": len(train_rows),
            "held_out_thresholds": len(tune_rows),
            "held_out_agreement": len(check_rows),
        },
        "settings": asdict(settings),
        "loss": "T^2 * binary cross-entropy(sigmoid(student_logit / T), sigmoid(teacher_logit / T)), mean over texts x labels",
        "training": {"epochs_loss": losses, "seconds": round(training_s, 1), "teacher_scoring_seconds": round(scoring_s, 1)},
        "thresholds_tuned_on": tuned_on,
        "agreement": agreement_record(followed),
    }
    if gold is not None:
        record["labelled"] = labelled_f1(held, teacher_classifier, gold, labels, student_cutoffs, teacher_cutoffs, labelled)
    if settings.speed_texts:
        # Distinct texts, held-out ones first; speed does not depend on what was trained on, so training texts fill up.
        timing_texts: dict[str, None] = {}
        for row in itertools.chain(check_rows, tune_rows, train_rows):
            timing_texts.setdefault(scored.texts[row])
            if len(timing_texts) >= settings.speed_texts:
                break
        record["speed"] = measure_speed(teacher_classifier, partial, list(timing_texts), settings.speed_texts)
    record["seconds"] = round(time.perf_counter() - started, 1)
    (partial / "distillation.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    write_card(partial / "README.md", record)
    if out_dir.exists():
        out_dir.rmdir()  # empty: checked at the start
    partial.rename(out_dir)
    return DistillResult(out_dir, record)


Rows = npt.NDArray[np.int64]


def split_held_out(texts: Sequence[str], share: float) -> tuple[Rows, Rows, Rows]:
    """Rows for training, for tuning thresholds and for measuring agreement, decided by each text's content hash.

    A text's side depends on the text alone (its SHA-256), so that the same text, wherever it occurs, is never both
    trained on and held out, and a run on the same texts splits them the same way.

    Args:
        texts: the texts.
        share: the share held out (split in two halves: thresholds, agreement).

    Returns:
        the three arrays of row numbers, ascending.

    Examples:
        >>> train, tune, check = split_held_out([f"text {i}" for i in range(1000)], 0.1)
        >>> len(train), len(tune) + len(check)
        (911, 89)
    """
    digests = (hashlib.sha256(text.encode("utf-8")).digest()[:8] for text in texts)
    buckets = np.array([int.from_bytes(digest, "big") for digest in digests], dtype=np.uint64)
    position = (buckets % np.uint64(1_000_000)).astype(np.float64) / 1_000_000
    held = position < share
    first_half = position < share / 2
    rows = np.arange(len(texts))
    return rows[~held], rows[held & first_half], rows[held & ~first_half]


def _labelled(path: str | Path | None, labels: Sequence[str]) -> Any:
    if path is None:
        return None
    from ..evaluation.datasets import read_dataset

    data = read_dataset(path, labels=labels)
    if not len(data):
        raise ConfigurationError(f"The labelled data {path} has no rows.", options=("labelled",))
    return data


def _teacher_embeddings(teacher: EmotionClassifier) -> npt.NDArray[np.float32] | None:
    """The teacher's token embedding matrix (ModernBERT), or None for a model without one where expected."""
    base = getattr(teacher.loaded.model, "model", None)
    table = getattr(getattr(getattr(base, "embeddings", None), "tok_embeddings", None), "weight", None)
    if table is None:
        return None
    matrix: npt.NDArray[np.float32] = table.detach().float().cpu().numpy()
    teacher.loaded.release_weights()  # a backend with its own copy does not need them in memory
    return matrix


def _in_memory(student: Any, tokenizer: Any, source: str) -> Any:
    from ..core.loading import LoadedModel

    return LoadedModel.in_memory(student, tokenizer, source=source, revision=None)


def _student_thresholds(
    held: EmotionClassifier,
    scored: TeacherScores,
    tune_rows: npt.NDArray[np.int64],
    teacher_cutoffs: npt.NDArray[np.float32],
    gold: Any,
    labels: Sequence[str],
) -> tuple[dict[str, Any], str]:
    from ..evaluation.tuning import tune_thresholds

    if gold is not None:
        return tune_thresholds(held.scores(gold.texts), gold.select_labels(labels), labels), "labelled data"
    decisions = scored.scores[tune_rows] >= teacher_cutoffs[None, :]
    student_scores = held.scores([scored.texts[row] for row in tune_rows])
    return tune_thresholds(student_scores, decisions.astype(np.uint8), labels), "the teacher's decisions on held-out texts"


def _save_student(student: Any, tokenizer: Any, directory: Path, thresholds: dict[str, Any]) -> None:
    from ..core.loading import MODEL_THRESHOLDS_FILE
    from ..core.quiet import quiet_transformers

    directory.mkdir(parents=True)
    with quiet_transformers():
        student.save_pretrained(str(directory), safe_serialization=True)
        tokenizer.save_pretrained(str(directory))
    (directory / MODEL_THRESHOLDS_FILE).write_text(json.dumps(thresholds, indent=2), encoding="utf-8")


def _parameters(model: Any) -> int:
    return int(sum(parameter.numel() for parameter in model.parameters()))


def _sizes(config: dict[str, Any]) -> dict[str, Any]:
    keys = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size")
    return {key: config[key] for key in keys if key in config}
