"""The retention lane: a purge pass every so often, for as long as the worker runs.

Nothing announces retention work: data ages. The lane runs a pass at start
and then every ``interval`` seconds; a pass that fails (the database is away)
is simply tried again at the next one.
"""

from __future__ import annotations

import asyncio

import structlog

from wagate.domain.errors import DatabaseUnavailable
from wagate.services.retention import RetentionService
from wagate.worker.waits import sleep_unless

log = structlog.get_logger("wagate.worker")


class RetentionLane:
    """A :class:`~wagate.worker.runner.RunningLane` that purges what is past its retention."""

    name = "retention"
    #: No one wakes this lane: it keeps its own time.
    channel = "retention"

    def __init__(self, retention: RetentionService, *, interval: float) -> None:
        self._retention = retention
        self._interval = interval

    async def run(self, worker: str, stopping: asyncio.Event, wakeup: asyncio.Event) -> None:
        """Purge every ``interval`` seconds until ``stopping``; a pass stops between batches."""
        while not stopping.is_set():
            try:
                await self._retention.purge(stopping.is_set)
            except DatabaseUnavailable as exc:
                log.warning("retention.pass_failed", error=str(exc))
            except Exception:
                log.exception("retention.pass_failed")
            await sleep_unless(stopping, self._interval)
