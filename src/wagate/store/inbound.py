"""Messages users sent to business numbers: recorded once each, with their media's fate."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from wagate.domain import json_text
from wagate.domain.inbound import InboundMessage, parse_message
from wagate.domain.tenancy import PhoneNumber
from wagate.store.bulk import BulkInsert, execute_many
from wagate.store.tables import inbound_messages

__all__ = [
    "MediaState",
    "NewInbound",
    "StoredInbound",
    "StoredMedia",
    "get_by_media_token",
    "get_by_wamid",
    "get_inbound",
    "insert_inbound",
    "known_wamids",
    "new_inbound_id",
    "reset_failed_media",
    "set_media_failed",
    "set_media_stored",
]


class MediaState:
    """Where an incoming message's media stands (the ``media_state`` column)."""

    PENDING = "pending"  # its download job waits or runs
    STORED = "stored"  # downloaded, checked and kept: served by its link
    FAILED = "failed"  # Meta kept failing; ``media_error`` says how


@dataclass(frozen=True, slots=True)
class NewInbound:
    """An incoming message to record, on the number it came to, at its inbox position."""

    message: InboundMessage
    phone: PhoneNumber
    seq: int


@dataclass(frozen=True, slots=True)
class StoredMedia:
    """What is known of an incoming message's media file."""

    state: str
    media_id: str
    media_type: str | None
    size: int | None
    sha256: str | None
    blob_key: str | None
    token: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class StoredInbound:
    """An incoming message as recorded."""

    id: str
    sid: str
    waba_id: str
    number: str
    phone_number_id: str
    message: InboundMessage
    media: StoredMedia | None
    created_at: datetime


_COLUMNS = [
    "id", "wamid", "sid", "waba_id", "number", "phone_number_id", "sender", "type", "reply_to",
    "seq", "payload", "media_id", "media_state", "sender_user_id", "created_at", "updated_at",
]  # fmt: skip
_INSERT = BulkInsert(inbound_messages, _COLUMNS, ["wamid"])


def new_inbound_id() -> str:
    """Our id of an incoming message."""
    return str(uuid.uuid4())


async def known_wamids(connection: AsyncConnection, wamids: Collection[str]) -> set[str]:
    """Which of these Meta message ids are recorded already."""
    if not wamids:
        return set()
    rows = await connection.execute(
        select(inbound_messages.c.wamid).where(inbound_messages.c.wamid.in_(list(wamids)))
    )
    return {row.wamid for row in rows}


async def insert_inbound(
    connection: AsyncConnection, batch: Sequence[tuple[str, NewInbound]], now: datetime
) -> None:
    """Record (id, message) pairs; a Meta id already recorded is skipped."""
    await execute_many(
        connection,
        _INSERT,
        [
            {
                "id": inbound_id,
                "wamid": new.message.wamid,
                "sid": new.phone.sid,
                "waba_id": new.phone.waba_id,
                "number": new.phone.number,
                "phone_number_id": new.phone.phone_number_id,
                "sender": new.message.sender,
                "type": new.message.type,
                "reply_to": new.message.reply_to,
                "seq": new.seq,
                "payload": json_text.compact_unicode(
                    {"message": new.message.raw, "contact": new.message.contact}
                ),
                "media_id": new.message.media.id if new.message.media else None,
                "media_state": MediaState.PENDING if new.message.media else None,
                "sender_user_id": new.message.user.user_id,
                "created_at": now,
                "updated_at": now,
            }
            for inbound_id, new in batch
        ],
    )


async def get_inbound(connection: AsyncConnection, inbound_id: str) -> StoredInbound | None:
    """The incoming message with our id, or None."""
    query = select(inbound_messages).where(inbound_messages.c.id == inbound_id)
    row = (await connection.execute(query)).first()
    return None if row is None else _to_inbound(row)


async def get_by_wamid(
    connection: AsyncConnection, number: str, wamid: str
) -> StoredInbound | None:
    """The message Meta calls ``wamid`` that came to ``number``, or None."""
    row = (
        await connection.execute(
            select(inbound_messages).where(
                inbound_messages.c.wamid == wamid, inbound_messages.c.number == number
            )
        )
    ).first()
    return None if row is None else _to_inbound(row)


async def get_by_media_token(connection: AsyncConnection, token: str) -> StoredInbound | None:
    """The incoming message whose stored media a link token names, or None."""
    row = (
        await connection.execute(
            select(inbound_messages).where(
                inbound_messages.c.media_token == token,
                inbound_messages.c.media_state == MediaState.STORED,
            )
        )
    ).first()
    return None if row is None else _to_inbound(row)


async def set_media_stored(
    connection: AsyncConnection,
    inbound_id: str,
    *,
    media_type: str,
    size: int,
    sha256: str,
    blob_key: str,
    token: str,
    now: datetime,
) -> bool:
    """Record the downloaded media; False when it was not pending any more."""
    result = await connection.execute(
        update(inbound_messages)
        .where(
            inbound_messages.c.id == inbound_id,
            inbound_messages.c.media_state == MediaState.PENDING,
        )
        .values(
            media_state=MediaState.STORED,
            media_type=media_type[:128],
            media_size=size,
            media_sha256=sha256,
            media_blob_key=blob_key,
            media_token=token,
            media_error=None,
            updated_at=now,
        )
    )
    return result.rowcount == 1


async def set_media_failed(
    connection: AsyncConnection, inbound_id: str, error: str, now: datetime
) -> bool:
    """Record that the media could not be had; False when it was not pending any more."""
    result = await connection.execute(
        update(inbound_messages)
        .where(
            inbound_messages.c.id == inbound_id,
            inbound_messages.c.media_state == MediaState.PENDING,
        )
        .values(media_state=MediaState.FAILED, media_error=error[:4000], updated_at=now)
    )
    return result.rowcount == 1


async def reset_failed_media(connection: AsyncConnection, inbound_id: str, now: datetime) -> bool:
    """Make a failed download pending again; False when it had not failed."""
    result = await connection.execute(
        update(inbound_messages)
        .where(
            inbound_messages.c.id == inbound_id,
            inbound_messages.c.media_state == MediaState.FAILED,
        )
        .values(media_state=MediaState.PENDING, updated_at=now)
    )
    return result.rowcount == 1


def _to_inbound(row: Any) -> StoredInbound:
    payload = json.loads(row.payload)
    contact = payload.get("contact")
    message = parse_message(payload.get("message") or {}, [contact] if contact else [])
    if message is None:  # pragma: no cover - only messages with an id are recorded
        raise ValueError(f"incoming message {row.id} has no Meta id in its payload")
    media = None
    if row.media_id is not None:
        media = StoredMedia(
            state=row.media_state,
            media_id=row.media_id,
            media_type=row.media_type,
            size=row.media_size,
            sha256=row.media_sha256,
            blob_key=row.media_blob_key,
            token=row.media_token,
            error=row.media_error,
        )
    return StoredInbound(
        id=row.id,
        sid=row.sid,
        waba_id=row.waba_id,
        number=row.number,
        phone_number_id=row.phone_number_id,
        message=message,
        media=media,
        created_at=row.created_at,
    )
