"""What backend implementations share: a runner that computes each batch as it is submitted."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from ..core.backend import ScoreMatrix, ScoreSink


class SynchronousRunner(ABC):
    """A runner that computes each batch inside ``submit``: nothing is ever in flight.

    Subclasses say whether they are ``compiled`` and whether they ``warms_up``.
    """

    def submit(self, prepared: Any, sink: ScoreSink) -> None:
        sink(self.compute(prepared))

    def wait(self) -> None:  # noqa: B027 (deliberately empty, not abstract)
        """Nothing to wait for: every batch reached its sink inside ``submit``."""

    @abstractmethod
    def compute(self, prepared: Any) -> ScoreMatrix:
        """The batch's ``(rows, labels)`` float32 sigmoid scores."""
