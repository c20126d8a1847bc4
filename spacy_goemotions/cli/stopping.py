"""Stopping a long command between two steps on Ctrl-C (SIGINT) or SIGTERM, instead of in the middle of one.

A command that can stop cleanly (``classify``: after the current chunk, with its checkpoint kept) sets
the parser default ``stops_between_steps=True`` and asks ``args.should_stop()`` between steps;
:func:`spacy_goemotions.cli.main` installs the handler while it runs and, when the command stops,
exits with 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM), as a shell reports a signal.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class StopRequest:
    """SIGINT/SIGTERM handler: the first signal asks the command to stop after the current step; a
    second SIGINT stops at once (``KeyboardInterrupt``)."""

    def __init__(self) -> None:
        #: The signal that asked to stop, or None.
        self.signal: int | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal = signum
        print(
            f"\n{signal.Signals(signum).name}: stopping after the current chunk (Ctrl-C again to stop now; "
            "finished chunks are kept).",
            file=sys.stderr,
            flush=True,
        )

    def requested(self) -> bool:
        """Whether a signal asked to stop: what the command asks between steps."""
        return self.signal is not None

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Handle SIGINT and SIGTERM while the block runs (in the main thread only: elsewhere signals cannot be handled)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {signum: signal.signal(signum, self) for signum in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
