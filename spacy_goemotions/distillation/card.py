"""The student's model card: ``README.md`` in the student directory, written from the distillation record."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def card_text(record: dict[str, Any]) -> str:
    """The model card's Markdown: teacher, texts, agreement, labelled F1, speed and the command that made it.

    Args:
        record: what :func:`~spacy_goemotions.distillation.distill` measured (``distillation.json``).

    Returns:
        the Markdown text.

    Examples:
        >>> text = card_text({"teacher": {"model": "goemotions-small"}, "student": {}, "texts": {}, "agreement": {}})
        >>> text.splitlines()[0]
        '# A student distilled from goemotions-small'
    """
    teacher, student, texts = record["teacher"], record["student"], record["texts"]
    followed = record["agreement"]
    lines = [
        f"# A student distilled from {teacher.get('model')}",
        "",
        "A small ModernBERT trained on the teacher's scores over unlabelled texts (spacy-goemotions "
        f"{record.get('library_version', '')}). It keeps the teacher's tokenizer and labels; load it as "
        '`model="THIS_DIRECTORY"` anywhere a model is taken. Its `thresholds.json` are used with `threshold="tuned"`.',
        "",
        "## Teacher and student",
        "",
        f"- Teacher: `{teacher.get('model')}` (revision {teacher.get('revision') or 'as found'}), scored with "
        f"{teacher.get('engine')}.",
        f"- Student: `{student.get('preset_or_config')}`, {student.get('parameters', 0):,} parameters, {student.get('config')}.",
        f"- Loss: {record.get('loss')}.",
        "",
        "## Texts",
        "",
        f"- Source: `{texts.get('source')}` (column `{texts.get('text_column')}`), SHA-256 `{texts.get('sha256')}`.",
        f"- {texts.get('scored', 0):,} texts scored by the teacher ({_rows(texts.get('without_text', 0))} without text "
        f"left out{', the scores read from the cache of an earlier run' if texts.get('scores_resumed') else ''}): "
        f"{texts.get('training', 0):,} trained on, {texts.get('held_out_thresholds', 0):,} held out for thresholds, "
        f"{texts.get('held_out_agreement', 0):,} held out for agreement (split by each text's content hash).",
        f"- Thresholds tuned on {record.get('thresholds_tuned_on')}.",
        "",
        "## Agreement with the teacher",
        "",
        f"On {followed.get('texts', 0):,} held-out texts neither model trained on:",
        "",
        "| measure | value |",
        "|---|---|",
        f"| (text, label) decisions equal, each at its thresholds | {_share(followed.get('decisions'))} |",
        f"| texts with the same label set | {_share(followed.get('texts_equal'))} |",
        f"| Spearman correlation of scores (mean over labels) | {_number(followed.get('spearman'))} |",
    ]
    labelled = record.get("labelled")
    if labelled:
        lines += [
            "",
            "## On labelled data",
            "",
            f"`{labelled['data']}`, {labelled['texts']:,} texts: macro-F1 student {_number(labelled['student_macro_f1'])}, "
            f"teacher {_number(labelled['teacher_macro_f1'])} (ratio {_number(labelled['ratio'])}); {labelled['note']}.",
        ]
    speed = record.get("speed")
    if speed:
        lines += [
            "",
            "## Speed on the machine that made it",
            "",
            f"{speed['texts']:,} distinct texts of the input (held-out ones first) on {speed['engine']}: "
            f"student {speed['student_texts_per_s']:,.0f} texts/s, "
            f"teacher {speed['teacher_texts_per_s']:,.0f} texts/s ({speed['speedup']}x).",
        ]
    lines += ["", "## How it was made", "", "```", str(record.get("command") or "(the Python API)"), "```", ""]
    training = record.get("training", {})
    if training:
        lines += [
            f"Teacher scoring {training.get('teacher_scoring_seconds')} s, training {training.get('seconds')} s; "
            f"mean loss per epoch {training.get('epochs_loss')}. Settings: `{record.get('settings')}`.",
            "",
        ]
    return "\n".join(lines)


def write_card(path: Path, record: dict[str, Any]) -> None:
    """Write the model card to ``path``.

    Args:
        path: the ``README.md`` to write.
        record: the distillation record.
    """
    path.write_text(card_text(record), encoding="utf-8")


def _rows(count: int) -> str:
    return f"{count:,} row" if count == 1 else f"{count:,} rows"


def _share(value: Any) -> str:
    return f"{100 * value:.1f}%" if isinstance(value, (int, float)) else "n/a"


def _number(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) else "n/a"
