"""A folder output: one output file per input part, each its own resumable run, and a run file of the parts done.

- Input part ``a=1/part-0.parquet`` goes to ``OUT_DIR/a=1/part-0.parquet`` (the same relative name and
  sub-folders; with ``output_format``, that format's extension), written atomically by its own file run
  with its own checkpoint beside it.
- ``OUT_DIR/_classify-run.json`` (a leading ``_``: Spark and Dask readers of OUT_DIR skip it) holds the
  fingerprint of the whole input (every part's path, size and mtime) and of the options, and the parts
  completed with their counts. It is written atomically at the start and after every part, and removed
  when every part is done. A resumed run checks it and skips the completed parts; the part that was
  interrupted resumes from its own checkpoint. Without ``resume``, a run file left behind is an error.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .._version import __version__
from ..core.progress import progress_bar
from ..errors import ConfigurationError
from .atomic import write_atomic
from .checkpoint import check_same_run, read_state_file
from .formats import output_paths
from .job import FileJob, output_name
from .parts import PartSet, PartSurvey
from .summary import BatchCounts, BatchSummary, Interrupted

RUN_FILE = "_classify-run.json"
RUN_FORMAT = "spacy-goemotions/classify-run.v1"


@dataclass
class SharedProgress:
    """One progress bar over every part of a folder output: where the current part starts on it.

    ``count_rows``: parts of mixed units (rows and bytes), so the bar counts records instead.
    """

    bar: Any
    start: int
    rows_before: int
    count_rows: bool

    def position(self, reader_done: int, rows_in: int) -> int:
        """The bar's count once the current part has read ``reader_done`` (its unit) / ``rows_in`` records."""
        return self.start + (rows_in if self.count_rows else reader_done)


#: Runs one part's job (resuming it where its checkpoint says) on the shared bar.
RunPart = Callable[["FileJob", SharedProgress], BatchSummary]


class FolderRun:
    """A folder output's plan (an output job per part) and its run file; :meth:`run` runs the parts in order.

    Construction checks what needs no model: the output folder, outputs that collide or that a later run
    would read as input, and a run file left behind without ``resume``.
    """

    def __init__(self, job: FileJob, parts: PartSet, resume: bool) -> None:
        self.job, self.parts, self.resume = job, parts, resume
        self.folder = Path(job.output)
        if not self.folder.parent.is_dir():
            raise ConfigurationError(f"The output folder's parent {str(self.folder.parent)!r} does not exist.")
        self.run_file = self.folder / RUN_FILE
        self.jobs: list[FileJob] = []
        seen: dict[str, str] = {}
        for part in parts.parts:
            name, fmt, _ = output_name(part, job.output_format)
            if name in seen:
                raise ConfigurationError(
                    f"Input parts {seen[name]!r} and {part.relative!r} would both be written to {name!r}; "
                    "choose another output_format=, or classify them separately.",
                    options=("output_format",),
                )
            seen[name] = part.relative
            target = self.folder / name
            for path in (target, output_paths(target).partial, output_paths(target).parts / "part-000000.parquet"):
                if parts.would_read(path):
                    raise ConfigurationError(
                        f"The output {str(target)!r} lies where a later run would read it as a part of the input "
                        f"{job.input!r}; choose an output folder outside the input."
                    )
            self.jobs.append(dataclasses.replace(job, input=part.path, output=str(target), output_format=fmt))
        self.state = self._read_state()

    def _read_state(self) -> dict[str, Any] | None:
        state = read_state_file(self.run_file, RUN_FORMAT, "run file")
        if state is None:
            return None
        if not self.resume:
            done, total = len(state.get("completed", {})), len(state.get("fingerprint", {}).get("input", {}).get("parts", {}))
            raise ConfigurationError(
                f"An interrupted run left {str(self.run_file)!r} ({done} of {total} parts done). Pass resume=True to "
                f"continue it, or delete it (and the parts' *.checkpoint.json files in {str(self.folder)!r}) to start over.",
                options=("resume",),
            )
        return state

    def fingerprint(self, options: dict[str, Any]) -> dict[str, Any]:
        """The whole input (every part, with its output's name) and the options (the first part's run's)."""
        described = self.parts.describe()
        for part, job in zip(self.parts.parts, self.jobs, strict=True):
            described["parts"][part.relative]["output"] = Path(job.output).relative_to(self.folder).as_posix()
        return {"input": described, "options": options, "version": __version__}

    def run(self, survey: PartSurvey, options: dict[str, Any], run_part: RunPart, progress: bool | None) -> BatchSummary:
        """Run every part not completed yet, in order; returns the summary of the whole output.

        Raises:
            ConfigurationError: the run file's fingerprint differs (naming every difference).
            Interrupted: a part was stopped (its checkpoint and the run file are kept), with the whole run's counts.
        """
        started = time.perf_counter()
        fingerprint = self.fingerprint(options)
        completed: dict[str, dict[str, int]] = {}
        if self.state is not None:
            check_same_run(self.state.get("fingerprint", {}), fingerprint, what="the output folder", delete=str(self.run_file))
            completed = dict(self.state.get("completed", {}))
        counts = BatchCounts()
        for done in completed.values():
            counts.merge(BatchCounts(**done))
        resumed_from = counts.rows_out if self.state is not None else None
        self.folder.mkdir(exist_ok=True)
        self._save(fingerprint, completed)
        rows_this_run, first = 0, True

        def summary(total: BatchCounts, rows: int) -> BatchSummary:
            return BatchSummary(total, time.perf_counter() - started, rows, resumed_from, str(self.folder), len(self.jobs))

        mixed = len(set(survey.units)) != 1
        unit: dict[str, Any] = {"unit": "row", "unit_scale": True}
        if survey.unit == "B":
            unit = {"unit": "B", "unit_scale": True, "unit_divisor": 1024}
        pending = [index for index, part in enumerate(self.parts.parts) if part.relative not in completed]
        initial = counts.rows_in if mixed else survey.done_before(pending[0] if pending else len(self.jobs))
        with progress_bar(survey.total, progress, desc="classify", initial=initial, **unit) as bar:
            for index in pending:
                part, job = self.parts.parts[index], self.jobs[index]
                Path(job.output).parent.mkdir(parents=True, exist_ok=True)
                start = counts.rows_in if mixed else survey.done_before(index)
                try:
                    result = run_part(job, SharedProgress(bar, start, counts.rows_out, mixed))
                except Interrupted as stopped:
                    total = dataclasses.replace(counts)
                    total.merge(stopped.summary.counts)
                    raise Interrupted(summary(total, rows_this_run + stopped.summary.rows_this_run), stopped.resumable) from None
                if first and resumed_from is not None and result.resumed_from_row is not None:
                    resumed_from += result.resumed_from_row  # the interrupted part went on from its checkpoint
                first = False
                counts.merge(result.counts)
                rows_this_run += result.rows_this_run
                completed[part.relative] = asdict(result.counts)
                self._save(fingerprint, completed)
        self.run_file.unlink(missing_ok=True)
        return summary(counts, rows_this_run)

    def _save(self, fingerprint: dict[str, Any], completed: dict[str, dict[str, int]]) -> None:
        data = {"format": RUN_FORMAT, "fingerprint": fingerprint, "completed": completed}
        write_atomic(self.run_file, json.dumps(data, indent=1).encode("utf-8"))
