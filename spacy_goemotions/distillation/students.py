"""The student's shape: a preset (``small``, ``tiny``) or a ModernBERT ``config.json``, built to fit the teacher.

A student keeps the teacher's tokenizer and labels, so that it reads the same tokens and writes the same score
columns: its config starts as the teacher's (vocabulary, special token ids, labels, pooling, attention layout)
with the sizes of the preset or of the given config.json put over it. A student narrower than the teacher starts
its token embeddings from the teacher's, projected onto their first principal components (the directions in which
the teacher's embeddings differ most); a student as wide as the teacher copies them; a wider one starts at random.
The teacher's embeddings are a better start than noise for a model that sees far fewer texts than the teacher did
(:func:`initial_embeddings`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..errors import ConfigurationError

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class StudentShape:
    """The sizes that make a ModernBERT student small.

    Attributes:
        hidden_size: the width of every token's vector.
        num_hidden_layers: encoder layers.
        num_attention_heads: attention heads per layer (``hidden_size`` must divide by it).
        intermediate_size: the width of each layer's gated MLP.

    Examples:
        >>> STUDENT_PRESETS["tiny"].hidden_size
        128
    """

    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int


#: ``small`` is goemotions-small's shape; ``tiny`` has a quarter of its layers' multiply-adds per token (half the
#: width, two layers) and half its embedding table: benchmarks/README.md has both students' figures.
STUDENT_PRESETS: dict[str, StudentShape] = {
    "small": StudentShape(hidden_size=256, num_hidden_layers=2, num_attention_heads=4, intermediate_size=384),
    "tiny": StudentShape(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=192),
}

#: Config keys a student always takes from the teacher: what ties it to the teacher's tokenizer and labels.
TEACHER_KEYS = (
    "vocab_size",
    "pad_token_id",
    "cls_token_id",
    "sep_token_id",
    "bos_token_id",
    "eos_token_id",
    "id2label",
    "label2id",
    "problem_type",
)


def student_shape(student: str | Path) -> StudentShape | dict[str, Any]:
    """A preset's shape, or the settings of a ModernBERT ``config.json`` file.

    Args:
        student: ``"small"``, ``"tiny"``, or the path of a ``config.json``.

    Returns:
        the preset's :class:`StudentShape`, or the config file's keys.

    Raises:
        ConfigurationError: for an unknown preset, or a file that is not a ModernBERT config.

    Examples:
        >>> student_shape("small").num_hidden_layers
        2
    """
    name = str(student)
    if name in STUDENT_PRESETS:
        return STUDENT_PRESETS[name]
    path = Path(name)
    if not path.is_file():
        raise ConfigurationError(
            f"student must be a preset ({', '.join(STUDENT_PRESETS)}) or a ModernBERT config.json file; {name!r} is "
            "neither. Example: --student tiny",
            options=("student",),
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigurationError(f"Could not read the student config {path}: {error}", options=("student",)) from error
    if not isinstance(data, dict) or data.get("model_type") != "modernbert":
        raise ConfigurationError(
            f"The student config {path} must be a ModernBERT config.json (model_type 'modernbert'); students share the "
            "teacher's tokenizer and run on every backend as ModernBERT. Example: --student tiny",
            options=("student",),
        )
    return data


def student_config(teacher_config: dict[str, Any], shape: StudentShape | dict[str, Any], vocab_size: int) -> dict[str, Any]:
    """The student's config as a dict: the teacher's, with the student's sizes over it.

    Args:
        teacher_config: the teacher's ``config.json`` as a dict (a ModernBERT).
        shape: a preset's shape or a config file's settings (:func:`student_shape`); a config file's labels and
            vocabulary, where it names them, must be the teacher's.
        vocab_size: the length of the teacher's tokenizer (the student's embedding rows).

    Returns:
        the config, ready for ``ModernBertConfig(**config)``.

    Raises:
        ConfigurationError: for a teacher that is not a ModernBERT, a config with other labels or another
            vocabulary than the teacher's, or sizes that do not fit together.

    Examples:
        >>> teacher = {"model_type": "modernbert", "hidden_size": 768, "num_hidden_layers": 22,
        ...            "num_attention_heads": 12, "intermediate_size": 1152, "id2label": {"0": "joy"}}
        >>> student_config(teacher, STUDENT_PRESETS["tiny"], 50368)["hidden_size"]
        128
    """
    if teacher_config.get("model_type") != "modernbert":
        raise ConfigurationError(
            f"The teacher is a {teacher_config.get('model_type')!r} model; distillation builds ModernBERT students from a "
            "ModernBERT teacher's config and tokenizer."
        )
    sizes = asdict(shape) if isinstance(shape, StudentShape) else dict(shape)
    _check_same_labels(teacher_config, sizes)
    if "vocab_size" in sizes and int(sizes["vocab_size"]) != max(int(vocab_size), int(teacher_config.get("vocab_size", 0))):
        raise ConfigurationError(
            f"The student config has vocab_size {sizes['vocab_size']}, the teacher's tokenizer {vocab_size} tokens: a "
            "student keeps the teacher's tokenizer. Remove vocab_size from the student config.",
            options=("student",),
        )
    sizes = {key: value for key, value in sizes.items() if key not in TEACHER_KEYS}
    # layer_types lists the teacher's layers one by one (transformers 5 writes it); the student's follow from its own
    # num_hidden_layers and the teacher's global_attn_every_n_layers unless its config lists them.
    per_teacher = ("architectures", "_name_or_path", "layer_types")
    config = {key: value for key, value in teacher_config.items() if key not in per_teacher}
    config.update(sizes)
    config["vocab_size"] = max(int(vocab_size), int(teacher_config.get("vocab_size", 0)))
    config["architectures"] = ["ModernBertForSequenceClassification"]
    hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
    if hidden % heads:
        raise ConfigurationError(
            f"The student's hidden_size ({hidden}) must divide by num_attention_heads ({heads}). Example: 128 and 2.",
            options=("student",),
        )
    return config


def _check_same_labels(teacher_config: dict[str, Any], student: dict[str, Any]) -> None:
    if "id2label" not in student:
        return
    teacher_labels = [str(v) for _, v in sorted((int(k), v) for k, v in teacher_config.get("id2label", {}).items())]
    student_labels = [str(v) for _, v in sorted((int(k), v) for k, v in dict(student["id2label"]).items())]
    if student_labels != teacher_labels:
        only_student = sorted(set(student_labels) - set(teacher_labels))
        only_teacher = sorted(set(teacher_labels) - set(student_labels))
        raise ConfigurationError(
            "The student config's labels are not the teacher's: a student learns the teacher's scores, label by label. "
            f"Only in the student: {only_student or 'none'}; only in the teacher: {only_teacher or 'none'}"
            f"{'; the order differs' if not only_student and not only_teacher else ''}. Remove id2label and label2id from "
            "the student config (it takes the teacher's).",
            options=("student",),
        )


def initial_embeddings(teacher_embeddings: npt.ArrayLike, width: int) -> npt.NDArray[np.float32]:
    """The student's first token embeddings: the teacher's, projected onto their ``width`` first principal components.

    The projection keeps the directions in which the teacher's token vectors differ most, scaled so that the
    student's vectors have the teacher's mean norm per dimension. A student as wide as the teacher gets a copy.

    Args:
        teacher_embeddings: the teacher's (vocabulary, hidden) token embedding matrix.
        width: the student's hidden size.

    Returns:
        a (vocabulary, width) float32 matrix.

    Raises:
        ConfigurationError: when the student is wider than the teacher (nothing to project onto).

    Examples:
        >>> teacher = np.random.default_rng(0).normal(size=(50, 8))
        >>> initial_embeddings(teacher, 4).shape
        (50, 4)
    """
    matrix = np.asarray(teacher_embeddings, dtype=np.float64)
    if width == matrix.shape[1]:
        return matrix.astype(np.float32)
    if width > matrix.shape[1]:
        raise ConfigurationError(
            f"The student ({width} wide) is wider than the teacher ({matrix.shape[1]}): a student must be smaller."
        )
    centred = matrix - matrix.mean(axis=0, keepdims=True)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ components[:width].T
    scale = float(matrix.std()) / max(float(projected.std()), 1e-12)
    result: npt.NDArray[np.float32] = (projected * scale).astype(np.float32)
    return result


def build_student(config: dict[str, Any], teacher_embeddings: npt.ArrayLike | None, *, seed: int) -> torch.nn.Module:
    """A randomly initialized ModernBERT classifier with ``config``, its token embeddings from the teacher's.

    Args:
        config: the student's config (:func:`student_config`).
        teacher_embeddings: the teacher's token embeddings (None, or a student wider than the teacher: random, as
            transformers initializes them).
        seed: seeds the random initialization: the same seed, the same student.

    Returns:
        the student, in float32, in training mode.
    """
    import torch
    from transformers import ModernBertConfig, ModernBertForSequenceClassification

    from ..core.quiet import quiet_transformers

    torch.manual_seed(seed)
    with quiet_transformers():
        model = ModernBertForSequenceClassification(ModernBertConfig(**config))
    teacher_width = np.shape(teacher_embeddings)[1] if teacher_embeddings is not None else 0
    if teacher_embeddings is not None and int(config["hidden_size"]) <= teacher_width:
        start = initial_embeddings(teacher_embeddings, int(config["hidden_size"]))
        table = model.model.embeddings.tok_embeddings.weight
        with torch.no_grad():
            table[: start.shape[0]].copy_(torch.from_numpy(start))
    model.float().train()  # type: ignore[no-untyped-call]
    module: torch.nn.Module = model
    return module
