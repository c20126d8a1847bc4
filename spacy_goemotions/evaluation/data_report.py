"""What is in labelled data before anything trains on it: counts per label, and what will cause trouble.

A training run on data with empty texts, texts without any label, labels without any example, or dev
texts that also sit in the training data wastes its time or reports figures that mean nothing; these
reports say so, with counts, when the data is converted (``spacy-goemotions convert``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from .datasets import LabelledData


@dataclass(frozen=True)
class DataReport:
    """The counts of one labelled data set.

    Attributes:
        name: what the data is called (its file).
        texts: rows.
        empty_texts: rows whose text is empty or only whitespace.
        unlabelled: rows with no label at all.
        duplicates: rows whose text already appeared in an earlier row.
        per_label: rows on per label, in the label set's order.

    Examples:
        >>> import numpy as np
        >>> data = LabelledData(["a", "a", " "], ["0", "1", "2"], np.array([[1, 0], [1, 0], [0, 0]], np.uint8), ("x", "y"))
        >>> report = describe_data(data, "train")
        >>> report.duplicates, report.empty_texts, report.unlabelled, report.unused_labels
        (1, 1, 1, ['y'])
    """

    name: str
    texts: int
    empty_texts: int
    unlabelled: int
    duplicates: int
    per_label: dict[str, int]

    @property
    def unused_labels(self) -> list[str]:
        """Labels of the set that no row has (a model cannot learn them from this data)."""
        return [label for label, count in self.per_label.items() if count == 0]

    def problems(self) -> list[str]:
        """One sentence per thing that needs a look, with its count; empty when there is none.

        Returns:
            the sentences, most serious first.
        """
        found = []
        if self.empty_texts:
            found.append(f"{self.empty_texts} empty text(s)")
        if self.unlabelled:
            found.append(f"{self.unlabelled} text(s) without any label")
        if self.unused_labels:
            found.append(f"{len(self.unused_labels)} label(s) without any example: {', '.join(self.unused_labels)}")
        if self.duplicates:
            found.append(f"{self.duplicates} duplicate text(s) within the file")
        return found


def describe_data(data: LabelledData, name: str) -> DataReport:
    """Count what is in ``data``.

    Args:
        data: labelled texts, as :func:`~spacy_goemotions.evaluation.datasets.read_dataset` returns them.
        name: what to call the data in messages (its file name).

    Returns:
        the report.
    """
    seen: set[str] = set()
    duplicates = 0
    for text in data.texts:
        duplicates += text in seen
        seen.add(text)
    return DataReport(
        name=name,
        texts=len(data),
        empty_texts=sum(not text.strip() for text in data.texts),
        unlabelled=int((data.gold.sum(axis=1) == 0).sum()) if len(data) else 0,
        duplicates=duplicates,
        per_label={label: int(count) for label, count in zip(data.labels, data.gold.sum(axis=0).tolist(), strict=True)},
    )


def shared_texts(first: LabelledData, second: LabelledData) -> int:
    """How many rows of ``second`` have a text that is also in ``first`` (e.g. dev texts also in train).

    Args:
        first: the data one (the training data, say).
        second: the other one (the dev data).

    Returns:
        the count of rows of ``second``.
    """
    texts = set(first.texts)
    return sum(text in texts for text in second.texts)


def format_reports(reports: Sequence[DataReport], overlaps: Sequence[tuple[str, str, int]] = ()) -> str:
    """The reports as text for a terminal: one line of counts per data set, then what needs a look.

    Args:
        reports: one per data set.
        overlaps: ``(first, second, count)``: rows of ``second`` whose text is in ``first``.

    Returns:
        the text, ending with a newline.
    """
    lines = []
    for report in reports:
        top = Counter(report.per_label).most_common(3)
        common = ", ".join(f"{label} {count}" for label, count in top if count)
        lines.append(f"{report.name}: {report.texts} texts, {len(report.per_label)} labels (most frequent: {common or 'none'})")
        lines += [f"  check: {problem}" for problem in report.problems()]
    for first, second, count in overlaps:
        if count:
            lines.append(f"  check: {count} text(s) of {second} are also in {first} (figures on {second} will be optimistic)")
    return "\n".join(lines) + "\n"
