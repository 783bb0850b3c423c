"""Everything a gateway process shares, built once at start-up.

The API (``wagate serve``), the worker (``wagate worker``) and the portal use the
same services over the same resources: :meth:`AppContext.open` migrates the
database, opens the blob store and the HTTP client, and builds them;
:meth:`AppContext.close` releases them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Self

import aiohttp

from wagate.blobs import BlobStore, LocalBlobStore, S3BlobStore
from wagate.delivery.sender import CallbackSender
from wagate.delivery.ssrf import AddressPolicy
from wagate.domain.retry import parse_schedule
from wagate.domain.send_limits import SendRate
from wagate.services.activity import ActivityService
from wagate.services.deliveries import DeliveryService
from wagate.services.delivery_runs import DeliveryPolicy, DeliveryRunner
from wagate.services.file_links import FileLinks
from wagate.services.graph_versions import GraphVersions
from wagate.services.inbox_processing import InboxProcessor
from wagate.services.incoming_media import IncomingMediaService, MediaPolicy
from wagate.services.ingress import IngressService
from wagate.services.jobs import JobQueue
from wagate.services.lifecycle import LifecycleService
from wagate.services.messages import MessageService
from wagate.services.operations import OperationsService
from wagate.services.outbound_media import OutboundMediaService
from wagate.services.profiles import ProfileService
from wagate.services.queued_sends import QueuedSendService
from wagate.services.retention import RetentionService
from wagate.services.send_ledger import SendPolicy
from wagate.services.tenancy import TenancyService
from wagate.services.transfers import TransferPolicy, TransferService
from wagate.services.uploads import UploadService
from wagate.settings import Settings
from wagate.store import Database
from wagate.upstream.graph import GraphClient

__all__ = ["ABANDONED_BLOB_SECONDS", "AppContext", "open_blob_store"]

#: A partial blob untouched for this long belongs to a request that died.
ABANDONED_BLOB_SECONDS = 3600.0


@dataclass
class AppContext:
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
    activity: ActivityService

    @classmethod
    async def open(cls, settings: Settings, *, statements_in_loop: bool = False) -> Self:
        """Open the database (running its statements in the event loop's thread on SQLite
        with ``statements_in_loop``, as a worker does), migrate it, and build the services."""
        database = Database(
            settings.resolved_database_url(),
            pool_size=settings.database_pool_size,
            statements_in_loop=statements_in_loop,
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
        transfers = TransferPolicy(
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
        return cls(
            settings=settings,
            database=database,
            blobs=blobs,
            links=links,
            http=http,
            tenancy=TenancyService(database),
            uploads=UploadService(database, blobs, settings.upload_policy()),
            transfers=TransferService(database, blobs, graph, links, transfers),
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
            inbox=InboxProcessor(database, rate_card=settings.operator_rate_card()),
            operations=OperationsService(database, blobs),
            retention=RetentionService(
                database,
                blobs,
                retention=timedelta(seconds=settings.retention_seconds),
                batch_size=settings.retention_batch_size,
            ),
            activity=ActivityService(database),
        )

    async def close(self) -> None:
        """Finish what the services hold (webhooks being stored, outcomes being recorded)
        and release what :meth:`open` opened."""
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
