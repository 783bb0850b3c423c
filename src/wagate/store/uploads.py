"""Resumable-media uploads in the database, with the rate limit and idempotency keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from wagate.domain.uploads import Transition, Upload, UploadStatus
from wagate.store.tables import idempotency_keys, uploads

__all__ = [
    "count_created_since",
    "find_by_idempotency_key",
    "get_account_upload",
    "get_upload",
    "get_upload_by_id",
    "get_upload_by_link_token",
    "insert_upload",
    "list_account_uploads",
    "list_uploads",
    "record_progress",
    "remember_idempotency_key",
    "set_meta_session",
    "transition",
]


def _to_upload(row: Any) -> Upload:
    return Upload(
        id=row.id,
        sid=row.sid,
        waba_id=row.waba_id,
        file_name=row.file_name,
        media_type=row.media_type,
        size=row.size,
        sha256=row.sha256,
        blob_key=row.blob_key,
        status=UploadStatus(row.status),
        created_at=row.created_at,
        expires_at=row.expires_at,
        purge_at=row.purge_at,
        uploaded_file_handle=row.uploaded_file_handle,
        file_link_token=row.file_link_token,
        failure_reason=row.failure_reason,
        updated_at=row.updated_at,
        meta_session_id=row.meta_session_id,
        bytes_transferred=row.bytes_transferred,
        transfer_resumes=row.transfer_resumes,
    )


async def count_created_since(connection: AsyncConnection, waba_id: str, since: datetime) -> int:
    """How many uploads the WABA has had accepted after ``since``."""
    query = (
        select(func.count())
        .select_from(uploads)
        .where(uploads.c.waba_id == waba_id, uploads.c.created_at > since)
    )
    return int((await connection.execute(query)).scalar_one())


async def find_by_idempotency_key(
    connection: AsyncConnection, waba_id: str, key: str, since: datetime
) -> Upload | None:
    """The upload a key created for this WABA after ``since``, or None."""
    query = (
        select(uploads)
        .join(idempotency_keys, idempotency_keys.c.upload_id == uploads.c.id)
        .where(
            idempotency_keys.c.waba_id == waba_id,
            idempotency_keys.c.key == key,
            idempotency_keys.c.created_at > since,
        )
    )
    row = (await connection.execute(query)).first()
    return None if row is None else _to_upload(row)


async def remember_idempotency_key(
    connection: AsyncConnection, waba_id: str, key: str, upload_id: str, now: datetime
) -> None:
    """Record that ``key`` created ``upload_id``, replacing an expired record of the key."""
    await connection.execute(
        delete(idempotency_keys).where(
            idempotency_keys.c.waba_id == waba_id, idempotency_keys.c.key == key
        )
    )
    await connection.execute(
        idempotency_keys.insert().values(
            waba_id=waba_id, key=key, upload_id=upload_id, created_at=now
        )
    )


async def insert_upload(connection: AsyncConnection, upload: Upload) -> None:
    """Store a newly accepted upload."""
    await connection.execute(
        uploads.insert().values(
            id=upload.id,
            sid=upload.sid,
            waba_id=upload.waba_id,
            file_name=upload.file_name,
            media_type=upload.media_type,
            size=upload.size,
            sha256=upload.sha256,
            blob_key=upload.blob_key,
            status=upload.status.value,
            uploaded_file_handle=upload.uploaded_file_handle,
            file_link_token=upload.file_link_token,
            failure_reason=upload.failure_reason,
            created_at=upload.created_at,
            updated_at=upload.updated_at or upload.created_at,
            expires_at=upload.expires_at,
            purge_at=upload.purge_at,
        )
    )


async def get_upload(connection: AsyncConnection, waba_id: str, upload_id: str) -> Upload | None:
    """One upload of the WABA, or None."""
    query = select(uploads).where(uploads.c.waba_id == waba_id, uploads.c.id == upload_id)
    row = (await connection.execute(query)).first()
    return None if row is None else _to_upload(row)


async def list_uploads(
    connection: AsyncConnection, waba_id: str, *, limit: int, offset: int
) -> tuple[list[Upload], int]:
    """A page of the WABA's uploads, newest first, and how many there are in all."""
    return await _page(connection, uploads.c.waba_id == waba_id, limit=limit, offset=offset)


async def list_account_uploads(
    connection: AsyncConnection, sid: str, *, limit: int, offset: int
) -> tuple[list[Upload], int]:
    """A page of the account's uploads (every WABA), newest first, and how many in all."""
    return await _page(connection, uploads.c.sid == sid, limit=limit, offset=offset)


async def _page(
    connection: AsyncConnection, condition: Any, *, limit: int, offset: int
) -> tuple[list[Upload], int]:
    total = (
        await connection.execute(select(func.count()).select_from(uploads).where(condition))
    ).scalar_one()
    query = (
        select(uploads)
        .where(condition)
        .order_by(uploads.c.created_at.desc(), uploads.c.id)
        .limit(limit)
        .offset(offset)
    )
    rows = (await connection.execute(query)).all()
    return [_to_upload(row) for row in rows], int(total)


async def get_account_upload(
    connection: AsyncConnection, sid: str, upload_id: str
) -> Upload | None:
    """One upload of the account, whatever its WABA, or None."""
    query = select(uploads).where(uploads.c.sid == sid, uploads.c.id == upload_id)
    row = (await connection.execute(query)).first()
    return None if row is None else _to_upload(row)


async def get_upload_by_id(connection: AsyncConnection, upload_id: str) -> Upload | None:
    """One upload, whatever its WABA, or None."""
    row = (await connection.execute(select(uploads).where(uploads.c.id == upload_id))).first()
    return None if row is None else _to_upload(row)


async def get_upload_by_link_token(connection: AsyncConnection, token: str) -> Upload | None:
    """The upload a download link points at, or None."""
    query = select(uploads).where(uploads.c.file_link_token == token)
    row = (await connection.execute(query)).first()
    return None if row is None else _to_upload(row)


async def set_meta_session(
    connection: AsyncConnection, upload_id: str, session_id: str, now: datetime
) -> None:
    """Remember the Meta upload session a transfer writes to, so any worker can resume it."""
    await connection.execute(
        update(uploads)
        .where(uploads.c.id == upload_id)
        .values(meta_session_id=session_id, updated_at=now)
    )


async def record_progress(
    connection: AsyncConnection, upload_id: str, bytes_transferred: int, *, resumed: bool
) -> None:
    """Record how far Meta has confirmed the file, and count a resume."""
    values: dict[str, object] = {"bytes_transferred": bytes_transferred}
    if resumed:
        values["transfer_resumes"] = uploads.c.transfer_resumes + 1
    await connection.execute(update(uploads).where(uploads.c.id == upload_id).values(**values))


async def transition(
    connection: AsyncConnection,
    upload_id: str,
    move: Transition,
    *,
    now: datetime,
    **values: object,
) -> Upload | None:
    """Apply the state machine's ``move`` to an upload; None when its status is not one
    the move is allowed from.

    The condition on the current status makes the move happen once, however
    many workers try it.
    """
    result = await connection.execute(
        update(uploads)
        .where(
            uploads.c.id == upload_id,
            uploads.c.status.in_(sorted(source.value for source in move.sources)),
        )
        .values(status=move.target.value, updated_at=now, **values)
    )
    if result.rowcount != 1:
        return None
    return await get_upload_by_id(connection, upload_id)
