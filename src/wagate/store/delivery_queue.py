"""The delivery queue: adding deliveries in order and claiming them in batches.

Deliveries that share an order key (one subject, one endpoint) go out one at a
time: a new one is ``queued`` while an earlier one of its key is unfinished,
and the earliest queued one becomes ``pending`` when the one before it
succeeds, dies or is cancelled. Only ``pending`` deliveries are claimed, so a
message's callbacks to an endpoint arrive in the order they were written, even
with retries and many requests in flight; other keys never wait.

Every operation here works on a batch, in a statement or a few.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from wagate.domain import json_text, wakeups
from wagate.domain.callbacks import (
    Delivery,
    DeliveryStatus,
    ProfileStatus,
    order_key,
)
from wagate.store import delivery_numbers, endpoints, order_heads
from wagate.store.bulk import BulkInsert, execute_many
from wagate.store.delivery_rows import to_delivery
from wagate.store.queue import wake_workers
from wagate.store.tables import (
    callback_profiles,
    deliveries,
)
from wagate.store.value_lists import among

__all__ = [
    "announce",
    "claim",
    "extend_leases",
    "insert_deliveries",
    "next_run_at",
    "postpone",
    "postpone_many",
    "release",
]

_ACTIVE = (DeliveryStatus.PENDING.value, DeliveryStatus.QUEUED.value)
_FINISHED = (DeliveryStatus.SUCCEEDED, DeliveryStatus.DEAD)
# How many due deliveries, in run_at order, a claim looks at per slot it fills.
_CANDIDATES_PER_SLOT = 4
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DELIVERY_COLUMNS = [
    "id", "sid", "event_id", "subject_id", "profile_id", "number", "method", "url", "body",
    "template_values", "endpoint", "order_key", "status", "attempts", "run_at",
    "created_at", "updated_at",
]  # fmt: skip
_INSERT_DELIVERIES = BulkInsert(
    deliveries,
    _DELIVERY_COLUMNS,
    computed={dialect: {"seq": number} for dialect, number in delivery_numbers.NEXT.items()},
)


async def announce(connection: AsyncConnection) -> None:
    """Wake idle delivery lanes, in this process and (on PostgreSQL) in others, on commit."""
    await wake_workers(connection, wakeups.DELIVERIES)


async def insert_deliveries(connection: AsyncConnection, batch: Sequence[Delivery]) -> None:
    """Add deliveries in the caller's transaction (the one that wrote their events).

    The first of the batch for an order key that has no head becomes its head
    (pending); every other one is queued behind it.
    """
    if not batch:
        return
    candidates: dict[str, str] = {}
    for delivery in batch:
        candidates.setdefault(order_key(delivery), delivery.id)
    heads = await order_heads.claim(connection, candidates)
    rows = [
        _row(
            delivery,
            key := order_key(delivery),
            DeliveryStatus.PENDING if heads.get(key) == delivery.id else DeliveryStatus.QUEUED,
        )
        for delivery in batch
    ]
    await execute_many(connection, _INSERT_DELIVERIES, rows)
    await announce(connection)


def _row(delivery: Delivery, key: str, status: DeliveryStatus) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "sid": delivery.sid,
        "event_id": delivery.event_id,
        "subject_id": delivery.subject_id,
        "profile_id": delivery.profile_id,
        "number": delivery.number,
        "method": delivery.method,
        "url": delivery.url,
        "body": delivery.body,
        "template_values": (
            json_text.sorted_keys(delivery.template_values)
            if delivery.template_values is not None
            else None
        ),
        "endpoint": delivery.endpoint,
        "order_key": key,
        "status": status.value,
        "attempts": delivery.attempts,
        "run_at": delivery.run_at,
        "created_at": delivery.created_at,
        "updated_at": delivery.updated_at,
    }


def _sendable() -> ColumnElement[bool]:
    active_profiles = select(callback_profiles.c.id).where(
        callback_profiles.c.status == int(ProfileStatus.ACTIVE)
    )
    return (deliveries.c.status == DeliveryStatus.PENDING.value) & (
        deliveries.c.profile_id.is_(None) | deliveries.c.profile_id.in_(active_profiles)
    )


def _due(now: datetime) -> ColumnElement[bool]:
    return (
        _sendable()
        & (deliveries.c.run_at <= now)
        & (deliveries.c.locked_until.is_(None) | (deliveries.c.locked_until < now))
        & deliveries.c.endpoint.not_in(endpoints.open_now(now).scalar_subquery())
    )


async def claim(
    connection: AsyncConnection,
    *,
    worker: str,
    limit: int,
    lease: timedelta,
    now: datetime,
    per_endpoint: int,
    held: Mapping[str, int] | None = None,
) -> list[Delivery]:
    """Take up to ``limit`` due deliveries whose profile is active, oldest first.

    No endpoint gets more than ``per_endpoint``, less what the caller already
    ``held`` for it (claimed and not yet finished), so that one endpoint's
    backlog never fills a claim meant for every endpoint.
    """
    room = {endpoint: per_endpoint - count for endpoint, count in (held or {}).items()}
    due = _due(now)
    full = [endpoint for endpoint, free in room.items() if free <= 0]
    if full:
        due = due & deliveries.c.endpoint.not_in(full)
    candidates = await connection.execute(
        select(deliveries.c.id, deliveries.c.endpoint)
        .where(due)
        .order_by(deliveries.c.run_at)
        .limit(max(limit * _CANDIDATES_PER_SLOT, 64))
    )
    chosen: list[str] = []
    for row in candidates:
        free = room.get(row.endpoint, per_endpoint)
        if free > 0:
            chosen.append(row.id)
            room[row.endpoint] = free - 1
            if len(chosen) >= limit:
                break
    if not chosen:
        return []
    # Locked by a second statement: another worker may have taken some meanwhile.
    lockable = (
        select(deliveries.c.id)
        .where(among(connection, deliveries.c.id, chosen), due)
        .with_for_update(skip_locked=True, of=deliveries)
    )
    statement = (
        update(deliveries)
        .where(deliveries.c.id.in_(lockable.scalar_subquery()))
        .values(locked_by=worker, locked_until=now + lease)
        .returning(*_CLAIMED_COLUMNS)
    )
    rows = (await connection.execute(statement)).all()
    return sorted((to_delivery(row) for row in rows), key=lambda d: (d.run_at, d.seq))


#: What sending a delivery needs (not the values it was rendered from, nor its history).
_CLAIMED_COLUMNS = [
    deliveries.c[name]
    for name in (
        "id", "sid", "event_id", "subject_id", "profile_id", "number", "method", "url", "body",
        "endpoint", "status", "attempts", "trigger", "run_at", "created_at", "updated_at",
        "locked_by", "seq",
    )
]  # fmt: skip


async def next_run_at(
    connection: AsyncConnection, skip_endpoints: Collection[str] = ()
) -> datetime | None:
    """When the next delivery that could be sent is due (its lease's end, if leased).

    Deliveries of disabled profiles wait for the profile and do not count.
    """
    condition = _sendable()
    if skip_endpoints:
        condition = condition & deliveries.c.endpoint.not_in(list(skip_endpoints))
    ready_at = case(
        (
            deliveries.c.locked_until.is_not(None)
            & (deliveries.c.locked_until > deliveries.c.run_at),
            deliveries.c.locked_until,
        ),
        else_=deliveries.c.run_at,
    )
    value: datetime | None = (
        await connection.execute(select(func.min(ready_at)).where(condition))
    ).scalar_one_or_none()
    return value


async def extend_leases(
    connection: AsyncConnection, ids: Collection[str], worker: str, until: datetime
) -> set[str]:
    """Renew the leases of these deliveries; the ids still this worker's."""
    if not ids:
        return set()
    # Rows are locked in id order, as every batch update here takes them: no deadlock.
    ours = (
        select(deliveries.c.id)
        .where(among(connection, deliveries.c.id, ids), deliveries.c.locked_by == worker)
        .order_by(deliveries.c.id)
        .with_for_update()
    )
    result = await connection.execute(
        update(deliveries)
        .where(deliveries.c.id.in_(ours.scalar_subquery()))
        .values(locked_until=until)
        .returning(deliveries.c.id)
    )
    return set(result.scalars())


async def release(connection: AsyncConnection, ids: Collection[str], worker: str) -> None:
    """Hand deliveries back untouched, to be claimed again at once."""
    if ids:
        await connection.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(list(ids)), deliveries.c.locked_by == worker)
            .values(locked_by=None, locked_until=None)
        )


async def postpone(
    connection: AsyncConnection, delivery_id: str, *, run_at: datetime, error: str
) -> None:
    """Release a delivery to be tried at ``run_at`` without counting an attempt."""
    await connection.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(run_at=run_at, locked_by=None, locked_until=None, last_error=error[:4000])
    )


async def postpone_many(
    connection: AsyncConnection, ids: Collection[str], *, run_at: datetime, error: str
) -> None:
    """Release deliveries to be tried at ``run_at`` without counting an attempt."""
    if ids:
        await connection.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(sorted(ids)))
            .values(run_at=run_at, locked_by=None, locked_until=None, last_error=error[:4000])
        )
