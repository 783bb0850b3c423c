"""A lane's step that failed: logged, counted, and paced.

Every lane repeats one step (claim a batch, process a batch, run a pass). When it
fails, a :class:`~wagate.domain.errors.DatabaseUnavailable` is an outage, logged
without a traceback, and anything else is a bug, logged with one; lanes that loop
on the step back off for :data:`FAILURE_BACKOFF` of the failures in a row. Work that
failed unexpectedly is put back for :data:`UNEXPECTED_ERROR_BACKOFF` of its attempts.
"""

from __future__ import annotations

from typing import Any, Final

import structlog

from wagate.domain.backoff import Backoff
from wagate.domain.errors import DatabaseUnavailable

__all__ = ["FAILURE_BACKOFF", "UNEXPECTED_ERROR_BACKOFF", "StepFailures"]

#: The pause after a lane's step failed, by failures in a row.
FAILURE_BACKOFF: Final = Backoff(base=0.5, cap=30.0, jitter=0.2)
#: The wait before work that raised unexpectedly is tried again, by its attempts.
UNEXPECTED_ERROR_BACKOFF: Final = Backoff(base=2.0, cap=300.0, jitter=0.2)

log = structlog.get_logger("wagate.worker")


class StepFailures:
    """The failures in a row of one lane's step, logged as ``event`` with ``context``."""

    def __init__(self, event: str, **context: Any) -> None:
        self._event = event
        self._context = context
        self.in_a_row = 0

    def succeeded(self) -> None:
        """The step worked: the next failure is the first again."""
        self.in_a_row = 0

    def failed(self, exc: Exception) -> float:
        """Log the step's failure; how long to pause before trying it again."""
        self.in_a_row += 1
        if isinstance(exc, DatabaseUnavailable):
            log.warning(self._event, error=str(exc), **self._context)
        else:
            log.exception(self._event, **self._context)
        return FAILURE_BACKOFF(self.in_a_row)
