"""Reading an account's activity: its messages, their statuses, and the deliveries of a subject.

Read-only queries of the customer portal; every one is scoped to an account.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from sqlalchemy import String, cast, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from wagate.domain.activity import DeliverySummary, MessageRecord, RecordedStatus
from wagate.domain.callbacks import DeliveryStatus
from wagate.domain.identity import is_bsuid
from wagate.store.tables import deliveries, message_statuses, messages, uploads, user_identities

__all__ = [
    "SUBJECT_DELIVERIES_LIMIT",
    "deliveries_about",
    "find_message_of_number",
    "get_message",
    "list_messages",
    "messages_with_ref",
    "statuses_of",
    "subject_kind",
]

#: The most deliveries a subject's page lists (a message has a handful; more is a loop).
SUBJECT_DELIVERIES_LIMIT = 200

_MESSAGE_COLUMNS = (
    messages.c.id,
    messages.c.sid,
    messages.c.waba_id,
    messages.c.number,
    messages.c.recipient,
    messages.c.wamid,
    messages.c.type,
    messages.c.template_name,
    messages.c.ref,
    messages.c.ref1,
    messages.c.ref2,
    messages.c.callback_url,
    messages.c.callback_profile_id,
    messages.c.forwarded_rank,
    messages.c.created_at,
    messages.c.recipient_user_id,
    messages.c.price,
)


def _to_message(row: Any) -> MessageRecord:
    return MessageRecord(
        id=row.id,
        sid=row.sid,
        waba_id=row.waba_id,
        number=row.number,
        recipient=row.recipient,
        wamid=row.wamid,
        type=row.type,
        template_name=row.template_name,
        ref=row.ref,
        ref1=row.ref1,
        ref2=row.ref2,
        callback_url=row.callback_url,
        callback_profile_id=row.callback_profile_id,
        forwarded_rank=row.forwarded_rank,
        created_at=row.created_at,
        recipient_user_id=row.recipient_user_id,
        price=row.price,
    )


def _search(text: str) -> Any:
    """Messages whose id or wamid is ``text``, or whose recipient or a ref contains it; for a
    BSUID, the messages to that user (by BSUID, or by the phone number it is known by)."""
    matches = [
        messages.c.id == text,
        messages.c.wamid == text,
        messages.c.recipient_user_id == text,
        messages.c.recipient.contains(text, autoescape=True),
        messages.c.ref.contains(text, autoescape=True),
        messages.c.ref1.contains(text, autoescape=True),
        messages.c.ref2.contains(text, autoescape=True),
    ]
    digits = "".join(ch for ch in text if ch.isdigit())
    if digits and digits != text and not text.strip("+ -().0123456789"):
        matches.append(messages.c.recipient.contains(digits, autoescape=True))
    if is_bsuid(text):
        known = select(user_identities.c.phone).where(
            user_identities.c.waba_id == messages.c.waba_id,
            (user_identities.c.user_id == text) | (user_identities.c.parent_user_id == text),
            user_identities.c.phone.is_not(None),
        )
        matches.append(messages.c.recipient.in_(known))
    return or_(*matches)


async def list_messages(
    connection: AsyncConnection, sid: str, *, search: str | None, limit: int, offset: int
) -> list[MessageRecord]:
    """A page of the account's messages, newest first, optionally only those matching ``search``.

    No total is counted: an account may have sent millions.
    """
    condition = messages.c.sid == sid
    if search:
        condition = condition & _search(search)
    query = (
        select(*_MESSAGE_COLUMNS)
        .where(condition)
        .order_by(messages.c.created_at.desc(), messages.c.id)
        .limit(limit)
        .offset(offset)
    )
    return [_to_message(row) for row in await connection.execute(query)]


async def get_message(
    connection: AsyncConnection, sid: str, message_id: str
) -> MessageRecord | None:
    """One message of the account, or None."""
    query = select(*_MESSAGE_COLUMNS).where(messages.c.sid == sid, messages.c.id == message_id)
    row = (await connection.execute(query)).first()
    return None if row is None else _to_message(row)


async def find_message_of_number(
    connection: AsyncConnection, sid: str, number: str, key: str
) -> MessageRecord | None:
    """The message of the account's number whose id or wamid is ``key``, or None."""
    query = select(*_MESSAGE_COLUMNS).where(
        messages.c.sid == sid,
        messages.c.number == number,
        (messages.c.id == key) | (messages.c.wamid == key),
    )
    row = (await connection.execute(query.limit(1))).first()
    return None if row is None else _to_message(row)


async def messages_with_ref(
    connection: AsyncConnection, sid: str, number: str, ref: str, *, limit: int, offset: int
) -> tuple[list[MessageRecord], int]:
    """A page of the number's messages whose ``ref`` is ``ref``, newest first; and the total."""
    condition = (messages.c.sid == sid) & (messages.c.number == number) & (messages.c.ref == ref)
    total = (
        await connection.execute(select(func.count()).select_from(messages).where(condition))
    ).scalar_one()
    query = (
        select(*_MESSAGE_COLUMNS)
        .where(condition)
        .order_by(messages.c.created_at.desc(), messages.c.id)
        .limit(limit)
        .offset(offset)
    )
    return [_to_message(row) for row in await connection.execute(query)], int(total)


async def statuses_of(
    connection: AsyncConnection, wamids: Collection[str]
) -> dict[str, list[RecordedStatus]]:
    """Every status Meta reported for each of ``wamids``, in the order they were recorded."""
    if not wamids:
        return {}
    query = (
        select(
            message_statuses.c.wamid,
            message_statuses.c.status,
            message_statuses.c.forwarded,
            message_statuses.c.meta_timestamp,
            message_statuses.c.payload,
            message_statuses.c.created_at,
        )
        .where(message_statuses.c.wamid.in_(list(wamids)))
        # Statuses recorded together (one batch of webhooks) share their time: the
        # inbox position of the webhook that reported each says which came first.
        .order_by(message_statuses.c.created_at, message_statuses.c.seq, message_statuses.c.id)
    )
    found: dict[str, list[RecordedStatus]] = {}
    for row in await connection.execute(query):
        found.setdefault(row.wamid, []).append(
            RecordedStatus(
                status=row.status,
                forwarded=bool(row.forwarded),
                meta_timestamp=row.meta_timestamp or None,
                payload=_json_object(row.payload),
                created_at=row.created_at,
            )
        )
    return found


async def deliveries_about(
    connection: AsyncConnection, sid: str, subject_id: str
) -> list[DeliverySummary]:
    """The account's deliveries about an upload or a message, oldest first."""
    query = (
        select(
            deliveries.c.id,
            deliveries.c.subject_id,
            deliveries.c.profile_id,
            deliveries.c.method,
            deliveries.c.url,
            deliveries.c.status,
            deliveries.c.attempts,
            deliveries.c.last_response_status,
            deliveries.c.last_error,
            deliveries.c.created_at,
            deliveries.c.delivered_at,
        )
        .where(deliveries.c.sid == sid, deliveries.c.subject_id == subject_id)
        .order_by(deliveries.c.created_at, deliveries.c.id)
        .limit(SUBJECT_DELIVERIES_LIMIT)
    )
    return [
        DeliverySummary(
            id=row.id,
            subject_id=row.subject_id,
            profile_id=row.profile_id,
            method=row.method,
            url=row.url,
            status=DeliveryStatus(row.status),
            attempts=row.attempts,
            last_response_status=row.last_response_status,
            last_error=row.last_error,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
        )
        for row in await connection.execute(query)
    ]


async def subject_kind(connection: AsyncConnection, sid: str, subject_id: str) -> str | None:
    """Whether a delivery's subject is one of the account's ``message``s or ``upload``s."""
    kind = String(16)
    query = union_all(
        select(cast(literal("message"), kind).label("kind")).where(
            messages.c.sid == sid, messages.c.id == subject_id
        ),
        select(cast(literal("upload"), kind).label("kind")).where(
            uploads.c.sid == sid, uploads.c.id == subject_id
        ),
    )
    found: str | None = (await connection.execute(query)).scalars().first()
    return found


def _json_object(text: str | None) -> dict[str, Any]:
    try:
        document = json.loads(text or "{}")
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}
