"""Lanes that keep their own time: a pass at start, then one every so often.

Nothing announces their work: data ages (the retention purge), tables drift
from their planner statistics. A pass that fails (the database is away) is
simply tried again at the next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from wagate.worker.failures import StepFailures
from wagate.worker.waits import sleep_unless

__all__ = ["PeriodicLane"]

log = structlog.get_logger("wagate.worker")


class PeriodicLane:
    """A :class:`~wagate.worker.runner.RunningLane` that runs ``run_pass`` every
    ``interval`` seconds; the pass is given the stop signal, to end between steps."""

    def __init__(
        self,
        name: str,
        run_pass: Callable[[asyncio.Event], Awaitable[object]],
        *,
        interval: float,
    ) -> None:
        self.name = name
        #: No one wakes this lane: it keeps its own time.
        self.channel = name
        self._run_pass = run_pass
        self._interval = interval

    async def run(self, worker: str, stopping: asyncio.Event, wakeup: asyncio.Event) -> None:
        """Pass every ``interval`` seconds until ``stopping``."""
        failures = StepFailures(f"{self.name}.pass_failed")
        while not stopping.is_set():
            try:
                await self._run_pass(stopping)
                failures.succeeded()
            except Exception as exc:
                failures.failed(exc)
            await sleep_unless(stopping, self._interval)
