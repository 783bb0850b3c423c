"""Everything a gateway process shares, built once at start-up.

The same container serves the API (``wagate serve``), the worker (``wagate
worker``) or both; the worker is started only when asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

import aiohttp
import structlog

from wagate import metrics
from wagate.api.worker_process import WorkerProcess
from wagate.blobs import BlobStore, LocalBlobStore, S3BlobStore
from wagate.delivery.sender import CallbackSender
from wagate.delivery.ssrf import AddressPolicy
from wagate.domain.jobs import JobKind
from wagate.domain.retry import parse_schedule
from wagate.domain.send_limits import SendRate
from wagate.services.deliveries import DeliveryService
from wagate.services.delivery_runs import DeliveryPolicy, DeliveryRunner
from wagate.services.file_links import FileLinks
from wagate.services.graph_versions import GraphVersions
from wagate.services.inbox_processing import InboxProcessor
from wagate.services.incoming_media import IncomingMediaService, MediaPolicy
from wagate.services.ingress import IngressService
from wagate.services.jobs import JobQueue
from wagate.services.lifecycle import LifecycleService
from wagate.services.messages import MessageService, SendPolicy
from wagate.services.operations import OperationsService
from wagate.services.outbound_media import OutboundMediaService
from wagate.services.planner_statistics import PlannerStatistics
from wagate.services.profiles import ProfileService
from wagate.services.queued_sends import QueuedSendService
from wagate.services.retention import RetentionService
from wagate.services.tenancy import TenancyService
from wagate.services.transfers import TransferPolicy, TransferService
from wagate.services.uploads import UploadService
from wagate.settings import Settings
from wagate.store import Database
from wagate.store.notify import JobListener
from wagate.upstream.graph import GraphClient
from wagate.worker.delivery_lane import DeliveryLane
from wagate.worker.inbox_lane import InboxLane
from wagate.worker.periodic_lane import PeriodicLane
from wagate.worker.runner import JobSource, Lane, RunningLane, Worker, WorkerSettings
from wagate.worker.send_lane import SendLane

log = structlog.get_logger("wagate")

# A partial blob untouched for this long belongs to a request that died.
ABANDONED_BLOB_SECONDS = 3600.0
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


@dataclass
class Gateway:
    """The resources and services of one process."""

    settings: Settings
    database: Database
    blobs: BlobStore
    links: FileLinks
    http: aiohttp.ClientSession
    tenancy: TenancyService
    uploads: UploadService
    transfers: TransferService
    lifecycle: LifecycleService
    queue: JobQueue
    profiles: ProfileService
    deliveries: DeliveryService
    delivery_runner: DeliveryRunner
    sender: CallbackSender
    messages: MessageService
    queued_sends: QueuedSendService
    incoming_media: IncomingMediaService
    outbound_media: OutboundMediaService
    ingress: IngressService
    inbox: InboxProcessor
    operations: OperationsService
    retention: RetentionService
    worker: Worker | None = None
    worker_processes: list[WorkerProcess] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _stop_listening: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    async def start(
        cls, settings: Settings, *, run_worker: bool = False, lanes: Collection[str] | None = None
    ) -> Gateway:
        """Open the database, migrate it, build the services, and start the worker if asked
        (with only the named ``lanes``, when given: see :data:`LANES`)."""
        database = Database(
            settings.resolved_database_url(),
            pool_size=settings.database_pool_size,
            statements_in_loop=run_worker,
        )
        try:
            await database.upgrade_schema()
            blobs = open_blob_store(settings)
            await blobs.remove_abandoned(ABANDONED_BLOB_SECONDS)
        except BaseException:
            await database.close()
            raise
        http = aiohttp.ClientSession()
        graph = GraphClient(
            http,
            base_url=settings.graph_url,
            version=settings.graph_version,
            app_id=settings.meta_app_id,
            access_token=settings.meta_access_token,
            versions=GraphVersions(database),
        )
        policy = TransferPolicy(
            chunk_bytes=settings.transfer_chunk_bytes,
            max_attempts=settings.transfer_max_attempts,
            max_job_attempts=settings.transfer_max_job_attempts,
        )
        addresses = AddressPolicy.parse(settings.callback_allowed_networks)
        sender = CallbackSender(
            addresses,
            connect_timeout=settings.callback_connect_timeout_seconds,
            total_timeout=settings.callback_timeout_seconds,
        )
        links = FileLinks(settings.public_url, blobs)
        sends = SendPolicy(
            rate=SendRate(settings.send_rate_per_number),
            queue_ttl=timedelta(seconds=settings.send_queue_ttl_seconds),
            idempotency_ttl=timedelta(seconds=settings.idempotency_ttl_seconds),
            addresses=addresses,
        )
        media = MediaPolicy(
            max_runs=settings.media_download_max_attempts,
            max_bytes=settings.upload_max_bytes,
            retention=timedelta(seconds=settings.retention_seconds),
        )
        gateway = cls(
            settings=settings,
            database=database,
            blobs=blobs,
            links=links,
            http=http,
            tenancy=TenancyService(database),
            uploads=UploadService(database, blobs, settings.upload_policy()),
            transfers=TransferService(database, blobs, graph, links, policy),
            lifecycle=LifecycleService(database, blobs, links),
            queue=JobQueue(database),
            profiles=ProfileService(database, pod=settings.pod, addresses=addresses),
            deliveries=DeliveryService(database),
            delivery_runner=DeliveryRunner(
                database,
                sender,
                DeliveryPolicy(
                    schedule=parse_schedule(settings.retry_schedule),
                    disable_after_seconds=settings.profile_auto_disable_seconds,
                ),
            ),
            sender=sender,
            messages=MessageService(database, graph, sends),
            queued_sends=QueuedSendService(database, graph, sends),
            incoming_media=IncomingMediaService(database, blobs, graph, links, media),
            outbound_media=OutboundMediaService(blobs, graph, settings.upload_max_bytes),
            ingress=IngressService(
                database,
                app_secret=settings.meta_app_secret,
                verify_token=settings.meta_verify_token,
            ),
            inbox=InboxProcessor(database),
            operations=OperationsService(database, blobs),
            retention=RetentionService(
                database,
                blobs,
                retention=timedelta(seconds=settings.retention_seconds),
                batch_size=settings.retention_batch_size,
            ),
        )
        if run_worker:
            await gateway._start_worker(LANES if lanes is None else lanes)
        return gateway

    async def _start_worker(self, selected: Collection[str]) -> None:
        settings = self.settings
        transfers = JobSource(self.queue, {JobKind.TRANSFER_UPLOAD: self.transfers.run})
        downloads = JobSource(self.queue, {JobKind.DOWNLOAD_MEDIA: self.incoming_media.run})
        lifecycle = JobSource(
            self.queue,
            {
                JobKind.EXPIRE_UPLOAD: self.lifecycle.expire,
                JobKind.PURGE_UPLOAD: self.lifecycle.purge,
            },
        )
        lease = timedelta(seconds=settings.job_lease_seconds)
        inbox = InboxLane(
            self.inbox,
            # SQLite has one writer: more loops would only wait for each other.
            concurrency=1 if self.database.is_sqlite else settings.inbox_concurrency,
            poll_interval=settings.worker_poll_seconds,
        )
        deliveries = DeliveryLane(
            self.delivery_runner,
            concurrency=settings.delivery_concurrency,
            per_endpoint=settings.callback_endpoint_concurrency,
            slow_after=settings.callback_slow_after_seconds,
            lease=lease,
            poll_interval=settings.worker_poll_seconds,
            grace_period=settings.worker_grace_seconds,
        )
        sends = SendLane(
            self.queued_sends,
            concurrency=settings.send_concurrency,
            poll_interval=settings.worker_poll_seconds,
            grace_period=settings.worker_grace_seconds,
        )
        lanes: list[Lane | RunningLane] = [
            Lane("transfers", transfers, settings.transfer_concurrency),
            Lane("media", downloads, settings.media_download_concurrency),
            Lane("lifecycle", lifecycle, LIFECYCLE_CONCURRENCY),
            inbox,
            deliveries,
            PeriodicLane(
                RETENTION,
                lambda stopping: self.retention.purge(stopping.is_set),
                interval=settings.retention_sweep_seconds,
            ),
            sends,
        ]
        statistics = PlannerStatistics(self.database)
        if statistics.needed:
            lanes.append(
                PeriodicLane(
                    STATISTICS,
                    lambda _stopping: statistics.refresh(),
                    interval=STATISTICS_INTERVAL_SECONDS,
                )
            )
        lanes = [lane for lane in lanes if lane.name in selected]
        worker = Worker(
            lanes=lanes,
            settings=WorkerSettings(
                lease=lease,
                poll_interval=settings.worker_poll_seconds,
                grace_period=settings.worker_grace_seconds,
            ),
        )
        self.database.on_work_added(worker.wake)
        if self.database.is_sqlite:
            # One process of a SQLite gateway runs these lanes: a lease still held is a
            # crash's leftover. Another process's lanes keep theirs.
            released = await self.queue.release_all(
                of_jobs=not JOB_LANES.isdisjoint(selected),
                of_deliveries=DeliveryLane.name in selected,
            )
            if released:
                log.info("worker.released_stale_leases", count=released)
        else:
            listener = JobListener(self.database.url, worker.wake)
            self._tasks.append(asyncio.create_task(listener.run(self._stop_listening)))
        self.worker = worker
        self._tasks.append(asyncio.create_task(worker.run()))

    async def open_ingress_spool(self) -> None:
        """On the embedded SQLite file, acknowledge Meta's webhooks once spooled
        (:mod:`wagate.store.ingress_spool`), beside the database file; for the process
        that serves the API, which holds the data directory's lock."""
        path = self.settings.sqlite_path()
        if path is not None:
            await self.ingress.open_spool(path.with_name(f"{path.name}-ingress"))

    async def start_worker_processes(self, *, lock_fd: int | None = None) -> None:
        """Run the worker in child processes, woken whenever this process adds work (and
        holding the data directory's lock, ``lock_fd``, with this one).

        Callbacks go out from a child of their own (:data:`CHILD_LANES`), so that
        sending them and processing Meta's webhooks each have a core. On SQLite the
        children hear of each other's work through this process; on PostgreSQL,
        through NOTIFY.
        """
        for index, lanes in enumerate(CHILD_LANES):
            child = WorkerProcess(
                grace_seconds=self.settings.worker_grace_seconds,
                niceness=self.settings.worker_niceness,
                lock_fd=lock_fd,
                lanes=lanes,
                on_report=(
                    functools.partial(self._wake_children, besides=index)
                    if self.database.is_sqlite
                    else None
                ),
            )
            self.worker_processes.append(child)
            self.database.on_work_added(child.wake)
        for child in self.worker_processes:
            await child.start()

    def _wake_children(self, channels: set[str], *, besides: int) -> None:
        for index, child in enumerate(self.worker_processes):
            if index != besides:
                child.wake(channels)

    async def readiness_report(self) -> tuple[bool, dict[str, Any]]:
        """Whether this process (and its worker children) are ready, and the ``/readyz`` body."""
        extra = {}
        if self.worker_processes:
            answers = await asyncio.gather(*(c.readiness() for c in self.worker_processes))
            failing = [
                f"{'+'.join(child.lanes or ('all lanes',))}: {answer}"
                for child, answer in zip(self.worker_processes, answers, strict=True)
                if answer != "ok"
            ]
            extra["worker"] = "; ".join(failing) or "ok"
        return await self.operations.readiness_report(extra)

    async def metrics_exposition(self) -> bytes:
        """The ``/metrics`` exposition: this process's, with its worker children's counters
        added."""
        own = await self.operations.metrics_exposition()
        if not self.worker_processes:
            return own
        children = await asyncio.gather(*(c.metrics() for c in self.worker_processes))
        return metrics.merge(own, [child for child in children if child is not None])

    async def wait_worker(self) -> None:
        """Wait until the worker stops (for ``wagate worker``)."""
        if self._tasks:
            await asyncio.gather(*self._tasks)

    def request_stop(self) -> None:
        """Ask the worker and the job listener to wind down (safe from a signal handler)."""
        if self.worker is not None:
            self.worker.stop()
        self._stop_listening.set()

    async def stop(self) -> None:
        """Stop the worker (within its grace period) and release what :meth:`start` opened."""
        self.request_stop()
        await asyncio.gather(*(child.stop() for child in self.worker_processes))
        for task in self._tasks:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task
        await self.ingress.close()
        await self.messages.close()
        await self.queued_sends.close()
        await self.delivery_runner.close()
        await self.sender.close()
        await self.http.close()
        await self.blobs.close()
        await self.database.close()


def open_blob_store(settings: Settings) -> BlobStore:
    """The blob store ``WAGATE_STORAGE_URL`` names: a bucket for ``s3://``, else a directory."""
    if settings.storage_url.startswith("s3://"):
        return S3BlobStore(
            settings.storage_url,
            endpoint=settings.s3_endpoint,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
        )
    return LocalBlobStore(settings.media_dir)
