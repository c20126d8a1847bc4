"""Progress bars for long jobs: shown when asked, or by default only where someone is watching."""

from __future__ import annotations

import sys
from typing import Any


def progress_bar(
    total: int | None, wanted: bool | None, *, desc: str, unit: str = "text", auto_min: int = 0, **options: Any
) -> Any:
    """A tqdm bar, disabled unless ``wanted``; ``wanted=None`` shows it for ``total >= auto_min`` when
    stderr is a terminal (so logs and notebooks' captured output stay clean).

    ``options`` go to tqdm (``initial``, ``unit_scale``, ...). tqdm is imported here, on first use.
    """
    from tqdm.auto import tqdm

    if wanted is None:
        wanted = (total is None or total >= auto_min) and sys.stderr.isatty()
    return tqdm(total=total, unit=unit, desc=desc, disable=not wanted, dynamic_ncols=True, **options)
