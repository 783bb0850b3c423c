"""The worker: lanes, each taking due work of its own kind and running it.

A lane has its own concurrency, so a hundred slow transfers never delay an
expiry, and its own wake-up channel, so new work wakes only the lane that
takes it. Item lanes (:class:`Lane`) claim jobs one slot at a time: each
running item's lease is renewed by a heartbeat, and one whose lease was lost
is cancelled here, because another worker owns it now. Other lanes run a loop
of their own (:class:`RunningLane`: the inbox processor, the delivery lane).
On stop, the lanes stop claiming, running items get a grace period, and what
is still running is cancelled and released for another worker to take at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Callable, Collection, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from wagate.domain import wakeups
from wagate.domain.clock import Clock, utcnow
from wagate.domain.jobs import Job, JobKind
from wagate.services.jobs import JobQueue
from wagate.worker.failures import UNEXPECTED_ERROR_BACKOFF, StepFailures

__all__ = [
    "Handler",
    "JobSource",
    "Lane",
    "LaneSource",
    "RunningLane",
    "Worker",
    "WorkerSettings",
    "worker_name",
]

log = structlog.get_logger("wagate.worker")

Handler = Callable[[Job], Coroutine[Any, Any, None]]


class LaneSource(Protocol):
    """Where a lane gets its work and how it keeps, runs and returns it."""

    async def claim(self, worker: str, limit: int, lease: timedelta) -> Sequence[Any]: ...

    async def run(self, item: Any) -> None: ...

    async def extend_lease(self, item: Any, lease: timedelta) -> bool: ...

    async def release(self, item: Any) -> None: ...

    async def retry_later(self, item: Any, delay: timedelta, error: str) -> None: ...

    async def next_run_at(self) -> datetime | None: ...

    def log_fields(self, item: Any) -> dict[str, str]:
        """The ids every log line about ``item`` carries."""
        ...


@dataclass(frozen=True, slots=True)
class Lane:
    """A source of work, how many of its items may run at once, and what wakes it."""

    name: str
    source: LaneSource
    concurrency: int
    channel: str = wakeups.JOBS


class RunningLane(Protocol):
    """A lane that runs its own loop until ``stopping`` is set, woken by ``wakeup``."""

    name: str
    channel: str

    async def run(self, worker: str, stopping: asyncio.Event, wakeup: asyncio.Event) -> None:
        """Take and run work until ``stopping``; then wind down within the grace period."""
        ...


class JobSource:
    """A lane source over the jobs table, for some job kinds."""

    def __init__(self, queue: JobQueue, handlers: Mapping[JobKind, Handler]) -> None:
        self._queue = queue
        self._handlers = dict(handlers)
        self._kinds = tuple(handlers)

    async def claim(self, worker: str, limit: int, lease: timedelta) -> Sequence[Job]:
        return await self._queue.claim(self._kinds, worker=worker, limit=limit, lease=lease)

    async def run(self, item: Job) -> None:
        await self._handlers[item.kind](item)

    async def extend_lease(self, item: Job, lease: timedelta) -> bool:
        return await self._queue.extend_lease(item, lease)

    async def release(self, item: Job) -> None:
        await self._queue.release(item)

    async def retry_later(self, item: Job, delay: timedelta, error: str) -> None:
        await self._queue.retry_later(item, delay, error)

    async def next_run_at(self) -> datetime | None:
        return await self._queue.next_run_at(self._kinds)

    def log_fields(self, item: Job) -> dict[str, str]:
        return {
            "job_id": item.id,
            "kind": item.kind.value,
            item.kind.subject_field: item.subject_id,
        }


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """Timing of the claim loop."""

    lease: timedelta = timedelta(seconds=30)
    poll_interval: float = 1.0
    grace_period: float = 10.0


def worker_name() -> str:
    """A name unique to this process, shown in the ``locked_by`` of its jobs."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Claims and runs jobs until :meth:`stop`."""

    def __init__(
        self,
        lanes: Sequence[Lane | RunningLane],
        settings: WorkerSettings | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self._lanes = [lane for lane in lanes if isinstance(lane, Lane)]
        self._running_lanes = [lane for lane in lanes if not isinstance(lane, Lane)]
        self.settings = settings or WorkerSettings()
        self._clock = clock
        self.name = worker_name()
        self._stopping = asyncio.Event()
        self._wakeups = {lane.name: asyncio.Event() for lane in lanes}
        self._channels = {lane.name: lane.channel for lane in lanes}
        self._running: dict[str, tuple[Lane, Any, asyncio.Task[None]]] = {}

    def wake(self, channels: Collection[str] | None = None) -> None:
        """Tell the idle lanes of these channels (all when None) that work may be due.

        Thread-unsafe: call it on the worker's loop.
        """
        for name, event in self._wakeups.items():
            if channels is None or self._channels[name] in channels:
                event.set()

    def stop(self) -> None:
        """Stop claiming; :meth:`run` returns once running jobs end or are released."""
        self._stopping.set()
        self.wake()

    async def run(self) -> None:
        """Run every lane until :meth:`stop`, then wind down within the grace period."""
        names = [lane.name for lane in self._lanes] + [lane.name for lane in self._running_lanes]
        log.info("worker.started", worker=self.name, lanes=names)
        lanes = [asyncio.create_task(self._run_lane(lane)) for lane in self._lanes]
        lanes += [
            asyncio.create_task(lane.run(self.name, self._stopping, self._wakeups[lane.name]))
            for lane in self._running_lanes
        ]
        try:
            await asyncio.gather(*lanes)
        finally:
            for task in lanes:
                task.cancel()
            await self._wind_down()
            log.info("worker.stopped", worker=self.name)

    async def _run_lane(self, lane: Lane) -> None:
        wakeup = self._wakeups[lane.name]
        slots = asyncio.Semaphore(lane.concurrency)
        in_lane: set[asyncio.Task[None]] = set()
        failures = StepFailures("worker.claim_failed", lane=lane.name)
        while await self._take_slot(slots):
            free = 1
            while free < lane.concurrency and not slots.locked():
                await slots.acquire()
                free += 1
            wakeup.clear()
            try:
                jobs = await lane.source.claim(self.name, free, self.settings.lease)
                failures.succeeded()
            except Exception as exc:  # an outage is logged without a traceback per poll
                failures.failed(exc)
                jobs = []
            for _ in range(free - len(jobs)):
                slots.release()
            for job in jobs:
                task = asyncio.create_task(self._run_item(lane, job))
                self._running[job.id] = (lane, job, task)
                in_lane.add(task)
                task.add_done_callback(in_lane.discard)
                task.add_done_callback(lambda _t: slots.release())
            if len(jobs) < free:
                # Nothing more is claimable now: claiming again at once would only
                # find nothing. Wait for the next due time, new work or a free slot.
                await self._idle(lane, wakeup)

    async def _take_slot(self, slots: asyncio.Semaphore) -> bool:
        """Wait for a free slot of the lane; False (holding none) once the worker is stopping.

        A full lane must not hold up a stop: its running items get the grace
        period, and nothing more is claimed after :meth:`stop`.
        """
        if self._stopping.is_set():
            return False
        acquire = asyncio.ensure_future(slots.acquire())
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait((acquire, stopping), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            acquire.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await acquire
        got = acquire.done() and not acquire.cancelled()
        if got and self._stopping.is_set():
            slots.release()
            return False
        return got

    async def _idle(self, lane: Lane, wakeup: asyncio.Event) -> None:
        timeout = self.settings.poll_interval
        with contextlib.suppress(Exception):
            due = await lane.source.next_run_at()
            if due is not None:
                timeout = min(timeout, max(0.0, _seconds_until(due, self._clock())))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wakeup.wait(), timeout=max(timeout, 0.01))

    async def _run_item(self, lane: Lane, job: Any) -> None:
        fields = lane.source.log_fields(job)
        bound = log.bind(lane=lane.name, **fields)
        # The task copies the context: every line logged while it runs carries the ids.
        with structlog.contextvars.bound_contextvars(**fields):
            work = asyncio.create_task(lane.source.run(job))
        heartbeat = asyncio.create_task(self._heartbeat(lane, job, work))
        started = self._clock()
        try:
            await work
            bound.info("item.done", seconds=_seconds_since(started, self._clock()))
        except asyncio.CancelledError:
            if not work.done():
                work.cancel()
            raise
        except Exception as exc:
            delay = UNEXPECTED_ERROR_BACKOFF(max(1, getattr(job, "attempts", 1)))
            bound.exception("item.error", retry_in=round(delay, 1))
            with contextlib.suppress(Exception):
                await lane.source.retry_later(job, timedelta(seconds=delay), repr(exc))
        finally:
            heartbeat.cancel()
            self._running.pop(job.id, None)

    async def _heartbeat(self, lane: Lane, job: Any, work: asyncio.Task[None]) -> None:
        interval = self.settings.lease.total_seconds() / 3
        while not work.done():
            await asyncio.sleep(interval)
            try:
                kept = await lane.source.extend_lease(job, self.settings.lease)
            except Exception:
                log.warning("item.heartbeat_failed", lane=lane.name, item_id=job.id)
                continue
            if not kept:
                log.warning("item.lease_lost", lane=lane.name, item_id=job.id)
                work.cancel()
                return

    async def _wind_down(self) -> None:
        if not self._running:
            return
        tasks = [task for _, _, task in self._running.values()]
        _, pending = await asyncio.wait(tasks, timeout=self.settings.grace_period)
        for lane, job, task in list(self._running.values()):
            if task in pending:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
                with contextlib.suppress(Exception):
                    await lane.source.release(job)
                log.info("item.released", lane=lane.name, item_id=job.id)


def _seconds_until(moment: datetime, now: datetime) -> float:
    return (moment - now).total_seconds()


def _seconds_since(moment: datetime, now: datetime) -> float:
    return round((now - moment).total_seconds(), 3)
