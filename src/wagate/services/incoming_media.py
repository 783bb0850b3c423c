"""The media of incoming messages: downloaded from Meta, checked, kept, and linked.

A ``download_media`` job asks Meta where the file is (``GET /{media-id}``),
downloads it with the access token, checks the SHA-256 Meta gave, and stores
it with the other media. Only then is the customer told of the message, with
``media_url``, our link that serves the bytes until retention ends. A
transient failure is retried in place a few times, then by the job later;
once the job runs out of tries (or Meta refuses for good) the customer is
told all the same, without ``media_url`` and with the error, and the download
can be asked for again through the API.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from wagate import metrics
from wagate.blobs import BlobStore
from wagate.domain import errors
from wagate.domain.backoff import Backoff
from wagate.domain.clock import Clock, utcnow
from wagate.domain.ids import new_token
from wagate.domain.inbound import sha256_hex
from wagate.domain.incoming import MediaOutcome
from wagate.domain.jobs import Job, JobKind
from wagate.domain.retry import RetryPolicy
from wagate.services.file_links import FileLinks
from wagate.services.incoming_fanout import incoming_writes
from wagate.services.retrying import load_or_finish, retried_in_place, retry_or_give_up
from wagate.services.status_fanout import Writes
from wagate.store import Connection, Database, delivery_queue, queue
from wagate.store import events as event_rows
from wagate.store import inbound as inbound_rows
from wagate.store import messages as message_rows
from wagate.store import profiles as profile_rows
from wagate.store import tenancy as tenancy_rows
from wagate.store.inbound import MediaState, StoredInbound
from wagate.upstream.graph import GraphClient

__all__ = ["FALLBACK_TYPE", "MB", "IncomingMediaService", "IncomingView", "MediaPolicy"]

log = structlog.get_logger("wagate.media")

MB = 1024 * 1024
FALLBACK_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class MediaPolicy:
    """How hard a download tries, how big a file may be, and how long it is kept."""

    #: Tries within one run of the job, a short pause apart.
    tries_per_run: int = 3
    #: Runs of the job before the customer is told the media could not be had.
    max_runs: int = 5
    max_bytes: int = 100 * MB
    retention: timedelta = timedelta(days=3)
    backoff: Backoff = field(default_factory=lambda: Backoff(base=0.5, cap=5.0, jitter=0.2))
    run_backoff: Backoff = field(default_factory=lambda: Backoff(base=30.0, cap=1800.0))

    @property
    def try_retry(self) -> RetryPolicy:
        """When a download is tried again within a run: a short pause apart."""
        return RetryPolicy(self.backoff, max_attempts=self.tries_per_run)

    @property
    def run_retry(self) -> RetryPolicy:
        """When a failed run of the job runs again: until its last run."""
        return RetryPolicy(self.run_backoff, max_attempts=self.max_runs)


@dataclass(frozen=True, slots=True)
class IncomingView:
    """An incoming message as the API shows it, with the link of its stored media."""

    stored: StoredInbound
    media_url: str | None


class IncomingMediaService:
    """Runs ``download_media`` jobs, and finds, links and retries incoming media."""

    def __init__(
        self,
        database: Database,
        blobs: BlobStore,
        graph: GraphClient,
        links: FileLinks,
        policy: MediaPolicy | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self._db = database
        self._blobs = blobs
        self._graph = graph
        self._links = links
        self.policy = policy or MediaPolicy()
        self._clock = clock

    async def run(self, job: Job) -> None:
        """Download one incoming message's media, then tell the customer of the message."""

        async def downloadable(connection: Connection) -> StoredInbound | None:
            stored = await inbound_rows.get_inbound(connection, job.subject_id)
            if stored is None or stored.media is None or stored.media.state != MediaState.PENDING:
                return None
            return stored

        stored = await load_or_finish(self._db, job, downloadable)
        if stored is None or stored.media is None:
            return
        bound = log.bind(incoming_id=stored.id, media_id=stored.media.media_id, run=job.attempts)
        try:
            fetched = await self._fetch(stored)
        except errors.MetaError as exc:
            await retry_or_give_up(
                self._db,
                job,
                exc,
                self.policy.run_retry,
                give_up=lambda error: self._give_up(stored, job, str(error)),
                clock=self._clock,
                log=bound,
                topic="media",
            )
            return
        await self._keep(stored, job, fetched)
        bound.info("media.stored", size=fetched.size, media_type=fetched.media_type)

    async def get(self, sid: str, number: str, wamid: str) -> IncomingView:
        """The message Meta calls ``wamid`` that came to the account's ``number``."""
        async with self._db.transaction() as connection:
            stored = await inbound_rows.get_by_wamid(connection, number, wamid)
        if stored is None or stored.sid != sid:
            raise errors.NotFound(f"no incoming message {wamid} to {number}")
        return IncomingView(stored, await self.media_url(stored))

    async def retry(self, sid: str, number: str, wamid: str) -> IncomingView:
        """Download a message's media again after it failed; the message as it now is.

        Asking again while a download waits or after it succeeded changes nothing.
        """
        now = self._clock()
        async with self._db.transaction() as connection:
            stored = await inbound_rows.get_by_wamid(connection, number, wamid)
            if stored is None or stored.sid != sid:
                raise errors.NotFound(f"no incoming message {wamid} to {number}")
            if stored.media is None:
                raise errors.InvalidPayload({"id": f"a {stored.message.type} message has no media"})
            if await inbound_rows.reset_failed_media(connection, stored.id, now):
                await queue.enqueue(connection, JobKind.DOWNLOAD_MEDIA, stored.id, now, now)
            stored = await inbound_rows.get_inbound(connection, stored.id) or stored
        return IncomingView(stored, await self.media_url(stored))

    async def find_by_token(self, token: str) -> StoredInbound | None:
        """The incoming message whose stored media a link names, while it is kept."""
        async with self._db.transaction() as connection:
            stored = await inbound_rows.get_by_media_token(connection, token)
        if stored is None or self._clock() >= stored.created_at + self.policy.retention:
            return None
        return stored

    async def media_url(self, stored: StoredInbound) -> str | None:
        """The link of a message's stored media; None before it is stored or once purged."""
        media = stored.media
        if media is None or media.state != MediaState.STORED or not media.token:
            return None
        lifetime = stored.created_at + self.policy.retention - self._clock()
        if lifetime.total_seconds() <= 0 or media.blob_key is None:
            return None
        return await self._links.link(media.token, media.blob_key, lifetime)

    async def _fetch(self, stored: StoredInbound) -> _Fetched:
        """The media, downloaded and checked: tried again in place after a transient failure."""
        return await retried_in_place(
            lambda: self._download(stored),
            self.policy.try_retry,
            log=log.bind(incoming_id=stored.id),
            event="media.retry",
        )

    async def _download(self, stored: StoredInbound) -> _Fetched:
        assert stored.media is not None
        graph = await self._graph.about(stored.phone_number_id)
        info = await graph.media_info(stored.media.media_id)
        declared = stored.message.media
        expected = sha256_hex(info.sha256) or sha256_hex(declared.sha256 if declared else None)
        day = self._clock().strftime("%Y-%m-%d")
        writer = self._blobs.create(f"incoming/{day}/{uuid.uuid4().hex}")
        digest = hashlib.sha256()
        size = 0

        async def sink(chunk: bytes) -> None:
            nonlocal size
            size += len(chunk)
            digest.update(chunk)
            await writer.write(chunk)

        try:
            served_as = await graph.download_media(info.url, sink, max_bytes=self.policy.max_bytes)
            found = digest.hexdigest()
            if expected is not None and found != expected:
                raise errors.MetaTransientError(
                    f"the media downloaded has sha256 {found}, not the {expected} Meta gave"
                )
            if info.file_size is not None and size != info.file_size:
                raise errors.MetaTransientError(
                    f"the media downloaded has {size} bytes, not the {info.file_size} Meta gave"
                )
            await writer.commit()
        except BaseException:
            await writer.abort()
            raise
        declared_type = declared.mime_type if declared else None
        media_type = info.mime_type or declared_type or served_as or FALLBACK_TYPE
        return _Fetched(writer.key, media_type, size, found)

    async def _keep(self, stored: StoredInbound, job: Job, fetched: _Fetched) -> None:
        now = self._clock()
        token = new_token()
        async with self._db.transaction() as connection:
            kept = await inbound_rows.set_media_stored(
                connection,
                stored.id,
                media_type=fetched.media_type,
                size=fetched.size,
                sha256=fetched.sha256,
                blob_key=fetched.blob_key,
                token=token,
                now=now,
            )
            if kept:
                lifetime = stored.created_at + self.policy.retention - now
                url = await self._links.link(token, fetched.blob_key, lifetime)
                await self._announce(connection, stored, MediaOutcome(url=url), now)
            await queue.finish(connection, job.id)
        if kept:
            metrics.MEDIA_DOWNLOADS.labels("stored").inc()
        else:
            await self._blobs.delete(fetched.blob_key)

    async def _give_up(self, stored: StoredInbound, job: Job, error: str) -> None:
        now = self._clock()
        async with self._db.transaction() as connection:
            if await inbound_rows.set_media_failed(connection, stored.id, error, now):
                await self._announce(connection, stored, MediaOutcome(error=error), now)
            await queue.finish(connection, job.id)
        metrics.MEDIA_DOWNLOADS.labels("failed").inc()

    async def _announce(
        self, connection: Connection, stored: StoredInbound, media: MediaOutcome, now: datetime
    ) -> None:
        """The message's event and deliveries, now that its media's fate is known."""
        phones = await tenancy_rows.numbers_by_phone_number_id(connection, [stored.phone_number_id])
        phone = phones.get(stored.phone_number_id)
        if phone is None:
            return
        message = stored.message
        replied = (
            await message_rows.get_by_wamid(connection, message.reply_to)
            if message.reply_to
            else None
        )
        profile_id = phone.incoming_callback_profile_id
        profiles = await profile_rows.get_profiles(connection, [profile_id] if profile_id else [])
        writes = Writes()
        incoming_writes(
            stored.id,
            message,
            phone,
            replied=replied,
            profiles=profiles,
            media=media,
            writes=writes,
            now=now,
        )
        await event_rows.insert_events(connection, writes.events, now)
        await delivery_queue.insert_deliveries(connection, writes.deliveries)


@dataclass(frozen=True, slots=True)
class _Fetched:
    blob_key: str
    media_type: str
    size: int
    sha256: str
