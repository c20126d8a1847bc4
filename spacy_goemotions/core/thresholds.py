"""Threshold policies: which labels a score row selects.

Raw scores are data; a policy is the decision rule applied on top of them. A label is selected
when ``score >= threshold[label]``; with ``top_k`` at most ``k`` of the passing labels are kept,
highest score first. Policies are plain data (``to_dict``/``from_dict``) so they can be saved with
a spaCy pipeline or a JSON file, and they live here, in the core, so that every adapter applies
exactly the same rule.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import catalogue
import numpy as np
import numpy.typing as npt

from ..errors import ConfigurationError
from ..labels import GOEMOTIONS_LABELS

#: What ``threshold=`` accepts: a float for every label, a mapping label -> float (unlisted labels
#: use 0.5), a preset name (``"model_card"``, ``"tuned"`` or a registered one), or a JSON file path.
ThresholdSpec = float | Mapping[str, float] | str | os.PathLike[str]

DEFAULT_THRESHOLD = 0.5
#: Preset meaning "the thresholds shipped with the model" (a ``thresholds.json`` beside its weights).
TUNED_PRESET = "tuned"
THRESHOLDS_FILE_FORMAT = "spacy-goemotions/thresholds.v1"

#: Registry of named threshold presets: functions that return a mapping label -> threshold.
#: Third-party packages add presets through the ``spacy_goemotions_threshold_presets`` entry point.
threshold_presets = catalogue.create("spacy_goemotions", "threshold_presets", entry_points=True)

# Per-label thresholds of the model card's "Optimal Results" table (tuned on the training set).
_MODEL_CARD_THRESHOLDS: dict[str, float] = {
    "admiration": 0.39,
    "amusement": 0.60,
    "anger": 0.35,
    "annoyance": 0.34,
    "approval": 0.28,
    "caring": 0.37,
    "confusion": 0.39,
    "curiosity": 0.40,
    "desire": 0.35,
    "disappointment": 0.24,
    "disapproval": 0.26,
    "disgust": 0.32,
    "embarrassment": 0.31,
    "excitement": 0.30,
    "fear": 0.45,
    "gratitude": 0.56,
    "grief": 0.14,
    "joy": 0.37,
    "love": 0.54,
    "nervousness": 0.31,
    "optimism": 0.32,
    "pride": 0.27,
    "realization": 0.20,
    "relief": 0.20,
    "remorse": 0.50,
    "sadness": 0.40,
    "surprise": 0.46,
    "neutral": 0.40,
}


@threshold_presets.register("model_card")  # type: ignore[untyped-decorator]
def model_card_thresholds() -> dict[str, float]:
    """Per-label thresholds published on the cirimus/modernbert-base-go-emotions model card."""
    return dict(_MODEL_CARD_THRESHOLDS)


def check_unit_interval(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ConfigurationError(
            f"{what} must be a number in [0, 1], got {value!r} ({type(value).__name__}). Example: threshold=0.3"
        )
    number = float(value)
    if math.isnan(number) or not 0.0 <= number <= 1.0:
        raise ConfigurationError(
            f"{what} must be in [0, 1], got {value!r}. Scores are sigmoid probabilities, so a "
            "threshold outside [0, 1] selects every label or none. Example: threshold=0.3"
        )
    return number


def check_top_k(top_k: Any) -> int | None:
    if top_k is None:
        return None
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ConfigurationError(
            f"top_k must be None or an integer >= 1, got {top_k!r}. "
            "Example: top_k=3 keeps at most the three highest-scoring selected labels."
        )
    return int(top_k)


def _check_label_mapping(mapping: Mapping[Any, Any], labels: Sequence[str], source: str) -> dict[str, float]:
    unknown = [name for name in mapping if name not in labels]
    if unknown:
        raise ConfigurationError(
            f"Unknown label(s) {unknown!r} in {source}. Valid labels: {', '.join(labels)}. "
            'Example: threshold={"joy": 0.3, "anger": 0.6}'
        )
    return {name: check_unit_interval(value, f"The threshold for {name!r}") for name, value in mapping.items()}


def read_thresholds_file(path: str | os.PathLike[str]) -> dict[str, float]:
    """Read per-label thresholds from JSON: ``{"thresholds": {label: t}}`` or a flat ``{label: t}``."""
    file = Path(path)
    if not file.is_file():
        raise ConfigurationError(
            f"Threshold file {str(file)!r} does not exist. Pass a float (threshold=0.5), a preset "
            f"({', '.join(sorted(available_presets()))}), a dict, or the path of a JSON file written "
            "by tune_thresholds / `spacy-goemotions tune-thresholds`."
        )
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"Threshold file {str(file)!r} is not valid JSON: {error}") from error
    if isinstance(data, dict) and isinstance(data.get("thresholds"), dict):
        data = data["thresholds"]
    if not isinstance(data, dict):
        raise ConfigurationError(
            f'Threshold file {str(file)!r} must hold a JSON object of label -> threshold, e.g. {{"thresholds": {{"joy": 0.3}}}}.'
        )
    return {str(name): value for name, value in data.items()}


def available_presets() -> list[str]:
    """Names accepted as ``threshold="<name>"``.

    Returns:
        the preset names, sorted: the registered presets and ``"tuned"``.

    Examples:
        >>> "model_card" in available_presets() and "tuned" in available_presets()
        True
    """
    return sorted({*threshold_presets.get_all(), TUNED_PRESET})


@dataclass(frozen=True)
class ThresholdPolicy:
    """A decision rule over score rows.

    Args:
        thresholds: label -> threshold for labels that differ from ``default``; ``None`` means
            "the thresholds shipped with the model" (the ``"tuned"`` preset), supplied when applied.
        default: threshold of every label not in ``thresholds``.
        top_k: keep at most this many selected labels per row (highest first); None keeps all.
        source: where the policy came from (a preset name, a file, "float", "dict"), for display.

    Examples:
        >>> policy = ThresholdPolicy.from_spec({"joy": 0.3}, top_k=2)
        >>> policy.cutoffs(("joy", "anger")).tolist()
        [0.30000001192092896, 0.5]
    """

    thresholds: Mapping[str, float] | None = field(default_factory=dict)
    default: float = DEFAULT_THRESHOLD
    top_k: int | None = None
    source: str = "float"

    @classmethod
    def from_spec(
        cls,
        threshold: ThresholdSpec | None = DEFAULT_THRESHOLD,
        top_k: int | None = None,
        *,
        labels: Sequence[str] = GOEMOTIONS_LABELS,
    ) -> ThresholdPolicy:
        """Build and validate a policy from what users pass as ``threshold=`` and ``top_k=``.

        Args:
            threshold: a float in [0, 1], ``{label: float}``, a preset name (``"model_card"``, ``"tuned"``, a
                registered one), the path of a thresholds JSON file, a ``ThresholdPolicy``, or None for 0.5.
            top_k: keep at most this many selected labels per row; None keeps all.
            labels: the labels the policy may name (a dict or file naming another label fails).

        Returns:
            the validated policy.

        Raises:
            ConfigurationError: for values outside [0, 1], unknown labels, unknown presets,
                missing files or ``top_k < 1``, with the bad value and a right example.
        """
        checked_top_k = check_top_k(top_k)
        if threshold is None:
            threshold = DEFAULT_THRESHOLD
        if isinstance(threshold, ThresholdPolicy):
            return cls(threshold.thresholds, threshold.default, checked_top_k, threshold.source)
        if isinstance(threshold, (int, float, np.floating, np.integer)) and not isinstance(threshold, bool):
            return cls({}, check_unit_interval(threshold, "threshold"), checked_top_k, "float")
        if isinstance(threshold, Mapping):
            nested = threshold.get("thresholds")
            mapping: Mapping[Any, Any] = nested if isinstance(nested, Mapping) else threshold  # tune_thresholds' dict
            return cls(_check_label_mapping(mapping, labels, "the threshold dict"), DEFAULT_THRESHOLD, checked_top_k, "dict")
        if isinstance(threshold, (str, os.PathLike)):
            name = os.fspath(threshold)
            if name == TUNED_PRESET:
                return cls(None, DEFAULT_THRESHOLD, checked_top_k, TUNED_PRESET)
            if name in threshold_presets:
                preset: Callable[[], Mapping[str, float]] = threshold_presets.get(name)
                return cls(_check_label_mapping(preset(), labels, f"preset {name!r}"), DEFAULT_THRESHOLD, checked_top_k, name)
            looks_like_path = isinstance(threshold, os.PathLike) or name.endswith(".json") or os.sep in name
            if looks_like_path or Path(name).exists():
                mapping = _check_label_mapping(read_thresholds_file(name), labels, f"threshold file {name!r}")
                return cls(mapping, DEFAULT_THRESHOLD, checked_top_k, name)
            raise ConfigurationError(
                f"Unknown threshold preset {name!r}. Choose one of {available_presets()}, a float "
                "(threshold=0.5), a dict ({'joy': 0.3}) or the path of a thresholds JSON file."
            )
        raise ConfigurationError(
            f"threshold must be a float, a dict label -> float, a preset name or a JSON path; got "
            f"{threshold!r} ({type(threshold).__name__}). Example: threshold='model_card'"
        )

    def cutoffs(self, labels: Sequence[str], model_thresholds: Mapping[str, float] | None = None) -> npt.NDArray[np.float32]:
        """The per-label thresholds for a model's label order, as a float32 array.

        Args:
            labels: the model's labels, in column order.
            model_thresholds: the thresholds shipped with the model; required by ``"tuned"``.

        Returns:
            float32 array, one threshold per label of ``labels``.
        """
        mapping = self.thresholds
        if mapping is None:
            if not model_thresholds:
                raise ConfigurationError(
                    'threshold="tuned" uses the thresholds shipped with the model, but this model '
                    "has no thresholds.json. Use threshold='model_card', a float, or a file from "
                    "`spacy-goemotions tune-thresholds`."
                )
            mapping = model_thresholds
        missing = [name for name in mapping if name not in labels]
        if missing:
            raise ConfigurationError(
                f"The threshold policy ({self.source}) names label(s) {missing!r} that the model does "
                f"not have. The model's labels: {', '.join(labels)}."
            )
        return np.array([mapping.get(name, self.default) for name in labels], dtype=np.float32)

    def bound(self, labels: Sequence[str], model_thresholds: Mapping[str, float] | None) -> ThresholdPolicy:
        """This policy with nothing left to resolve: ``"tuned"`` becomes the model's shipped thresholds, as data.

        Done once, where a job is built (the caller's side), so that workers, partitions and saved runs apply
        one policy and never look for a ``thresholds.json`` themselves. Any other policy is returned as is.

        Args:
            labels: the model's labels, in column order.
            model_thresholds: the thresholds shipped with the model (None when it ships none).

        Returns:
            a policy whose thresholds are data (never the ``"tuned"`` placeholder).

        Raises:
            ConfigurationError: ``"tuned"`` for a model that ships no thresholds.
        """
        if self.thresholds is not None:
            return self
        cutoffs = self.cutoffs(labels, model_thresholds)
        return ThresholdPolicy(dict(zip(labels, cutoffs.tolist(), strict=True)), self.default, self.top_k, self.source)

    def select(
        self,
        scores: npt.NDArray[np.floating[Any]],
        labels: Sequence[str],
        model_thresholds: Mapping[str, float] | None = None,
    ) -> list[list[int]]:
        """Column indices selected in each row, highest score first. NaN rows select nothing.

        Args:
            scores: (n, len(labels)) scores.
            labels: the column names of ``scores``.
            model_thresholds: the thresholds shipped with the model; required by ``"tuned"``.

        Returns:
            per row, the indices of the selected columns.
        """
        matrix = np.asarray(scores, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[1] != len(labels):
            raise ValueError(f"scores must have shape (n, {len(labels)}), got {matrix.shape}")
        with np.errstate(invalid="ignore"):
            passed = matrix >= self.cutoffs(labels, model_thresholds)[None, :]
        counts = passed.sum(axis=1)
        if self.top_k is not None:
            counts = np.minimum(counts, self.top_k)
        ranked = np.argsort(np.where(passed, -matrix, np.inf), axis=1, kind="stable")
        return [ranked[row, :count].tolist() for row, count in enumerate(counts.tolist())]

    def select_labels(
        self,
        scores: npt.NDArray[np.floating[Any]],
        labels: Sequence[str],
        model_thresholds: Mapping[str, float] | None = None,
    ) -> list[list[str]]:
        """Like :meth:`select`, with label names instead of column indices.

        Args:
            scores: (n, len(labels)) scores.
            labels: the column names of ``scores``.
            model_thresholds: the thresholds shipped with the model; required by ``"tuned"``.

        Returns:
            per row, the selected labels, highest score first.

        Examples:
            >>> import numpy as np
            >>> ThresholdPolicy.from_spec(0.5).select_labels(np.array([[0.9, 0.6], [0.1, 0.2]]), ["joy", "anger"])
            [['joy', 'anger'], []]
        """
        return [[labels[i] for i in row] for row in self.select(scores, labels, model_thresholds)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable form; :meth:`from_dict` restores it.

        Returns:
            ``{"thresholds", "default", "top_k", "source"}`` with plain floats.
        """
        thresholds = None if self.thresholds is None else {k: float(v) for k, v in self.thresholds.items()}
        return {"thresholds": thresholds, "default": self.default, "top_k": self.top_k, "source": self.source}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, labels: Sequence[str] = GOEMOTIONS_LABELS) -> ThresholdPolicy:
        """Inverse of :meth:`to_dict`, validating every value.

        Args:
            data: what :meth:`to_dict` returned.
            labels: the labels the thresholds may name.

        Returns:
            the policy.
        """
        raw = data.get("thresholds")
        thresholds = None if raw is None else _check_label_mapping(raw, labels, "the saved policy")
        default = check_unit_interval(data.get("default", DEFAULT_THRESHOLD), "default threshold")
        return cls(thresholds, default, check_top_k(data.get("top_k")), str(data.get("source", "dict")))
