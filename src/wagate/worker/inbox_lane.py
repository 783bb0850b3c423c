"""The inbox lane: processes the inbox a batch at a time, as long as there is any.

Each loop processes one partition's batch per transaction; several loops (and
several processes, on PostgreSQL) take different partitions. A batch holds no
lease: it is one transaction, so a loop stopped or killed mid-batch leaves its
entries to be taken again, in order.
"""

from __future__ import annotations

import asyncio

import structlog

from wagate.domain import wakeups
from wagate.services.inbox_processing import InboxProcessor
from wagate.worker.failures import StepFailures
from wagate.worker.waits import first_of, sleep_unless

__all__ = ["BUSY_RECHECK_SECONDS", "InboxLane"]

log = structlog.get_logger("wagate.worker")

#: How soon a loop that found every pending partition taken looks again.
BUSY_RECHECK_SECONDS = 0.05


class InboxLane:
    """A :class:`~wagate.worker.runner.RunningLane` over the inbox."""

    name = "inbox"
    channel = wakeups.INBOX

    def __init__(
        self, processor: InboxProcessor, *, concurrency: int, poll_interval: float
    ) -> None:
        self._processor = processor
        self._concurrency = concurrency
        self._poll_interval = poll_interval

    async def run(self, worker: str, stopping: asyncio.Event, wakeup: asyncio.Event) -> None:
        """Process until ``stopping``; a batch under way is finished first."""
        await asyncio.gather(*(self._loop(stopping, wakeup) for _ in range(self._concurrency)))

    async def _loop(self, stopping: asyncio.Event, wakeup: asyncio.Event) -> None:
        failures = StepFailures("inbox.batch_failed")
        while not stopping.is_set():
            wakeup.clear()
            try:
                outcome = await self._processor.process_next()
                failures.succeeded()
            except Exception as exc:
                await sleep_unless(stopping, failures.failed(exc))
                continue
            if outcome.busy:
                # The partition's owner takes whatever arrives there: asking again at
                # every wake-up (each stored webhook) only loads the database.
                await sleep_unless(stopping, BUSY_RECHECK_SECONDS)
            elif outcome.processed == 0:
                await first_of(stopping, wakeup, within=self._poll_interval)
