"""The upload lifecycle after transfer: expiry of the handle, purge of everything."""

from __future__ import annotations

import structlog

from wagate.blobs import BlobStore
from wagate.domain.clock import Clock, utcnow
from wagate.domain.jobs import Job
from wagate.domain.uploads import TO_EXPIRED
from wagate.services.file_links import FileLinks
from wagate.services.upload_events import record_upload_event
from wagate.store import Database, queue
from wagate.store import retention as retention_rows
from wagate.store import uploads as upload_rows

__all__ = ["LifecycleService"]

log = structlog.get_logger("wagate.lifecycle")


class LifecycleService:
    """Runs the expire and purge jobs of uploads."""

    def __init__(
        self, database: Database, blobs: BlobStore, links: FileLinks, clock: Clock = utcnow
    ) -> None:
        self._db = database
        self._blobs = blobs
        self._links = links
        self._clock = clock

    async def expire(self, job: Job) -> None:
        """UPLOADED becomes EXPIRED, with its event; anything else is left alone."""
        now = self._clock()
        async with self._db.transaction() as connection:
            upload = await upload_rows.transition(
                connection,
                job.subject_id,
                TO_EXPIRED,
                now=now,
            )
            if upload is not None:
                link = await self._links.for_upload(upload, now)
                await record_upload_event(connection, upload, link, now)
            await queue.finish(connection, job.id)
        if upload is not None:
            log.info("upload.expired", upload_id=job.subject_id)

    async def purge(self, job: Job) -> None:
        """Delete an upload's bytes, then its record and everything about it: events,
        deliveries and their attempts, idempotency keys, jobs (this one too).

        A delivery of it being sent right now is left alone; the retention pass
        purges what is left once it is not.
        """
        async with self._db.transaction() as connection:
            upload = await upload_rows.get_upload_by_id(connection, job.subject_id)
        if upload is not None:
            await self._blobs.delete(upload.blob_key)
        async with self._db.transaction() as connection:
            purged = await retention_rows.purge_uploads(connection, [job.subject_id], self._clock())
            await queue.delete_for_subject(connection, job.subject_id)
        log.info("upload.purged", upload_id=job.subject_id, **dict(sorted((+purged).items())))
