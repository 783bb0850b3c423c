"""The inbox table: appended by group commit, claimed by partition in batches, marked done.

On PostgreSQL a processor owns a partition for the length of its transaction
through an advisory transaction lock, so any number of processes may process
the inbox at once, each partition by one of them, in ``seq`` order; a killed
processor's transaction rolls back and its lock goes with its connection, so
the entries are taken again at once, in the same order. SQLite has a single
writer and one worker process, which takes the oldest entries of every
partition together.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement
from sqlalchemy.types import Integer, String, Text

from wagate.domain import wakeups
from wagate.domain.inbox import InboxEntry, InboxKind
from wagate.store.bulk import BulkInsert, execute_many
from wagate.store.queue import NOTIFY_CHANNEL, notified, wake_workers
from wagate.store.tables import inbox, ingress_spool
from wagate.store.types import UtcDateTime
from wagate.store.value_lists import among

__all__ = [
    "InboxItem",
    "ProcessedMark",
    "all_pending",
    "append",
    "append_committing",
    "claim_batch",
    "count_by_outcome",
    "mark_failed",
    "mark_processed",
    "oldest_pending_at",
    "pending_count",
    "set_spool_position",
    "spool_position",
]

#: First key of the advisory locks that give a processor a partition ("wa").
_LOCK_CLASS = 0x7761
#: Pending partitions a processor tries, oldest first, before it gives up for now.
_PARTITIONS_TRIED = 16


@dataclass(frozen=True, slots=True)
class InboxItem:
    """A claimed inbox entry."""

    seq: int
    kind: InboxKind
    partition: int
    scope: str | None
    body: str


@dataclass(frozen=True, slots=True)
class ProcessedMark:
    """What processing an entry came to."""

    seq: int
    outcome: str
    detail: str | None


_APPEND = BulkInsert(inbox, ["kind", "partition", "scope", "item_count", "body", "received_at"])
_MARK = (
    update(inbox)
    .where(inbox.c.seq == bindparam("b_seq"))
    .values(
        processed_at=bindparam("b_now"),
        outcome=bindparam("b_outcome"),
        detail=bindparam("b_detail"),
    )
)


async def append(
    connection: AsyncConnection,
    entries: Sequence[InboxEntry],
    received_at: datetime | Sequence[datetime],
) -> None:
    """Store entries, numbered in the order given, received at one time or each at its
    own. Processors wake on commit."""
    if not entries:
        return
    await execute_many(connection, _APPEND, _rows(entries, received_at))
    await wake_workers(connection, wakeups.INBOX)


# On PostgreSQL, entries appended and processors notified by one statement: under
# autocommit it is a transaction of its own, one round trip where BEGIN, INSERT, NOTIFY
# and COMMIT took four.
_APPEND_AND_NOTIFY = text(
    "WITH appended AS ("
    ' INSERT INTO inbox (kind, "partition", scope, item_count, body, received_at)'
    " SELECT kind, part, scope, items, body, received"
    " FROM unnest(:kind, :partition, :scope, :item_count, :body, :received_at)"
    " WITH ORDINALITY AS given(kind, part, scope, items, body, received, position)"
    " ORDER BY position"
    " RETURNING 1"
    ") SELECT pg_notify(:channel, :payload)"
).bindparams(
    bindparam("kind", type_=ARRAY(String())),
    bindparam("partition", type_=ARRAY(Integer())),
    bindparam("scope", type_=ARRAY(String())),
    bindparam("item_count", type_=ARRAY(Integer())),
    bindparam("body", type_=ARRAY(Text())),
    bindparam("received_at", type_=ARRAY(UtcDateTime())),
)


async def append_committing(
    connection: AsyncConnection,
    entries: Sequence[InboxEntry],
    received_at: datetime | Sequence[datetime],
) -> None:
    """:func:`append` on PostgreSQL, with ``connection`` in autocommit: durable, and the
    processors notified, once this returns."""
    if not entries:
        return
    rows = _rows(entries, received_at)
    columns = {name: [row[name] for row in rows] for name in rows[0]}
    await connection.execute(
        _APPEND_AND_NOTIFY, {**columns, "channel": NOTIFY_CHANNEL, "payload": wakeups.INBOX}
    )
    notified(connection, wakeups.INBOX)


def _rows(
    entries: Sequence[InboxEntry], received_at: datetime | Sequence[datetime]
) -> list[dict[str, Any]]:
    times = [received_at] * len(entries) if isinstance(received_at, datetime) else received_at
    return [
        {
            "kind": entry.kind.value,
            "partition": entry.partition,
            "scope": entry.scope,
            "item_count": entry.items,
            "body": entry.body,
            "received_at": when,
        }
        for entry, when in zip(entries, times, strict=True)
    ]


async def spool_position(connection: AsyncConnection) -> int:
    """The number of the last webhook moved from the ingress spool into the inbox."""
    result = await connection.execute(
        select(ingress_spool.c.moved_through).where(ingress_spool.c.id == 1)
    )
    return int(result.scalar_one_or_none() or 0)


async def set_spool_position(connection: AsyncConnection, number: int) -> None:
    """Record, with the entries moved, that the spool is in the inbox up to ``number``."""
    await connection.execute(
        update(ingress_spool).where(ingress_spool.c.id == 1).values(moved_through=number)
    )


async def claim_batch(
    connection: AsyncConnection, *, max_items: int, max_entries: int
) -> list[InboxItem] | None:
    """The oldest unprocessed entries of a partition this transaction now owns (PostgreSQL)
    or of all partitions (SQLite), up to about ``max_items`` statuses and messages.

    At least one entry is taken when any is due, however large. Empty when
    nothing is pending; None when entries are pending but every partition that
    has any is another processor's.
    """
    pending = inbox.c.processed_at.is_(None)
    condition: ColumnElement[bool] = pending
    if connection.dialect.name == "postgresql":
        partition, any_pending = await _lock_a_pending_partition(connection)
        if partition is None:
            return None if any_pending else []
        condition = pending & (inbox.c.partition == partition)
    sizes = (
        await connection.execute(
            select(inbox.c.seq, inbox.c.item_count)
            .where(condition)
            .order_by(inbox.c.seq)
            .limit(max_entries)
        )
    ).all()
    chosen: list[int] = []
    total = 0
    for row in sizes:
        if chosen and total + row.item_count > max_items:
            break
        chosen.append(row.seq)
        total += row.item_count
    if not chosen:
        return []
    rows = await connection.execute(
        select(inbox.c.seq, inbox.c.kind, inbox.c.partition, inbox.c.scope, inbox.c.body)
        .where(among(connection, inbox.c.seq, chosen))
        .order_by(inbox.c.seq)
    )
    return [
        InboxItem(row.seq, InboxKind(row.kind), row.partition, row.scope, row.body) for row in rows
    ]


async def _lock_a_pending_partition(connection: AsyncConnection) -> tuple[int | None, bool]:
    """A pending partition this transaction now owns, oldest first; and whether any
    partition has pending entries."""
    oldest_first = (
        select(inbox.c.partition)
        .where(inbox.c.processed_at.is_(None))
        .group_by(inbox.c.partition)
        .order_by(func.min(inbox.c.seq))
        .limit(_PARTITIONS_TRIED)
    )
    partitions = list((await connection.execute(oldest_first)).scalars())
    for partition in partitions:
        locked = await connection.execute(
            text("SELECT pg_try_advisory_xact_lock(:class_id, :partition)"),
            {"class_id": _LOCK_CLASS, "partition": partition},
        )
        if locked.scalar_one():
            return int(partition), True
    return None, bool(partitions)


async def mark_processed(
    connection: AsyncConnection, marks: Sequence[ProcessedMark], now: datetime
) -> None:
    """Record what each processed entry came to; they are not claimed again."""
    if not marks:
        return
    await execute_many(
        connection,
        _MARK,
        [
            {"b_seq": m.seq, "b_outcome": m.outcome, "b_detail": m.detail, "b_now": now}
            for m in marks
        ],
    )


async def all_pending(connection: AsyncConnection, seqs: Collection[int]) -> bool:
    """Whether every one of these entries still waits to be processed."""
    value = (
        await connection.execute(
            select(func.count())
            .select_from(inbox)
            .where(inbox.c.seq.in_(list(seqs)), inbox.c.processed_at.is_(None))
        )
    ).scalar_one()
    return int(value) == len(set(seqs))


async def pending_count(connection: AsyncConnection) -> int:
    """How many entries wait to be processed."""
    value = (
        await connection.execute(
            select(func.count()).select_from(inbox).where(inbox.c.processed_at.is_(None))
        )
    ).scalar_one()
    return int(value)


async def oldest_pending_at(connection: AsyncConnection) -> datetime | None:
    """When the oldest entry still waiting was stored."""
    value: datetime | None = (
        await connection.execute(
            select(func.min(inbox.c.received_at)).where(inbox.c.processed_at.is_(None))
        )
    ).scalar_one_or_none()
    return value


async def count_by_outcome(connection: AsyncConnection, kind: InboxKind) -> dict[str, int]:
    """How many entries of ``kind`` ended in each outcome (``None``: not processed yet)."""
    rows = (
        await connection.execute(
            select(inbox.c.outcome, func.count())
            .where(inbox.c.kind == kind.value)
            .group_by(inbox.c.outcome)
        )
    ).all()
    return {str(row[0]): int(row[1]) for row in rows}


async def mark_failed(connection: AsyncConnection, seq: int, detail: str, now: datetime) -> bool:
    """Set an entry aside: processing it raised. False when it was processed meanwhile."""
    result = await connection.execute(
        update(inbox)
        .where(inbox.c.seq == seq, inbox.c.processed_at.is_(None))
        .values(processed_at=now, outcome="failed", detail=detail)
    )
    return result.rowcount == 1
