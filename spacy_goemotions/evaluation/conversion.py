"""Convert labelled data (GoEmotions TSV, CSV, JSONL, Parquet) into a spaCy ``.spacy`` DocBin.

Each Doc gets gold ``doc.cats`` for every label (1.0 or 0.0), the format spaCy's textcat
scorers and ``spacy evaluate`` read, and its id in ``doc.user_data["id"]``. Docs are only
tokenized (``nlp.make_doc``): no pipeline runs, so conversion is fast and needs no model.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..labels import GOEMOTIONS_LABELS
from .datasets import DatasetError, LabelledData, read_dataset


def convert_to_docbin(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    lang: str = "en",
    labels: Sequence[str] | None = GOEMOTIONS_LABELS,
    limit: int | None = None,
    **read_options: Any,
) -> int:
    """Write a ``.spacy`` DocBin with gold ``doc.cats`` for all labels.

    Args:
        input_path: a file :func:`spacy_goemotions.datasets.read_dataset` reads.
        output_path: the ``.spacy`` file to write (parent folders are created).
        lang: the language of the blank tokenizer (``spacy.blank(lang)``).
        labels: the label set (and the meaning of numeric ids in the data); None: the names the data uses.
        limit: convert only the first ``limit`` rows (for quick runs).
        read_options: ``text_column``, ``labels_column``, ``id_column``, ``format``.

    Returns:
        The number of Docs written.

    Examples:
        >>> convert_to_docbin("dev.tsv", "corpus/dev.spacy")      # doctest: +SKIP
        5426
    """
    data = read_dataset(input_path, labels=labels, **read_options)
    return write_docbin(data, output_path, lang=lang, limit=limit)


def write_docbin(data: LabelledData, output_path: str | os.PathLike[str], *, lang: str = "en", limit: int | None = None) -> int:
    """Write labelled data as a ``.spacy`` DocBin: each Doc's ``cats`` hold every label of the set, 1.0 or 0.0.

    Args:
        data: the labelled texts.
        output_path: the ``.spacy`` file to write (parent folders are created).
        lang: the language of the blank tokenizer.
        limit: write only the first ``limit`` rows.

    Returns:
        The number of Docs written.
    """
    import spacy
    from spacy.tokens import DocBin

    count = len(data) if limit is None else min(len(data), limit)
    nlp = spacy.blank(lang)
    docbin = DocBin(store_user_data=True)
    for text, identifier, row in zip(data.texts[:count], data.ids[:count], data.gold[:count], strict=True):
        doc = nlp.make_doc(text)
        doc.cats = {name: float(value) for name, value in zip(data.labels, row.tolist(), strict=True)}
        doc.user_data["id"] = identifier
        docbin.add(doc)
    output = Path(output_path)
    output.parent.mkdir(parents=True, exist_ok=True)
    docbin.to_disk(output)
    return count


def docbin_records(path: str | os.PathLike[str]) -> Iterator[tuple[str, str | None, list[str]]]:
    """``(text, id, labels)`` of each Doc of a ``.spacy`` file: the labels whose ``doc.cats`` value is >= 0.5 (gold
    cats are 1.0 or 0.0), the id from ``doc.user_data["id"]`` (as :func:`write_docbin` stores it) or None.

    Raises:
        DatasetError: for a file that is not a DocBin.
    """
    import spacy
    from spacy.tokens import DocBin

    try:
        docbin = DocBin().from_disk(Path(path))
    except (ValueError, OSError, KeyError, TypeError) as error:
        raise DatasetError(f"{str(path)!r} is not a spaCy DocBin (.spacy) file: {error}") from None
    for doc in docbin.get_docs(spacy.blank("xx").vocab):
        identifier = doc.user_data.get("id")
        yield (
            doc.text,
            None if identifier is None else str(identifier),
            [name for name, value in doc.cats.items() if value >= 0.5],
        )
