"""The statistics lane: on PostgreSQL, a look every few seconds at how much the pipeline's
tables changed, and an ANALYZE of those that changed enough."""

from __future__ import annotations

import asyncio

import structlog

from wagate.domain.errors import DatabaseUnavailable
from wagate.services.planner_statistics import PlannerStatistics
from wagate.worker.waits import sleep_unless

log = structlog.get_logger("wagate.worker")

#: Seconds between two looks (a look is one query on ``pg_stat_user_tables``).
INTERVAL_SECONDS = 5.0


class StatisticsLane:
    """A :class:`~wagate.worker.runner.RunningLane` that keeps planner statistics current."""

    name = "statistics"
    #: No one wakes this lane: it keeps its own time.
    channel = "statistics"

    def __init__(
        self, statistics: PlannerStatistics, *, interval: float = INTERVAL_SECONDS
    ) -> None:
        self._statistics = statistics
        self._interval = interval

    async def run(self, worker: str, stopping: asyncio.Event, wakeup: asyncio.Event) -> None:
        """Look every ``interval`` seconds until ``stopping``."""
        while not stopping.is_set():
            try:
                analyzed = await self._statistics.refresh()
                if analyzed:
                    log.info("statistics.analyzed", tables=analyzed)
            except DatabaseUnavailable as exc:
                log.warning("statistics.pass_failed", error=str(exc))
            except Exception:
                log.exception("statistics.pass_failed")
            await sleep_unless(stopping, self._interval)
