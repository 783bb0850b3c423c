"""Accepting resumable-media uploads: admission, validation, and the binding rate limit."""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager

from wagate.blobs import BlobStore, BlobWriter
from wagate.domain import errors
from wagate.domain.clock import Clock, utcnow
from wagate.domain.ids import new_token, new_upload_id
from wagate.domain.jobs import JobKind
from wagate.domain.media import canonical_type, describe_content, is_valid_file_name, sniff_type
from wagate.domain.uploads import ReceivedFile, Upload, UploadPolicy, UploadStatus
from wagate.services.tenancy import WabaAccess
from wagate.services.upload_slots import UploadSlots
from wagate.store import Database, queue, tenancy
from wagate.store import uploads as upload_rows

__all__ = ["UploadService"]


class UploadService:
    """The use cases of the resumable-media API."""

    def __init__(
        self,
        database: Database,
        blobs: BlobStore,
        policy: UploadPolicy,
        clock: Clock = utcnow,
    ) -> None:
        self._db = database
        self._blobs = blobs
        self.policy = policy
        self._clock = clock
        self._slots = UploadSlots(policy.max_in_progress)

    def receiving(self, sid: str) -> AbstractContextManager[None]:
        """Hold one of the account's slots for an upload whose body is being received;
        :class:`~wagate.domain.errors.TooManyUploadsInProgress` when none is free."""
        return self._slots.hold(sid)

    async def admit(self, access: WabaAccess, idempotency_key: str | None) -> Upload | None:
        """Decide, before the body is read, whether to read it.

        Returns the upload an earlier request with the same idempotency key
        created (the caller answers with it and reads nothing), or None to go
        on. Raises :class:`~wagate.domain.errors.RateLimited` when the window is
        already full; this early check only saves bandwidth, the binding one is
        in :meth:`accept`.
        """
        now = self._clock()
        async with self._db.transaction() as connection:
            if idempotency_key:
                earlier = await upload_rows.find_by_idempotency_key(
                    connection,
                    access.waba.waba_id,
                    idempotency_key,
                    now - self.policy.idempotency_ttl,
                )
                if earlier is not None:
                    return earlier
            used = await upload_rows.count_created_since(
                connection, access.waba.waba_id, now - self.policy.rate_window
            )
        if used >= self.policy.rate_limit:
            raise errors.RateLimited()
        return None

    def open_blob(self) -> BlobWriter:
        """A writer for the bytes of a new upload."""
        day = self._clock().strftime("%Y-%m-%d")
        return self._blobs.create(f"uploads/{day}/{uuid.uuid4().hex}")

    async def accept(
        self,
        access: WabaAccess,
        received: ReceivedFile | None,
        declared_type: str | None,
        idempotency_key: str | None,
    ) -> Upload:
        """Validate a received upload and store it as PENDING, or raise why not.

        The blob must already be committed. Whatever the outcome other than a
        new upload, the blob is deleted.
        """
        try:
            media_type = _validate(received, declared_type)
            assert received is not None
            upload = await self._insert(access, received, media_type, idempotency_key)
        except BaseException:
            if received is not None:
                await self._blobs.delete(received.blob_key)
            raise
        if upload.blob_key != received.blob_key:
            # An identical request with the same idempotency key won the race.
            await self._blobs.delete(received.blob_key)
        return upload

    async def _insert(
        self,
        access: WabaAccess,
        received: ReceivedFile,
        media_type: str,
        idempotency_key: str | None,
    ) -> Upload:
        waba_id = access.waba.waba_id
        async with self._db.transaction() as connection:
            # Serialises accepts per WABA (the row lock on PostgreSQL; on SQLite
            # every write transaction is already exclusive), so the count below
            # cannot be raced past the limit.
            await tenancy.get_waba(connection, waba_id, lock=True)
            now = self._clock()
            if idempotency_key:
                earlier = await upload_rows.find_by_idempotency_key(
                    connection, waba_id, idempotency_key, now - self.policy.idempotency_ttl
                )
                if earlier is not None:
                    return earlier
            used = await upload_rows.count_created_since(
                connection, waba_id, now - self.policy.rate_window
            )
            if used >= self.policy.rate_limit:
                raise errors.RateLimited()
            upload = Upload(
                id=new_upload_id(),
                sid=access.account.sid,
                waba_id=waba_id,
                file_name=received.file_name,
                media_type=media_type,
                size=received.size,
                sha256=received.sha256,
                blob_key=received.blob_key,
                status=UploadStatus.PENDING,
                created_at=now,
                updated_at=now,
                expires_at=now + self.policy.handle_ttl,
                purge_at=now + self.policy.retention,
                file_link_token=new_token(),
            )
            await upload_rows.insert_upload(connection, upload)
            await queue.enqueue(connection, JobKind.TRANSFER_UPLOAD, upload.id, now, now)
            await queue.enqueue(connection, JobKind.PURGE_UPLOAD, upload.id, upload.purge_at, now)
            if idempotency_key:
                await upload_rows.remember_idempotency_key(
                    connection, waba_id, idempotency_key, upload.id, now
                )
        return upload

    async def get(self, access: WabaAccess, upload_id: str) -> Upload:
        """One upload of the WABA; :class:`~wagate.domain.errors.NotFound` when unknown."""
        async with self._db.transaction() as connection:
            upload = await upload_rows.get_upload(connection, access.waba.waba_id, upload_id)
        if upload is None:
            raise errors.NotFound(f"no resumable media with id {upload_id}")
        return upload

    async def find_by_link_token(self, token: str) -> Upload | None:
        """The upload a ``file_link`` token points at, or None."""
        async with self._db.transaction() as connection:
            return await upload_rows.get_upload_by_link_token(connection, token)

    async def list_for_account(
        self, sid: str, *, limit: int, offset: int
    ) -> tuple[list[Upload], int]:
        """A page of the account's uploads across its WABAs, newest first, and the total."""
        async with self._db.transaction() as connection:
            return await upload_rows.list_account_uploads(
                connection, sid, limit=limit, offset=offset
            )

    async def get_for_account(self, sid: str, upload_id: str) -> Upload:
        """One upload of the account, whatever its WABA; :class:`NotFound` otherwise."""
        async with self._db.transaction() as connection:
            upload = await upload_rows.get_account_upload(connection, sid, upload_id)
        if upload is None:
            raise errors.NotFound(f"no resumable media with id {upload_id}")
        return upload

    async def list(
        self, access: WabaAccess, *, limit: int, offset: int
    ) -> tuple[list[Upload], int]:
        """A page of the WABA's uploads, newest first, and the total count."""
        async with self._db.transaction() as connection:
            return await upload_rows.list_uploads(
                connection, access.waba.waba_id, limit=limit, offset=offset
            )


def _validate(received: ReceivedFile | None, declared_type: str | None) -> str:
    """The canonical media type of a valid upload, or the error that refuses it."""
    if received is None:
        raise errors.InvalidPayload({"file": "the file part is missing"})
    if declared_type is None or not declared_type.strip():
        raise errors.InvalidPayload({"type": "the type part is missing"})
    media_type = canonical_type(declared_type)
    if media_type is None:
        raise errors.InvalidPayload(
            {
                "type": f"unsupported type {declared_type!r}; use one of application/pdf, "
                "image/jpeg, image/jpg, image/png, video/mp4"
            }
        )
    if not is_valid_file_name(received.file_name):
        raise errors.InvalidFileName()
    if received.size == 0:
        raise errors.InvalidPayload({"file": "the file is empty"})
    if sniff_type(received.head) != media_type:
        raise errors.InvalidPayload(
            {
                "type": f"declared type {declared_type} does not match the file's content, "
                f"which is {describe_content(received.head)}"
            }
        )
    return media_type
