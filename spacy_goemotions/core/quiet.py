"""Keep transformers quiet: its "Loading weights" and "Writing model shards" bars and its warnings show
only when the user asked for progress (downloads from the hub keep their own bars)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet_transformers(quiet: bool = True) -> Iterator[None]:
    """Silence transformers' own progress bars and log messages below errors while the block runs."""
    if not quiet:
        yield
        return
    from huggingface_hub.utils import are_progress_bars_disabled, enable_progress_bars  # type: ignore[attr-defined]
    from transformers.utils import logging as hf_logging

    bars, verbosity, hub_off = hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity(), are_progress_bars_disabled()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    if not hub_off:
        enable_progress_bars()  # disable_progress_bar turned the hub's download bars off too: those stay
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]
            if hub_off:
                from huggingface_hub.utils import disable_progress_bars  # type: ignore[attr-defined]

                disable_progress_bars()
