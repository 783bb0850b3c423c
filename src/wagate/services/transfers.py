"""Transferring an accepted upload to Meta with the Resumable Upload API.

The Meta upload session is stored on the upload as soon as it is opened, so
whichever worker runs the job next (after a crash, a lost lease or a retry)
asks Meta for its ``file_offset`` and continues the same session instead of
starting over. No transaction is open while bytes move.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import structlog

from wagate import metrics
from wagate.blobs import BlobStore
from wagate.domain.backoff import Backoff
from wagate.domain.clock import Clock, utcnow
from wagate.domain.errors import MetaError, MetaPermanentError
from wagate.domain.jobs import Job, JobKind
from wagate.domain.retry import RetryPolicy
from wagate.domain.uploads import TO_FAILED, TO_UPLOADED, Upload
from wagate.services.file_links import FileLinks
from wagate.services.retrying import load_or_finish, retried_in_place, retry_or_give_up
from wagate.services.upload_events import record_upload_event
from wagate.store import Connection, Database, queue
from wagate.store import uploads as upload_rows
from wagate.upstream.graph import GraphClient
from wagate.upstream.resumable import send_resumable

__all__ = ["CHUNK_BACKOFF", "JOB_BACKOFF", "TransferPolicy", "TransferService"]

log = structlog.get_logger("wagate.transfer")


CHUNK_BACKOFF = Backoff(base=0.5, cap=30.0, jitter=0.2)
JOB_BACKOFF = Backoff(base=5.0, cap=600.0, jitter=0.2)


@dataclass(frozen=True, slots=True)
class TransferPolicy:
    """How transfers are paced and when they give up."""

    chunk_bytes: int = 4 * 1024 * 1024
    #: Consecutive failures without progress within one run of the job.
    max_attempts: int = 8
    #: Runs of the job before the upload is FAILED.
    max_job_attempts: int = 10
    backoff: Backoff = CHUNK_BACKOFF
    job_backoff: Backoff = JOB_BACKOFF

    @property
    def call_retry(self) -> RetryPolicy:
        """When a short Graph call (the session, its offset) is tried again in place."""
        return RetryPolicy(self.backoff, max_attempts=self.max_attempts)

    @property
    def job_retry(self) -> RetryPolicy:
        """When a failed run of the job runs again: until its last run."""
        return RetryPolicy(self.job_backoff, max_attempts=self.max_job_attempts)


class TransferService:
    """Runs ``transfer_upload`` jobs."""

    def __init__(
        self,
        database: Database,
        blobs: BlobStore,
        graph: GraphClient,
        links: FileLinks,
        policy: TransferPolicy | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self._db = database
        self._blobs = blobs
        self._graph = graph
        self._links = links
        self.policy = policy or TransferPolicy()
        self._clock = clock

    async def run(self, job: Job) -> None:
        """Move the upload's bytes to Meta and record the outcome."""

        async def transferable(connection: Connection) -> Upload | None:
            upload = await upload_rows.get_upload_by_id(connection, job.subject_id)
            return upload if upload is not None and upload.status in TO_UPLOADED.sources else None

        upload = await load_or_finish(self._db, job, transferable)
        if upload is None:
            return
        bound = log.bind(upload_id=upload.id, job_id=job.id, attempt=job.attempts)
        try:
            graph = await self._graph.about(upload.waba_id)
            session_id, offset = await self._session_and_offset(graph, upload)
            handle = await send_resumable(
                graph,
                session_id,
                upload.size,
                self._reader(upload),
                chunk_bytes=self.policy.chunk_bytes,
                backoff=self.policy.backoff,
                max_attempts=self.policy.max_attempts,
                on_progress=self._progress_recorder(upload, offset),
                start_offset=offset,
            )
        except MetaError as exc:
            await retry_or_give_up(
                self._db,
                job,
                exc,
                self.policy.job_retry,
                give_up=lambda error: self._fail(upload, job, error),
                clock=self._clock,
                log=bound,
                topic="transfer",
                past_deadline=self._clock() >= upload.expires_at,
            )
            return
        await self._succeed(upload, job, handle)
        metrics.TRANSFERS_FINISHED.labels("uploaded").inc()
        bound.info("transfer.uploaded", size=upload.size)

    async def _session_and_offset(self, graph: GraphClient, upload: Upload) -> tuple[str, int]:
        """The Meta session to write to and where to start in it."""
        if upload.meta_session_id:
            try:
                offset = await retried_in_place(
                    lambda: graph.get_upload_offset(upload.meta_session_id or ""),
                    self.policy.call_retry,
                    log=log,
                    event="transfer.graph_retry",
                )
                return upload.meta_session_id, offset
            except MetaPermanentError as exc:
                log.info("transfer.session_gone", upload_id=upload.id, error=str(exc))
        session_id = await retried_in_place(
            lambda: graph.start_upload_session(upload.file_name, upload.size, upload.media_type),
            self.policy.call_retry,
            log=log,
            event="transfer.graph_retry",
        )
        async with self._db.transaction() as connection:
            await upload_rows.set_meta_session(connection, upload.id, session_id, self._clock())
        return session_id, 0

    def _reader(self, upload: Upload) -> Callable[[int, int], AsyncIterator[bytes]]:
        def open_reader(offset: int, length: int) -> AsyncIterator[bytes]:
            return self._blobs.read(upload.blob_key, offset, length)

        return open_reader

    def _progress_recorder(self, upload: Upload, start: int) -> Callable[[int], Awaitable[None]]:
        resumed = start > 0 or upload.meta_session_id is not None
        if resumed:
            metrics.TRANSFER_RESUMES.inc()
        confirmed = start

        async def record(offset: int) -> None:
            nonlocal resumed, confirmed
            metrics.TRANSFER_BYTES.inc(max(0, offset - confirmed))
            confirmed = max(confirmed, offset)
            async with self._db.transaction() as connection:
                await upload_rows.record_progress(connection, upload.id, offset, resumed=resumed)
            resumed = False

        return record

    async def _succeed(self, upload: Upload, job: Job, handle: str) -> None:
        now = self._clock()
        async with self._db.transaction() as connection:
            done = await upload_rows.transition(
                connection,
                upload.id,
                TO_UPLOADED,
                now=now,
                uploaded_file_handle=handle,
                bytes_transferred=upload.size,
            )
            if done is not None:
                link = await self._links.for_upload(done, now)
                await record_upload_event(connection, done, link, now)
                await queue.enqueue(
                    connection, JobKind.EXPIRE_UPLOAD, upload.id, done.expires_at, now
                )
            await queue.finish(connection, job.id)

    async def _fail(self, upload: Upload, job: Job, error: MetaError) -> None:
        metrics.TRANSFERS_FINISHED.labels("failed").inc()
        now = self._clock()
        reason = json.dumps(
            {
                "status": error.status,
                "code": error.code,
                "type": error.type,
                "message": error.message,
                "fbtrace_id": error.fbtrace_id,
            },
            separators=(",", ":"),
        )
        async with self._db.transaction() as connection:
            done = await upload_rows.transition(
                connection,
                upload.id,
                TO_FAILED,
                now=now,
                failure_reason=reason,
            )
            if done is not None:
                link = await self._links.for_upload(done, now)
                await record_upload_event(connection, done, link, now)
            await queue.finish(connection, job.id)
