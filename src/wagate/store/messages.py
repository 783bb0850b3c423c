"""Messages and the statuses Meta reported for them, read and written a batch at a time."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from wagate.domain import json_text
from wagate.domain.ids import time_ordered_uuid
from wagate.domain.messages import Message
from wagate.domain.status_plan import NewStatus, ReleasedStatus, StoredStatus
from wagate.store.bulk import BulkInsert, execute_many
from wagate.store.tables import message_statuses, messages
from wagate.store.value_lists import among

__all__ = [
    "MessageState",
    "NewStatus",
    "StoredStatus",
    "assign_wamids",
    "by_ids",
    "by_wamid",
    "get_by_wamid",
    "insert_message",
    "insert_messages",
    "insert_statuses",
    "mark_rejected",
    "mark_state",
    "release_held",
    "set_forwarded_ranks",
    "status_sequence",
    "statuses_of",
]


class MessageState:
    """Where a message we send stands on our side (the ``state`` column)."""

    SENDING = "sending"  # written ahead of the call to Meta
    QUEUED = "queued"  # waits until its number may send (the send queue holds its body)
    SENT = "sent"  # Meta accepted it; its wamid is recorded through the inbox
    REJECTED = "rejected"  # Meta refused it; the customer was told so
    EXPIRED = "expired"  # it waited in the queue past its time; the customer was told so


#: What a :class:`Message` is read from (not its state or times: the hot path reads many).
_MESSAGE_FIELDS = [
    column for column in messages.c if column.name not in ("state", "created_at", "updated_at")
]


def _to_message(row: Any) -> Message:
    return Message(
        id=row.id,
        sid=row.sid,
        waba_id=row.waba_id,
        number=row.number,
        phone_number_id=row.phone_number_id,
        recipient=row.recipient,
        wamid=row.wamid,
        type=row.type,
        template_id=row.template_id,
        template_name=row.template_name,
        template_components=json.loads(row.template_components)
        if row.template_components
        else None,
        ref=row.ref,
        ref1=row.ref1,
        ref2=row.ref2,
        callback_url=row.callback_url,
        callback_profile_id=row.callback_profile_id,
        tag_name=row.tag_name,
        forwarded_rank=row.forwarded_rank,
        recipient_user_id=row.recipient_user_id,
        price=row.price,
    )


def _message_row(message: Message, state: str, now: datetime) -> dict[str, Any]:
    return {
        "id": message.id,
        "sid": message.sid,
        "waba_id": message.waba_id,
        "number": message.number,
        "phone_number_id": message.phone_number_id,
        "recipient": message.recipient,
        "wamid": message.wamid,
        "state": state,
        "type": message.type,
        "template_id": message.template_id,
        "template_name": message.template_name,
        "template_components": json.dumps(message.template_components)
        if message.template_components is not None
        else None,
        "ref": message.ref,
        "ref1": message.ref1,
        "ref2": message.ref2,
        "callback_url": message.callback_url,
        "callback_profile_id": message.callback_profile_id,
        "tag_name": message.tag_name,
        "forwarded_rank": 0,
        "recipient_user_id": message.recipient_user_id,
        "created_at": now,
        "updated_at": now,
    }


_MESSAGE_COLUMNS = [
    "id", "sid", "waba_id", "number", "phone_number_id", "recipient", "wamid", "state", "type",
    "template_id", "template_name", "template_components", "ref", "ref1", "ref2", "callback_url",
    "callback_profile_id", "tag_name", "forwarded_rank", "recipient_user_id", "created_at",
    "updated_at",
]  # fmt: skip
_INSERT_MESSAGES = BulkInsert(messages, _MESSAGE_COLUMNS)
_ASSIGN_WAMID = (
    update(messages)
    .where(messages.c.id == bindparam("b_id"))
    .values(wamid=bindparam("b_wamid"), state=MessageState.SENT, updated_at=bindparam("b_now"))
)
_SET_RANK = (
    update(messages)
    .where(messages.c.id == bindparam("b_id"))
    .values(
        forwarded_rank=bindparam("b_rank"),
        price=func.coalesce(messages.c.price, bindparam("b_price")),
        updated_at=bindparam("b_now"),
    )
)
_SET_PRICE = (
    update(messages)
    .where(messages.c.id == bindparam("b_id"), messages.c.price.is_(None))
    .values(price=bindparam("b_price"), updated_at=bindparam("b_now"))
)
_STATUS_COLUMNS = [
    "id", "wamid", "status", "message_id", "meta_timestamp", "forwarded", "outcome", "seq",
    "payload", "created_at",
]  # fmt: skip
_INSERT_STATUSES = BulkInsert(message_statuses, _STATUS_COLUMNS, ["wamid", "status"])
_RELEASE_HELD = (
    update(message_statuses)
    .where(message_statuses.c.id == bindparam("b_id"))
    .values(
        message_id=bindparam("b_message_id"),
        outcome=bindparam("b_outcome"),
        forwarded=bindparam("b_forwarded"),
        payload=bindparam("b_payload"),
    )
)


async def insert_messages(
    connection: AsyncConnection,
    batch: Sequence[Message],
    now: datetime,
    state: str = MessageState.SENDING,
) -> None:
    """Write messages ahead of their call to Meta (their wamid comes through the inbox),
    or queued until their number may send."""
    await execute_many(connection, _INSERT_MESSAGES, [_message_row(m, state, now) for m in batch])


async def insert_message(connection: AsyncConnection, message: Message, now: datetime) -> None:
    """Store a message Meta already accepted, wamid and all (imports and tests)."""
    await execute_many(
        connection, _INSERT_MESSAGES, [_message_row(message, MessageState.SENT, now)]
    )


async def mark_rejected(connection: AsyncConnection, ids: Collection[str], now: datetime) -> None:
    """Meta refused these messages: they will never have a wamid."""
    await mark_state(connection, ids, MessageState.REJECTED, now)


async def mark_state(
    connection: AsyncConnection, ids: Collection[str], state: str, now: datetime
) -> None:
    """Put messages that have no wamid yet in ``state``."""
    if ids:
        await connection.execute(
            update(messages)
            .where(messages.c.id.in_(list(ids)), messages.c.wamid.is_(None))
            .values(state=state, updated_at=now)
        )


async def by_ids(connection: AsyncConnection, ids: Collection[str]) -> dict[str, Message]:
    """The messages with these ids of ours, by id."""
    if not ids:
        return {}
    rows = await connection.execute(
        select(*_MESSAGE_FIELDS).where(among(connection, messages.c.id, ids))
    )
    return {row.id: _to_message(row) for row in rows}


async def assign_wamids(
    connection: AsyncConnection, pairs: Sequence[tuple[str, str]], now: datetime
) -> None:
    """Record the wamid Meta gave each (message id, wamid)."""
    await execute_many(
        connection,
        _ASSIGN_WAMID,
        [{"b_id": message_id, "b_wamid": wamid, "b_now": now} for message_id, wamid in pairs],
    )


async def by_wamid(connection: AsyncConnection, wamids: Collection[str]) -> dict[str, Message]:
    """The messages Meta knows by these wamids, by wamid."""
    if not wamids:
        return {}
    rows = await connection.execute(
        select(*_MESSAGE_FIELDS).where(among(connection, messages.c.wamid, wamids))
    )
    return {row.wamid: _to_message(row) for row in rows}


async def get_by_wamid(connection: AsyncConnection, wamid: str) -> Message | None:
    """The message Meta knows as ``wamid``, or None."""
    return (await by_wamid(connection, [wamid])).get(wamid)


async def set_forwarded_ranks(
    connection: AsyncConnection,
    ranks: Mapping[str, int],
    now: datetime,
    prices: Mapping[str, str] | None = None,
) -> None:
    """Move messages' forwarded ranks to these values, and record the price decided for
    each of them in ``prices`` ("" when free) unless one was decided already; a price of
    a message whose rank does not move is recorded on its own."""
    prices = prices or {}
    await execute_many(
        connection,
        _SET_RANK,
        [
            {"b_id": i, "b_rank": rank, "b_price": prices.get(i), "b_now": now}
            for i, rank in ranks.items()
        ],
    )
    await set_prices(connection, {i: p for i, p in prices.items() if i not in ranks}, now)


async def set_prices(connection: AsyncConnection, prices: Mapping[str, str], now: datetime) -> None:
    """Record the price decided for each message ("" when free); a message whose price was
    decided already keeps it."""
    await execute_many(
        connection,
        _SET_PRICE,
        [{"b_id": i, "b_price": price, "b_now": now} for i, price in prices.items()],
    )


async def statuses_of(connection: AsyncConnection, wamids: Collection[str]) -> list[StoredStatus]:
    """Every status recorded for these wamids, held ones included."""
    if not wamids:
        return []
    held_payload = case((message_statuses.c.message_id.is_(None), message_statuses.c.payload))
    rows = await connection.execute(
        select(
            message_statuses.c.id,
            message_statuses.c.wamid,
            message_statuses.c.status,
            message_statuses.c.message_id,
            message_statuses.c.seq,
            held_payload.label("payload"),
        ).where(among(connection, message_statuses.c.wamid, wamids))
    )
    return [
        StoredStatus(
            row.id,
            row.wamid,
            row.status,
            row.message_id,
            row.seq or 0,
            json.loads(row.payload) if row.payload is not None else {},
        )
        for row in rows
    ]


async def insert_statuses(
    connection: AsyncConnection, batch: Sequence[NewStatus], now: datetime
) -> None:
    """Record statuses, each (wamid, status) once."""
    await execute_many(
        connection,
        _INSERT_STATUSES,
        [
            {
                "id": str(time_ordered_uuid()),
                "wamid": s.wamid,
                "status": s.status,
                "message_id": s.message_id,
                "meta_timestamp": str(s.payload.get("timestamp", ""))[:32],
                "forwarded": s.forwarded,
                "outcome": s.outcome,
                "seq": s.seq,
                "payload": json_text.compact(s.payload),
                "created_at": now,
            }
            for s in batch
        ],
    )


async def release_held(connection: AsyncConnection, released: Sequence[ReleasedStatus]) -> None:
    """Attach held statuses to their message, with their fate; each keeps Meta's status
    object alone (the contact it was held with is dropped)."""
    await execute_many(
        connection,
        _RELEASE_HELD,
        [
            {
                "b_id": r.id,
                "b_message_id": r.message_id,
                "b_outcome": r.outcome,
                "b_forwarded": r.forwarded,
                "b_payload": json_text.compact(r.payload),
            }
            for r in released
        ],
    )


async def status_sequence(connection: AsyncConnection, wamid: str) -> list[str]:
    """The statuses Meta reported for a message, in the order they were acknowledged."""
    rows = (
        await connection.execute(
            select(message_statuses.c.status)
            .where(message_statuses.c.wamid == wamid)
            .order_by(message_statuses.c.seq, message_statuses.c.created_at)
        )
    ).all()
    return [row.status for row in rows]
