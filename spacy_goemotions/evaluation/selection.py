"""Which texts are worth a human's time: picking texts to annotate from the model's scores.

Plain numpy on a score matrix (texts x labels) and the policy's per-label thresholds, so that every front end
(the CLI, the pandas accessor) picks the same rows for the same input and seed. Three strategies:

- ``uncertain``: for each label, the texts whose score sits closest to that label's threshold come first; the
  labels take turns (round robin, in label order) so that a rare label gets its share of the picks instead of
  the labels the model is often unsure about (``neutral``). A text already picked, or a duplicate of one (the
  same text up to case and whitespace), is passed over. Equal distances are ordered by a seeded shuffle.
- ``diverse``: texts are grouped by their highest-scoring label and by text length (quartiles of the input's
  lengths); the groups take turns, each giving a text drawn at random (seeded), so the sample spreads over
  what the model predicts and over short and long texts.
- ``random``: a seeded uniform sample, the control against which the other two are measured.

Rows whose scores are missing (NaN: texts that were empty or missing) are never picked. The result is row
indices in pick order; the same scores, texts and seed give the same indices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from ..errors import ConfigurationError

SelectionStrategy = Literal["uncertain", "diverse", "random"]
STRATEGIES: tuple[SelectionStrategy, ...] = ("uncertain", "diverse", "random")


def select_for_review(
    scores: npt.ArrayLike,
    thresholds: npt.ArrayLike,
    n: int,
    strategy: SelectionStrategy = "uncertain",
    *,
    texts: Sequence[str] | None = None,
    exclude: npt.ArrayLike | None = None,
    seed: int = 0,
) -> npt.NDArray[np.intp]:
    """Pick up to ``n`` rows to annotate.

    Args:
        scores: (texts, labels) scores; rows with NaN are never picked.
        thresholds: one threshold per label (the policy's cutoffs), the point of most doubt for ``uncertain``.
        n: how many rows to pick (fewer when fewer rows can be picked).
        strategy: ``"uncertain"``, ``"diverse"`` or ``"random"`` (see the module's description).
        texts: the rows' texts: duplicates are picked once, and ``diverse`` spreads over their lengths.
        exclude: a boolean mask of rows never to pick (e.g. texts already labelled).
        seed: seeds the shuffles: the same seed gives the same picks.

    Returns:
        the picked row indices, in pick order.

    Raises:
        ConfigurationError: for an unknown strategy or a negative ``n``, naming a right example.
        ValueError: when the shapes of ``scores``, ``thresholds``, ``texts`` or ``exclude`` disagree.

    Examples:
        >>> import numpy as np
        >>> select_for_review(np.array([[0.9], [0.52], [0.1]]), [0.5], 1).tolist()
        [1]
    """
    if strategy not in STRATEGIES:
        raise ConfigurationError(f"Unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}. Example: uncertain")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ConfigurationError(f"n must be a whole number >= 0, got {n!r}. Example: n=500")
    matrix = np.asarray(scores, dtype=np.float64)
    cutoffs = np.asarray(thresholds, dtype=np.float64)
    if matrix.ndim != 2 or cutoffs.shape != (matrix.shape[1],):
        raise ValueError(f"scores must be (texts, labels) and thresholds one per label; got {matrix.shape} and {cutoffs.shape}")
    rows = matrix.shape[0]
    if texts is not None and len(texts) != rows:
        raise ValueError(f"{len(texts)} texts for {rows} score rows")
    pickable: npt.NDArray[np.bool_] = np.logical_not(np.isnan(matrix).any(axis=1))
    if exclude is not None:
        mask = np.asarray(exclude, dtype=bool)
        if mask.shape != (rows,):
            raise ValueError(f"exclude must be one boolean per row ({rows}), got shape {mask.shape}")
        pickable &= ~mask
    rng = np.random.default_rng(seed)
    shuffle = rng.permutation(rows)  # the tie-break order of every strategy
    if strategy == "random":
        queues = [shuffle]
    elif strategy == "uncertain":
        distance = np.abs(matrix - cutoffs[None, :])
        rank = np.empty(rows, dtype=np.intp)
        rank[shuffle] = np.arange(rows)
        queues = [np.lexsort((rank, distance[:, label])) for label in range(matrix.shape[1])]
    else:
        queues = _diverse_queues(matrix, texts, shuffle)
    return _round_robin(queues, pickable, n, _duplicate_keys(texts, rows))


def _diverse_queues(
    matrix: npt.NDArray[np.float64], texts: Sequence[str] | None, shuffle: npt.NDArray[np.intp]
) -> list[npt.NDArray[np.intp]]:
    """One queue per (top label, length quartile) group, each in the seeded shuffle's order."""
    top = np.argmax(np.nan_to_num(matrix, nan=-1.0), axis=1)
    lengths = np.array([len(text) for text in texts]) if texts is not None else np.zeros(len(matrix))
    edges = np.quantile(lengths, [0.25, 0.5, 0.75]) if len(lengths) else np.zeros(3)
    length_group = np.searchsorted(edges, lengths, side="right")
    group = top * 4 + length_group
    ordered_groups = group[shuffle]
    return [shuffle[ordered_groups == key] for key in sorted(set(ordered_groups.tolist()))]


def _duplicate_keys(texts: Sequence[str] | None, rows: int) -> list[str] | None:
    if texts is None:
        return None
    if any(not isinstance(text, str) for text in texts):
        return [" ".join(text.split()).casefold() if isinstance(text, str) else f"\0{row}" for row, text in enumerate(texts)]
    return [" ".join(text.split()).casefold() for text in texts]


def _round_robin(
    queues: list[npt.NDArray[np.intp]], pickable: npt.NDArray[np.bool_], n: int, keys: list[str] | None
) -> npt.NDArray[np.intp]:
    """Take turns over the queues, each giving its next pickable row not picked yet (nor a duplicate of one)."""
    picked: list[int] = []
    seen_rows: set[int] = set()
    seen_keys: set[str] = set()
    positions = [0] * len(queues)
    active = [index for index, queue in enumerate(queues) if len(queue)]
    while len(picked) < n and active:
        still_active = []
        for index in active:
            queue = queues[index]
            while positions[index] < len(queue):
                row = int(queue[positions[index]])
                positions[index] += 1
                key = keys[row] if keys is not None else None
                if not pickable[row] or row in seen_rows or (key is not None and key in seen_keys):
                    continue
                picked.append(row)
                seen_rows.add(row)
                if key is not None:
                    seen_keys.add(key)
                break
            if positions[index] < len(queue):
                still_active.append(index)
            if len(picked) == n:
                break
        active = still_active
    return np.array(picked, dtype=np.intp)
