"""Sends that wait, the send bucket of each business number, and sends' Idempotency-Keys.

A queued send is a row until it is sent: claimed per number under a lease
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL), as many at a time as the number's
bucket allows. The bucket is one instant per number (see
:mod:`wagate.domain.send_limits`), read with a row lock and written back in
the transaction that admits or claims sends, so every process that sends for
a number shares it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from wagate.domain import json_text, wakeups
from wagate.store.bulk import BulkInsert, execute_many
from wagate.store.queue import wake_workers
from wagate.store.tables import queued_sends, send_buckets, send_keys

__all__ = [
    "QueuedSend",
    "bucket_instants",
    "claim",
    "claim_keys",
    "due_counts",
    "enqueue",
    "expired",
    "key_answer",
    "next_due",
    "pause_recipient",
    "release",
    "release_keys",
    "remove",
    "save_buckets",
    "set_key_answers",
    "waiting_count",
]


@dataclass(frozen=True, slots=True)
class QueuedSend:
    """A message waiting to be sent: the Cloud API body, when it may go, and until when."""

    message_id: str
    phone_number_id: str
    recipient: str
    request: Mapping[str, Any]
    not_before: datetime
    deadline: datetime
    attempts: int = 0


_ENQUEUE = BulkInsert(
    queued_sends,
    ["message_id", "phone_number_id", "recipient", "request", "not_before", "deadline",
     "created_at"],
    ["message_id"],
)  # fmt: skip
_RELEASE = (
    update(queued_sends)
    .where(queued_sends.c.message_id == bindparam("b_id"))
    .values(
        locked_by=None,
        locked_until=None,
        not_before=bindparam("b_not_before"),
        last_error=bindparam("b_error"),
    )
)


async def enqueue(connection: AsyncConnection, sends: Sequence[QueuedSend], now: datetime) -> None:
    """Queue sends (a message already queued stays as it is); the send lane wakes on commit."""
    if not sends:
        return
    await execute_many(
        connection,
        _ENQUEUE,
        [
            {
                "message_id": s.message_id,
                "phone_number_id": s.phone_number_id,
                "recipient": s.recipient[:64],
                "request": json_text.compact_unicode(s.request),
                "not_before": s.not_before,
                "deadline": s.deadline,
                "created_at": now,
            }
            for s in sends
        ],
    )
    await wake_workers(connection, wakeups.SENDS)


async def bucket_instants(
    connection: AsyncConnection, phone_number_ids: Collection[str]
) -> dict[str, datetime]:
    """The buckets of these numbers (those that have one), locked until the commit."""
    if not phone_number_ids:
        return {}
    query = (
        select(send_buckets.c.phone_number_id, send_buckets.c.ready_at)
        .where(send_buckets.c.phone_number_id.in_(list(phone_number_ids)))
        .order_by(send_buckets.c.phone_number_id)  # one lock order: no deadlock between two
        .with_for_update()
    )
    return {row.phone_number_id: row.ready_at for row in await connection.execute(query)}


async def save_buckets(connection: AsyncConnection, instants: Mapping[str, datetime]) -> None:
    """Write the buckets' new instants."""
    if not instants:
        return
    insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = insert(send_buckets)
    statement = statement.on_conflict_do_update(
        index_elements=[send_buckets.c.phone_number_id],
        set_={"ready_at": statement.excluded.ready_at},
    )
    await connection.execute(
        statement,
        [{"phone_number_id": n, "ready_at": at} for n, at in sorted(instants.items())],
    )


async def due_counts(connection: AsyncConnection, now: datetime) -> dict[str, int]:
    """How many sends each number has that may go now (due and not taken)."""
    rows = await connection.execute(
        select(queued_sends.c.phone_number_id, func.count())
        .where(_due(now))
        .group_by(queued_sends.c.phone_number_id)
    )
    return {row[0]: int(row[1]) for row in rows}


async def claim(
    connection: AsyncConnection,
    phone_number_id: str,
    *,
    limit: int,
    worker: str,
    lease: timedelta,
    now: datetime,
) -> list[QueuedSend]:
    """Take up to ``limit`` of a number's due sends, oldest first, leased to ``worker``."""
    chosen = (
        select(queued_sends.c.message_id)
        .where(_due(now), queued_sends.c.phone_number_id == phone_number_id)
        .order_by(queued_sends.c.created_at, queued_sends.c.message_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(queued_sends)
        .where(queued_sends.c.message_id.in_(chosen.scalar_subquery()))
        .values(locked_by=worker, locked_until=now + lease, attempts=queued_sends.c.attempts + 1)
        .returning(*queued_sends.c)
    )
    rows = (await connection.execute(statement)).all()
    return sorted((_to_send(row) for row in rows), key=lambda s: s.not_before)


async def expired(connection: AsyncConnection, now: datetime, limit: int) -> list[QueuedSend]:
    """Sends whose deadline passed and that nobody holds, locked until the commit."""
    query = (
        select(queued_sends)
        .where(
            queued_sends.c.deadline <= now,
            (queued_sends.c.locked_until.is_(None)) | (queued_sends.c.locked_until < now),
        )
        .order_by(queued_sends.c.deadline)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [_to_send(row) for row in await connection.execute(query)]


async def remove(connection: AsyncConnection, message_ids: Collection[str]) -> None:
    """Drop sends that are done (sent, refused, expired)."""
    if message_ids:
        await connection.execute(
            delete(queued_sends).where(queued_sends.c.message_id.in_(list(message_ids)))
        )


async def release(
    connection: AsyncConnection, later: Sequence[tuple[str, datetime, str | None]]
) -> None:
    """Give sends back to wait until their new time: (message id, not before, error)."""
    await execute_many(
        connection,
        _RELEASE,
        [
            {"b_id": i, "b_not_before": at, "b_error": (e or "")[:4000] or None}
            for i, at, e in later
        ],
    )
    if later:
        await wake_workers(connection, wakeups.SENDS)


async def pause_recipient(
    connection: AsyncConnection, phone_number_id: str, recipient: str, until: datetime
) -> None:
    """Hold every waiting send of a number to one user until ``until``."""
    await connection.execute(
        update(queued_sends)
        .where(
            queued_sends.c.phone_number_id == phone_number_id,
            queued_sends.c.recipient == recipient,
            queued_sends.c.not_before < until,
            queued_sends.c.locked_until.is_(None),
        )
        .values(not_before=until)
    )


async def next_due(connection: AsyncConnection) -> datetime | None:
    """When the earliest waiting send may go (or its lease ends)."""
    query = select(func.min(func.coalesce(queued_sends.c.locked_until, queued_sends.c.not_before)))
    value: datetime | None = (await connection.execute(query)).scalar_one_or_none()
    return value


async def waiting_count(connection: AsyncConnection) -> int:
    """How many sends wait."""
    value = (await connection.execute(select(func.count()).select_from(queued_sends))).scalar_one()
    return int(value)


def _due(now: datetime) -> Any:
    return (
        (queued_sends.c.not_before <= now)
        & (queued_sends.c.deadline > now)
        & ((queued_sends.c.locked_until.is_(None)) | (queued_sends.c.locked_until < now))
    )


def _to_send(row: Any) -> QueuedSend:
    return QueuedSend(
        message_id=row.message_id,
        phone_number_id=row.phone_number_id,
        recipient=row.recipient,
        request=json.loads(row.request),
        not_before=row.not_before,
        deadline=row.deadline,
        attempts=row.attempts,
    )


# --- Idempotency-Key ---------------------------------------------------------------------


async def claim_keys(
    connection: AsyncConnection,
    keys: Sequence[tuple[str, str, str]],
    *,
    now: datetime,
    remembered_since: datetime,
) -> dict[tuple[str, str], str]:
    """Take each (number, key) for its message, unless a message remembered since
    ``remembered_since`` has it; the message that owns each key afterwards."""
    if not keys:
        return {}
    insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = insert(send_keys)
    statement = statement.on_conflict_do_update(
        index_elements=[send_keys.c.number, send_keys.c.key],
        set_={
            "message_id": statement.excluded.message_id,
            "answer": None,
            "created_at": statement.excluded.created_at,
        },
        where=send_keys.c.created_at < bindparam("cutoff", type_=send_keys.c.created_at.type),
    )
    await connection.execute(
        statement,
        [
            {"number": n, "key": k, "message_id": m, "created_at": now, "cutoff": remembered_since}
            for n, k, m in keys
        ],
    )
    rows = await connection.execute(
        select(send_keys.c.number, send_keys.c.key, send_keys.c.message_id).where(
            send_keys.c.number.in_({n for n, _, _ in keys}),
            send_keys.c.key.in_({k for _, k, _ in keys}),
        )
    )
    return {(row.number, row.key): row.message_id for row in rows}


async def key_answer(
    connection: AsyncConnection, number: str, key: str, remembered_since: datetime
) -> tuple[str, dict[str, Any] | None] | None:
    """The message that owns a key and the answer it was given (None while unknown)."""
    row = (
        await connection.execute(
            select(send_keys.c.message_id, send_keys.c.answer).where(
                send_keys.c.number == number,
                send_keys.c.key == key,
                send_keys.c.created_at >= remembered_since,
            )
        )
    ).first()
    if row is None:
        return None
    return row.message_id, (json.loads(row.answer) if row.answer else None)


_SET_ANSWER = (
    update(send_keys)
    .where(
        send_keys.c.number == bindparam("b_number"),
        send_keys.c.key == bindparam("b_key"),
        send_keys.c.message_id == bindparam("b_message_id"),
    )
    .values(answer=bindparam("b_answer"))
)


async def set_key_answers(
    connection: AsyncConnection, answers: Sequence[tuple[str, str, str, Mapping[str, Any]]]
) -> None:
    """Record the answer given to the request that owns each (number, key, message id)."""
    await execute_many(
        connection,
        _SET_ANSWER,
        [
            {
                "b_number": n,
                "b_key": k,
                "b_message_id": m,
                "b_answer": json_text.compact(a),
            }
            for n, k, m, a in answers
        ],
    )


async def release_keys(connection: AsyncConnection, keys: Sequence[tuple[str, str, str]]) -> None:
    """Forget (number, key, message id)s whose request may be tried again with the key."""
    for number, key, message_id in keys:
        await connection.execute(
            delete(send_keys).where(
                send_keys.c.number == number,
                send_keys.c.key == key,
                send_keys.c.message_id == message_id,
            )
        )
