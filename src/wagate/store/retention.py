"""Finding and deleting what is past its retention, a bounded batch per call.

Each function takes at most ``limit`` rows (or subjects: uploads, messages)
and runs a few statements, so the caller's transaction stays short. A
subject's purge takes everything about it with it: its events, its deliveries
with their attempts, and the head of a delivery's order key (the key's next
delivery then goes). Past retention a delivery is not retried: it goes with
its subject even while a worker holds it (an attempt to an endpoint that never
answers keeps it leased most of the time), and the worker's record of that
attempt finds no delivery and writes nothing (see
:func:`wagate.store.delivery_outcomes.record_outcomes`). The purge waits at most
for the short transactions that claim, record or promote a delivery. A subject
to which a delivery was added while it was purged is taken on the next pass. A
head left naming a delivery that is gone is dropped by
:func:`repair_orphaned_heads`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ColumnElement, Row, Table, delete, exists, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from wagate.store import order_heads
from wagate.store.tables import (
    deliveries,
    delivery_attempts,
    delivery_heads,
    events,
    idempotency_keys,
    inbound_messages,
    inbox,
    jobs,
    message_statuses,
    messages,
    queued_sends,
    send_keys,
    uploads,
)

__all__ = [
    "AGED_TABLES",
    "DueInbound",
    "DueMessage",
    "DueUpload",
    "Purged",
    "inbound_due",
    "messages_due",
    "purge_before",
    "purge_deliveries_before",
    "purge_inbound",
    "purge_inbox_before",
    "purge_messages",
    "purge_uploads",
    "repair_orphaned_heads",
    "take_turn",
    "uploads_due",
]

#: The advisory lock one purging transaction at a time holds on PostgreSQL ("wagate" + 1).
_LOCK_KEY = 0x7761_6761_7466
Purged = Counter[str]


async def take_turn(connection: AsyncConnection) -> bool:
    """Whether this transaction may purge: on PostgreSQL one at a time across processes
    (the others skip their turn), on SQLite always (one writer already)."""
    if connection.dialect.name != "postgresql":
        return True
    result = await connection.execute(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _LOCK_KEY}
    )
    return bool(result.scalar_one())


@dataclass(frozen=True, slots=True)
class DueUpload:
    """An upload past its purge time, and where its bytes are."""

    id: str
    blob_key: str


async def uploads_due(connection: AsyncConnection, now: datetime, limit: int) -> list[DueUpload]:
    """Up to ``limit`` uploads whose purge time has come, oldest first."""
    purge_at = uploads.c.purge_at
    rows = await _oldest(connection, purge_at, purge_at <= now, limit, uploads.c.blob_key)
    return [DueUpload(row.id, row.blob_key) for row in rows]


async def purge_uploads(connection: AsyncConnection, ids: Collection[str], now: datetime) -> Purged:
    """Delete these uploads (their bytes already deleted) and everything about them:
    deliveries, attempts, events, jobs, idempotency keys. How many rows of each table."""
    purged = await _purge_subjects(connection, ids, now)
    if not ids:
        return purged
    purged["jobs"] += await _delete(connection, jobs, jobs.c.subject_id.in_(list(ids)))
    purged["idempotency_keys"] += await _delete(
        connection, idempotency_keys, idempotency_keys.c.upload_id.in_(list(ids))
    )
    purged["uploads"] += await _delete(
        connection, uploads, uploads.c.id.in_(list(ids)) & ~_any_delivery_of(uploads.c.id)
    )
    return purged


@dataclass(frozen=True, slots=True)
class DueMessage:
    """A message past its retention, and the wamid its statuses are filed under."""

    id: str
    wamid: str | None


async def messages_due(
    connection: AsyncConnection, cutoff: datetime, limit: int
) -> list[DueMessage]:
    """Up to ``limit`` messages created before ``cutoff``, oldest first."""
    created_at = messages.c.created_at
    rows = await _oldest(connection, created_at, created_at < cutoff, limit, messages.c.wamid)
    return [DueMessage(row.id, row.wamid) for row in rows]


async def purge_messages(
    connection: AsyncConnection, due: Sequence[DueMessage], now: datetime
) -> Purged:
    """Delete these messages and everything about them: statuses, events, deliveries,
    attempts. How many rows of each table."""
    ids = [message.id for message in due]
    purged = await _purge_subjects(connection, ids, now)
    if not ids:
        return purged
    # A status is filed under its message's wamid (a message never sent has none), with the
    # inbox position of the webhook that reported it: that webhook goes too, whenever it came
    # (with whatever else it reported, all of it applied already).
    wamids = [message.wamid for message in due if message.wamid]
    if wamids:
        reported = await connection.execute(
            select(message_statuses.c.seq).where(
                message_statuses.c.wamid.in_(wamids), message_statuses.c.seq.is_not(None)
            )
        )
        seqs = sorted({seq for (seq,) in reported})
        if seqs:
            purged["inbox"] += await _delete(
                connection, inbox, inbox.c.seq.in_(seqs) & inbox.c.processed_at.is_not(None)
            )
        purged["message_statuses"] += await _delete(
            connection, message_statuses, message_statuses.c.wamid.in_(wamids)
        )
    purged["messages"] += await _delete(
        connection, messages, messages.c.id.in_(ids) & ~_any_delivery_of(messages.c.id)
    )
    return purged


async def purge_deliveries_before(
    connection: AsyncConnection, cutoff: datetime, limit: int, now: datetime
) -> Purged:
    """Delete up to ``limit`` deliveries created before ``cutoff`` (whatever their
    subject, whether or not a worker is sending them), with their attempts."""
    rows = await connection.execute(
        select(deliveries.c.id)
        .where(deliveries.c.created_at < cutoff)
        .order_by(deliveries.c.created_at)
        .limit(limit)
    )
    ids = sorted(row.id for row in rows)
    if not ids:
        return Counter()
    return await _delete_deliveries(connection, deliveries.c.id.in_(ids), now)


#: Tables whose rows are purged by their own age (nothing refers to them), and the
#: column that tells it.
_AGED = {
    events.name: (events, events.c.created_at),
    send_keys.name: (send_keys, send_keys.c.created_at),
    queued_sends.name: (queued_sends, queued_sends.c.created_at),
    message_statuses.name: (message_statuses, message_statuses.c.created_at),
    delivery_attempts.name: (delivery_attempts, delivery_attempts.c.created_at),
    idempotency_keys.name: (idempotency_keys, idempotency_keys.c.created_at),
}
AGED_TABLES = tuple(_AGED)


async def purge_before(
    connection: AsyncConnection, table_name: str, cutoff: datetime, limit: int
) -> Purged:
    """Delete up to ``limit`` rows of one of :data:`AGED_TABLES` written before ``cutoff``."""
    table, written = _AGED[table_name]
    key = next(iter(table.primary_key.columns))
    oldest = select(*table.primary_key.columns).where(written < cutoff).order_by(written)
    rows = (await connection.execute(oldest.limit(limit))).all()
    if not rows:
        return Counter()
    if len(table.primary_key.columns) == 1:
        condition = key.in_([row[0] for row in rows])
    else:
        condition = tuple_(*table.primary_key.columns).in_([tuple(row) for row in rows])
    return Counter({table_name: await _delete(connection, table, condition)})


@dataclass(frozen=True, slots=True)
class DueInbound:
    """A message a user sent us, past retention, and where its media's bytes are."""

    id: str
    blob_key: str | None


async def inbound_due(
    connection: AsyncConnection, cutoff: datetime, limit: int
) -> list[DueInbound]:
    """Up to ``limit`` incoming messages received before ``cutoff``, oldest first."""
    created_at = inbound_messages.c.created_at
    rows = await _oldest(
        connection, created_at, created_at < cutoff, limit, inbound_messages.c.media_blob_key
    )
    return [DueInbound(row.id, row.media_blob_key) for row in rows]


async def purge_inbound(connection: AsyncConnection, ids: Collection[str]) -> Purged:
    """Delete incoming messages and the jobs about them (their media's download)."""
    if not ids:
        return Counter()
    jobs_gone = await _delete(connection, jobs, jobs.c.subject_id.in_(list(ids)))
    gone = await _delete(connection, inbound_messages, inbound_messages.c.id.in_(list(ids)))
    return Counter({"inbound_messages": gone, "jobs": jobs_gone})


async def purge_inbox_before(connection: AsyncConnection, cutoff: datetime, limit: int) -> Purged:
    """Delete, of the ``limit`` oldest inbox entries, those received before ``cutoff``.

    Entries are numbered in the order they were received, so the old ones are
    the first: no index on the time is needed to find them.
    """
    first = select(inbox.c.seq).order_by(inbox.c.seq).limit(limit).scalar_subquery()
    result = await connection.execute(
        delete(inbox).where(inbox.c.seq.in_(first), inbox.c.received_at < cutoff)
    )
    return Counter({"inbox": int(result.rowcount)})


async def repair_orphaned_heads(connection: AsyncConnection, limit: int, now: datetime) -> Purged:
    """Heads naming a delivery that no longer exists are dropped, and their key's next
    delivery goes; how many were dropped."""
    orphaned = await connection.execute(
        select(delivery_heads.c.order_key, delivery_heads.c.delivery_id)
        .where(~exists().where(deliveries.c.id == delivery_heads.c.delivery_id))
        .limit(limit)
    )
    finished = {row.order_key: row.delivery_id for row in orphaned}
    await order_heads.promote_successors(connection, finished, now)
    return Counter({"delivery_heads": len(finished)})


def _any_delivery_of(subject_id: Any) -> ColumnElement[bool]:
    return exists().where(deliveries.c.subject_id == subject_id)


async def _purge_subjects(
    connection: AsyncConnection, subject_ids: Collection[str], now: datetime
) -> Purged:
    """Delete the events and the deliveries about these subjects."""
    purged: Purged = Counter()
    if not subject_ids:
        return purged
    subjects = sorted(subject_ids)
    # By subject, not by id: a subject's rows were written together, and stay together.
    purged.update(await _delete_deliveries(connection, deliveries.c.subject_id.in_(subjects), now))
    purged["events"] += await _delete(connection, events, events.c.subject_id.in_(subjects))
    return purged


async def _delete_deliveries(
    connection: AsyncConnection, condition: ColumnElement[bool], now: datetime
) -> Purged:
    """Delete the deliveries that match ``condition``, leased or not, with their
    attempts; the order keys whose head was one of them move on to their next delivery.

    The deliveries go first: on PostgreSQL that waits for a worker recording an attempt
    of one of them, and the attempts' statement, which starts afterwards, sees that
    attempt too.
    """
    purged: Purged = Counter()
    deleted = await connection.execute(
        delete(deliveries).where(condition).returning(deliveries.c.id, deliveries.c.order_key)
    )
    keys = {row.id: row.order_key for row in deleted}
    purged["deliveries"] += len(keys)
    if not keys:
        return purged
    purged["delivery_attempts"] += await _delete(
        connection, delivery_attempts, delivery_attempts.c.delivery_id.in_(sorted(keys))
    )
    heads = await connection.execute(
        select(delivery_heads.c.order_key, delivery_heads.c.delivery_id).where(
            delivery_heads.c.order_key.in_(sorted(set(keys.values())))
        )
    )
    finished = {row.order_key: row.delivery_id for row in heads if row.delivery_id in keys}
    purged["delivery_heads"] += len(finished)
    await order_heads.promote_successors(connection, finished, now)
    return purged


async def _oldest(
    connection: AsyncConnection,
    moment: Column[datetime],
    condition: ColumnElement[bool],
    limit: int,
    *columns: Column[Any],
) -> Sequence[Row[Any]]:
    """Up to ``limit`` rows (``id`` and ``columns``) of ``moment``'s table that meet
    ``condition``, the earliest ``moment`` first."""
    table = moment.table
    query = select(table.c.id, *columns).where(condition).order_by(moment).limit(limit)
    return (await connection.execute(query)).all()


async def _delete(connection: AsyncConnection, table: Table, condition: Any) -> int:
    result = await connection.execute(delete(table).where(condition))
    return int(result.rowcount)
