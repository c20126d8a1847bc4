"""Emotion groupings: the GoEmotions authors' Ekman and sentiment groups, or your own.

A taxonomy puts every label of a model in exactly one group. A group's score is the **maximum** of
its members' scores (a text is as angry as its angriest label), and a text is gold for a group when
any member label is gold. Groups are selected by the same kinds of policy as labels (a float, a
per-group dict or JSON file, ``top_k``).

Built in: ``"ekman"`` (anger, disgust, fear, joy, sadness, surprise) and ``"sentiment"`` (positive,
negative, ambiguous), each plus ``neutral`` (the ``neutral`` label itself), from the package data
copied from the GoEmotions release (``data/README.md``). Others come from a JSON file
``{"group": ["label", ...]}`` (named after the file) or from the registry
``spacy_goemotions.taxonomies`` (``@spacy_goemotions.taxonomies.register("name")`` on a function that
returns the mapping, or the ``spacy_goemotions_taxonomies`` entry point group).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import catalogue
import numpy as np
import numpy.typing as npt

from ..errors import ConfigurationError
from ..labels import GOEMOTIONS_LABELS

#: Registry of named taxonomies: functions that return ``{group: [labels]}``.
taxonomies = catalogue.create("spacy_goemotions", "taxonomies", entry_points=True)

_DATA = Path(__file__).parents[1] / "data"


def _goemotions_grouping(file: str) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = json.loads((_DATA / file).read_text(encoding="utf-8"))
    return {**groups, "neutral": ["neutral"]}


@taxonomies.register("ekman")  # type: ignore[untyped-decorator]
def ekman() -> dict[str, list[str]]:
    """Ekman's six basic emotions, plus neutral (GoEmotions' ``ekman_mapping.json``)."""
    return _goemotions_grouping("ekman_mapping.json")


@taxonomies.register("sentiment")  # type: ignore[untyped-decorator]
def sentiment() -> dict[str, list[str]]:
    """Positive, negative and ambiguous, plus neutral (GoEmotions' ``sentiment_dict.json``)."""
    return _goemotions_grouping("sentiment_dict.json")


@dataclass(frozen=True)
class Taxonomy:
    """A grouping of a model's labels: every label in exactly one group.

    Attributes:
        name: names the output columns (``{prefix}{name}_{group}`` and the list column ``name``).
        groups: group -> member labels, in the taxonomy's order.
        source: where it came from (``"built-in"``, a file, ``"registry"``, ``"dict"``), for messages.

    Examples:
        >>> taxonomy = load_taxonomy("ekman")
        >>> taxonomy.group_names
        ('anger', 'disgust', 'fear', 'joy', 'sadness', 'surprise', 'neutral')
    """

    name: str
    groups: Mapping[str, tuple[str, ...]]
    source: str = "dict"

    @classmethod
    def from_mapping(
        cls, name: str, mapping: Mapping[str, Sequence[str]], labels: Sequence[str] = GOEMOTIONS_LABELS, source: str = "dict"
    ) -> Taxonomy:
        """Validate ``mapping`` against a model's ``labels`` and build the taxonomy.

        Args:
            name: the taxonomy's name (names its output columns).
            mapping: group -> member labels.
            labels: the model's labels.
            source: where the mapping came from, for messages.

        Returns:
            the validated taxonomy.

        Raises:
            ConfigurationError: for an empty group, an unknown label, a label in two groups, or a label
                in no group (name it in a group, e.g. one called ``"other"``), naming the offenders.
        """
        where = f"taxonomy {name!r} ({source})"
        if not isinstance(name, str) or not name or not isinstance(mapping, Mapping) or not mapping:
            raise ConfigurationError(
                f"A taxonomy needs a name and a non-empty {{group: [labels]}} mapping, got {name!r}: {mapping!r}"
            )
        groups: dict[str, tuple[str, ...]] = {}
        for group, members in mapping.items():
            if isinstance(members, str) or not isinstance(members, Sequence) or not members:
                raise ConfigurationError(f"Group {group!r} of {where} must list at least one label, got {members!r}.")
            groups[str(group)] = tuple(str(member) for member in members)
        unknown = sorted({m for members in groups.values() for m in members if m not in labels})
        if unknown:
            raise ConfigurationError(
                f"{where} names label(s) {unknown} that the model does not have. Its labels: {', '.join(labels)}."
            )
        owners: dict[str, list[str]] = {}
        for group, members in groups.items():
            for member in members:
                owners.setdefault(member, []).append(group)
        twice = {label: found for label, found in owners.items() if len(found) > 1}
        if twice:
            raise ConfigurationError(f"In {where}, each label must be in one group; these are in several: {twice}.")
        missing = [label for label in labels if label not in owners]
        if missing:
            raise ConfigurationError(
                f"{where} leaves label(s) {missing} in no group. Put each in a group (for instance one named 'other': "
                f'{{"other": {json.dumps(missing)}}}), so that no score is silently dropped.'
            )
        return cls(name, groups, source)

    @property
    def group_names(self) -> tuple[str, ...]:
        return tuple(self.groups)

    def columns(self, labels: Sequence[str]) -> list[npt.NDArray[np.intp]]:
        """For each group, the score columns (label indices) of its members.

        Args:
            labels: the model's labels, in column order.

        Returns:
            one array of column indices per group, in group order.
        """
        return [np.array([labels.index(member) for member in members], dtype=np.intp) for members in self.groups.values()]

    def scores(self, label_scores: npt.NDArray[np.float32], labels: Sequence[str]) -> npt.NDArray[np.float32]:
        """``(n, groups)`` float32: each group's score, the maximum of its members' (NaN rows stay NaN).

        Args:
            label_scores: (n, len(labels)) label scores.
            labels: their column names.

        Returns:
            the group scores, one column per group.
        """
        matrix = np.asarray(label_scores, dtype=np.float32)
        out = np.empty((len(matrix), len(self.groups)), dtype=np.float32)
        for group, columns in enumerate(self.columns(labels)):
            out[:, group] = matrix[:, columns].max(axis=1)
        return out

    def gold(self, label_gold: npt.ArrayLike, labels: Sequence[str]) -> npt.NDArray[np.uint8]:
        """``(n, groups)`` 0/1: a text is gold for a group when any of its member labels is gold.

        Args:
            label_gold: (n, len(labels)) 0/1 gold labels.
            labels: their column names.

        Returns:
            the gold groups, one column per group.
        """
        matrix = np.asarray(label_gold).astype(bool)
        return np.stack([matrix[:, columns].any(axis=1) for columns in self.columns(labels)], axis=1).astype(np.uint8)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (a spaCy pipeline saves it, so that a taxonomy file need not exist where it loads).

        Returns:
            ``{"name", "groups", "source"}``.
        """
        return {
            "name": self.name,
            "groups": {group: list(members) for group, members in self.groups.items()},
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], labels: Sequence[str] = GOEMOTIONS_LABELS) -> Taxonomy:
        """The taxonomy :meth:`to_dict` wrote, validated again against ``labels``.

        Args:
            data: what :meth:`to_dict` returned.
            labels: the model's labels.

        Returns:
            the taxonomy.
        """
        return cls.from_mapping(str(data["name"]), data["groups"], labels, str(data.get("source", "dict")))


#: What ``taxonomy=`` accepts: a name (built-in or registered), a JSON file path, or a :class:`Taxonomy`.
TaxonomySpec = Union[str, os.PathLike[str], Taxonomy]  # noqa: UP007 (a runtime alias read by get_type_hints)


def available_taxonomies() -> list[str]:
    """Names accepted as ``taxonomy="<name>"``.

    Returns:
        the registered names, sorted (``"ekman"``, ``"sentiment"`` and your own).

    Examples:
        >>> available_taxonomies()[:2]
        ['ekman', 'sentiment']
    """
    return sorted(taxonomies.get_all())


def load_taxonomy(spec: TaxonomySpec, labels: Sequence[str] = GOEMOTIONS_LABELS) -> Taxonomy:
    """A validated :class:`Taxonomy` from a name, a JSON file or a taxonomy, for a model's ``labels``.

    Examples:
        >>> load_taxonomy("ekman").group_names
        ('anger', 'disgust', 'fear', 'joy', 'sadness', 'surprise', 'neutral')
    """
    if isinstance(spec, Taxonomy):
        return Taxonomy.from_mapping(spec.name, spec.groups, labels, spec.source)
    if not isinstance(spec, (str, os.PathLike)):
        raise ConfigurationError(
            f"taxonomy must be a name ({', '.join(available_taxonomies())}), a JSON file path or a Taxonomy, got {spec!r}. "
            "Example: taxonomy='ekman'"
        )
    text = os.fspath(spec)
    if isinstance(spec, str) and spec in taxonomies:
        build: Callable[[], Mapping[str, Sequence[str]]] = taxonomies.get(spec)
        source = "built-in" if spec in ("ekman", "sentiment") else "registry"
        return Taxonomy.from_mapping(spec, build(), labels, source)
    path = Path(text)
    if path.suffix.lower() == ".json" or path.exists():
        if not path.is_file():
            raise ConfigurationError(
                f"Taxonomy file {text!r} does not exist. Known taxonomies: {', '.join(available_taxonomies())}."
            )
        try:
            mapping = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ConfigurationError(f"Taxonomy file {text!r} is not valid JSON: {error}") from error
        return Taxonomy.from_mapping(path.stem, mapping, labels, text)
    raise ConfigurationError(
        f"Unknown taxonomy {text!r}. Choose one of {available_taxonomies()}, a JSON file of {{group: [labels]}}, "
        "or register one with @spacy_goemotions.taxonomies.register(name). Example: taxonomy='ekman'"
    )
