"""The worker's lanes, built over a process's services, and the worker that runs them.

``wagate worker`` runs all of them or those ``--lanes`` names (:data:`LANES`);
each worker child of ``wagate serve`` runs one group of :data:`CHILD_LANES`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection
from datetime import timedelta
from typing import Final

import structlog

from wagate.domain.jobs import JobKind
from wagate.services.planner_statistics import PlannerStatistics
from wagate.store.notify import JobListener
from wagate.wiring.app_context import AppContext
from wagate.worker.delivery_lane import DeliveryLane
from wagate.worker.inbox_lane import InboxLane
from wagate.worker.periodic_lane import PeriodicLane
from wagate.worker.runner import JobSource, Lane, RunningLane, Worker, WorkerSettings
from wagate.worker.send_lane import SendLane

__all__ = ["CHILD_LANES", "JOB_LANES", "LANES", "WorkerRun", "build_lanes"]

log = structlog.get_logger("wagate")

LIFECYCLE_CONCURRENCY = 4
#: Seconds between two looks at how much the pipeline's tables changed (PostgreSQL).
STATISTICS_INTERVAL_SECONDS = 5.0
RETENTION: Final = "retention"
STATISTICS: Final = "statistics"
#: The lanes that take jobs from the jobs table.
JOB_LANES: Final = frozenset({"transfers", "media", "lifecycle"})
#: Every lane a worker can run (``wagate worker --lanes``); statistics only on PostgreSQL.
LANES: Final = (
    *sorted(JOB_LANES),
    InboxLane.name,
    DeliveryLane.name,
    SendLane.name,
    RETENTION,
    STATISTICS,
)
#: The lanes of each worker child of ``wagate serve``: callbacks go out from a child
#: of their own.
CHILD_LANES: Final = (
    tuple(lane for lane in LANES if lane != DeliveryLane.name),
    (DeliveryLane.name,),
)


def build_lanes(context: AppContext, selected: Collection[str]) -> list[Lane | RunningLane]:
    """The lanes named in ``selected``, over the context's services."""
    settings = context.settings
    transfers = JobSource(context.queue, {JobKind.TRANSFER_UPLOAD: context.transfers.run})
    downloads = JobSource(context.queue, {JobKind.DOWNLOAD_MEDIA: context.incoming_media.run})
    lifecycle = JobSource(
        context.queue,
        {
            JobKind.EXPIRE_UPLOAD: context.lifecycle.expire,
            JobKind.PURGE_UPLOAD: context.lifecycle.purge,
        },
    )
    lease = timedelta(seconds=settings.job_lease_seconds)
    inbox = InboxLane(
        context.inbox,
        # SQLite has one writer: more loops would only wait for each other.
        concurrency=1 if context.database.is_sqlite else settings.inbox_concurrency,
        poll_interval=settings.worker_poll_seconds,
    )
    deliveries = DeliveryLane(
        context.delivery_runner,
        concurrency=settings.delivery_concurrency,
        per_endpoint=settings.callback_endpoint_concurrency,
        slow_after=settings.callback_slow_after_seconds,
        lease=lease,
        poll_interval=settings.worker_poll_seconds,
        grace_period=settings.worker_grace_seconds,
    )
    sends = SendLane(
        context.queued_sends,
        concurrency=settings.send_concurrency,
        poll_interval=settings.worker_poll_seconds,
        grace_period=settings.worker_grace_seconds,
    )
    retention = context.retention
    lanes: list[Lane | RunningLane] = [
        Lane("transfers", transfers, settings.transfer_concurrency),
        Lane("media", downloads, settings.media_download_concurrency),
        Lane("lifecycle", lifecycle, LIFECYCLE_CONCURRENCY),
        inbox,
        deliveries,
        PeriodicLane(
            RETENTION,
            lambda stopping: retention.purge(stopping.is_set),
            interval=settings.retention_sweep_seconds,
        ),
        sends,
    ]
    statistics = PlannerStatistics(context.database)
    if statistics.needed:
        lanes.append(
            PeriodicLane(
                STATISTICS,
                lambda _stopping: statistics.refresh(),
                interval=STATISTICS_INTERVAL_SECONDS,
            )
        )
    return [lane for lane in lanes if lane.name in selected]


class WorkerRun:
    """A worker running the selected lanes of a context, woken when work is added (in
    this process, and on PostgreSQL by NOTIFY from the others)."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self._tasks: list[asyncio.Task[None]] = []
        self._stop_listening = asyncio.Event()

    @classmethod
    async def start(cls, context: AppContext, selected: Collection[str] = LANES) -> WorkerRun:
        """Build the lanes ``selected`` names and start running them."""
        settings = context.settings
        worker = Worker(
            lanes=build_lanes(context, selected),
            settings=WorkerSettings(
                lease=timedelta(seconds=settings.job_lease_seconds),
                poll_interval=settings.worker_poll_seconds,
                grace_period=settings.worker_grace_seconds,
            ),
        )
        run = cls(worker)
        database = context.database
        database.on_work_added(worker.wake)
        if database.is_sqlite:
            # One process of a SQLite gateway runs these lanes: a lease still held is a
            # crash's leftover. Another process's lanes keep theirs.
            released = await context.queue.release_all(
                of_jobs=not JOB_LANES.isdisjoint(selected),
                of_deliveries=DeliveryLane.name in selected,
            )
            if released:
                log.info("worker.released_stale_leases", count=released)
        else:
            listener = JobListener(database.url, worker.wake)
            run._tasks.append(asyncio.create_task(listener.run(run._stop_listening)))
        run._tasks.append(asyncio.create_task(worker.run()))
        return run

    def wake(self, channels: set[str]) -> None:
        """Wake the lanes that take work of these channels."""
        self.worker.wake(channels)

    def request_stop(self) -> None:
        """Ask the worker and the job listener to wind down (safe from a signal handler)."""
        self.worker.stop()
        self._stop_listening.set()

    async def wait(self) -> None:
        """Wait until the worker stops."""
        await asyncio.gather(*self._tasks)

    async def stop(self) -> None:
        """Stop the worker, within its grace period."""
        self.request_stop()
        for task in self._tasks:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task
