"""Checkpoints of a file run: what was done, where the input continues, and what the run was.

After every chunk a run writes ``OUTPUT.checkpoint.json`` atomically: the chunks done, the input
position, the sink's state, the counts, and a fingerprint of the input file and the options. A
resumed run refuses a checkpoint whose fingerprint differs, naming every difference, so an output
never mixes two runs.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .._version import __version__
from ..core.engine import Engine
from ..errors import ConfigurationError
from .atomic import write_atomic
from .formats import OutputPaths

CHECKPOINT_FORMAT = "spacy-goemotions/classify-checkpoint.v1"


def fingerprint(input_path: str, options: dict[str, Any], *, described: dict[str, Any] | None = None) -> dict[str, Any]:
    """What makes a run the same run: the input file (path, size, mtime), the options and the version.

    ``described`` replaces the input file's entry for an input of many files (see ``PartSet.describe``).
    """
    if described is None:
        stat = os.stat(input_path)
        described = {"path": os.path.realpath(input_path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    return {"input": described, "options": options, "version": __version__}


def differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Every leaf that differs between two fingerprints, as ``"options.policy.default: was 0.5, now 0.3"``."""
    found = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found += differences(a, b, f"{prefix}{key}.")
        elif a != b:
            found.append(f"{prefix}{key}: was {a!r}, now {b!r}")
    return found


def save_checkpoint(paths: OutputPaths, state: dict[str, Any], counts: Any, *, complete: bool = False) -> None:
    """Write the checkpoint: ``state`` (fingerprint, position, sink, kept) with the ``counts`` dataclass."""
    data = {"format": CHECKPOINT_FORMAT, **state, "chunks": counts.chunks, "counts": asdict(counts), "complete": complete}
    write_atomic(paths.checkpoint, json.dumps(data, indent=1).encode("utf-8"))


def read_state_file(path: Path, expected_format: str, what: str) -> dict[str, Any] | None:
    """A run's JSON state file (a checkpoint, a folder run's record), None if absent.

    Raises:
        ConfigurationError: for a file that cannot be read, or one another version wrote.
    """
    if not path.exists():
        return None
    try:
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ConfigurationError(f"The {what} {str(path)!r} cannot be read ({error}); delete it to start over.") from error
    if state.get("format") != expected_format:
        raise ConfigurationError(f"{str(path)!r} is not a {what} of this version; delete it to start over.")
    return state


def load_checkpoint(paths: OutputPaths, expected: dict[str, Any], resume: bool) -> dict[str, Any] | None:
    """The checkpoint to resume from, None to start afresh; refuses to clobber one without ``resume``.

    Raises:
        ConfigurationError: for an unreadable checkpoint, one of another version, a checkpoint
            without ``resume=True``, or a fingerprint that differs from ``expected``.
    """
    state = read_state_file(paths.checkpoint, CHECKPOINT_FORMAT, "checkpoint")
    if state is None:
        return None
    rows = state.get("counts", {}).get("rows_out", 0)
    if not resume:
        raise ConfigurationError(
            f"An interrupted run left {str(paths.checkpoint)!r} ({rows:,} rows done). Pass resume=True to continue it, "
            f"or delete it and {str(paths.partial)!r} / {str(paths.parts)!r} to start over.",
            options=("resume",),
        )
    check_same_run(state.get("fingerprint", {}), expected, what="the output", delete=str(paths.checkpoint))
    return state


def check_same_run(old: dict[str, Any], new: dict[str, Any], *, what: str, delete: str) -> None:
    """Refuse to resume a run whose fingerprint differs from the interrupted one's: ``what`` would mix two runs.

    A different engine (backend, precision or device: see :mod:`spacy_goemotions.core.engine`) gets its own
    message with the options that select the interrupted run's engine again.

    Raises:
        ConfigurationError: naming every difference, and how to continue or start over (``delete``).
    """
    was, now = old.get("options", {}).get("engine"), new.get("options", {}).get("engine")
    if was is not None and was != now:
        engine = Engine.parse(was)
        raise ConfigurationError(
            f"Cannot resume: the interrupted run was scored by {engine.describe()}, this one would be scored by "
            f"{Engine.parse(now).describe() if now else now!r}, and {what} would mix scores of two engines. Pass "
            f"{engine.options_hint()} to continue with the same engine, or delete {delete!r} to start over.",
            options=("backend", "dtype", "device"),
            value=now,
            example={"backend": engine.backend, "dtype": engine.precision, "device": engine.device},
        )
    found = differences(old, new)
    if found:
        raise ConfigurationError(
            f"Cannot resume: the input or the options differ from the interrupted run's, so {what} would mix two "
            f"runs. Differences: {'; '.join(found)}. Run with the same input and options, or delete {delete!r} to start over."
        )
