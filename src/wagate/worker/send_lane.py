"""The send lane: sends what waits in the send queue as soon as each number may send.

It claims as many due sends as the numbers' buckets allow and it has room
for, sends them (``concurrency`` at a time), and claims again when a send
ends, when new work is announced, or when a bucket allows more; between
claims it waits at least :data:`CLAIM_INTERVAL`, so that claims take
batches. A claim's lease covers the longest a call to Meta may take; on stop,
sends under way get the grace period, and the rest are given back.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import structlog

from wagate.domain import wakeups
from wagate.domain.clock import Clock, utcnow
from wagate.domain.errors import DatabaseUnavailable
from wagate.services.queued_sends import QueuedSendService
from wagate.store.send_queue import QueuedSend
from wagate.worker.failures import StepFailures
from wagate.worker.waits import first_of, sleep_unless

__all__ = ["CLAIM_INTERVAL", "LEASE", "SendLane"]

log = structlog.get_logger("wagate.worker")

#: While sends wait for their bucket, the lane claims at most this often (seconds).
CLAIM_INTERVAL = 0.05
#: A claimed send is the lane's this long: longer than a call to Meta may take.
LEASE = timedelta(minutes=3)


class SendLane:
    """A :class:`~wagate.worker.runner.RunningLane` over the send queue."""

    name = "sends"
    channel = wakeups.SENDS

    def __init__(
        self,
        service: QueuedSendService,
        *,
        concurrency: int,
        poll_interval: float,
        grace_period: float,
        clock: Clock = utcnow,
    ) -> None:
        self._service = service
        self._concurrency = concurrency
        self._poll_interval = poll_interval
        self._grace_period = grace_period
        self._clock = clock
        self._running: dict[asyncio.Task[None], QueuedSend] = {}
        self._freed = asyncio.Event()

    async def run(self, worker: str, stopping: asyncio.Event, wakeup: asyncio.Event) -> None:
        """Claim and send until ``stopping``; then wind down within the grace period."""
        failures = StepFailures("sends.claim_failed")
        try:
            while not stopping.is_set():
                wakeup.clear()
                self._freed.clear()
                room = self._concurrency - len(self._running)
                wait = self._poll_interval
                if room > 0:
                    try:
                        claimed = await self._service.claim(worker, room, LEASE)
                        failures.succeeded()
                    except Exception as exc:
                        await sleep_unless(stopping, failures.failed(exc))
                        continue
                    for item in claimed.sends:
                        self._start(item)
                    if claimed.wake_at is not None:
                        until = (claimed.wake_at - self._clock()).total_seconds()
                        wait = min(wait, max(CLAIM_INTERVAL, until))
                await first_of(stopping, wakeup, self._freed, within=wait)
                if not stopping.is_set():
                    # A burst of wake-ups or freed slots still claims in batches.
                    await sleep_unless(stopping, CLAIM_INTERVAL)
        finally:
            await self._wind_down()

    def _start(self, item: QueuedSend) -> None:
        task = asyncio.create_task(self._send(item))
        self._running[task] = item
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        self._freed.set()

    async def _send(self, item: QueuedSend) -> None:
        with structlog.contextvars.bound_contextvars(message_id=item.message_id):
            try:
                await self._service.send(item)
            except DatabaseUnavailable as exc:
                log.warning("sends.record_failed", error=str(exc))
            except Exception:
                log.exception("sends.send_failed")

    async def _wind_down(self) -> None:
        if not self._running:
            return
        tasks = list(self._running)
        _, pending = await asyncio.wait(tasks, timeout=self._grace_period)
        unfinished = [self._running[task] for task in pending if task in self._running]
        for task in pending:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        if unfinished:
            with contextlib.suppress(Exception):
                await self._service.release(unfinished)
