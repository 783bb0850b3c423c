"""The delivery queue: adding deliveries in order, claiming them in batches, recording outcomes.

Deliveries that share an order key (one subject, one endpoint) go out one at a
time: a new one is ``queued`` while an earlier one of its key is unfinished,
and the earliest queued one becomes ``pending`` when the one before it
succeeds, dies or is cancelled. Only ``pending`` deliveries are claimed, so a
message's callbacks to an endpoint arrive in the order they were written, even
with retries and many requests in flight; other keys never wait.

Every operation here works on a batch, in a statement or a few.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from wagate.domain import wakeups
from wagate.domain.callbacks import (
    Attempt,
    AttemptTrigger,
    Delivery,
    DeliveryStatus,
    ProfileStatus,
    order_key,
)
from wagate.store.delivery_rows import to_delivery
from wagate.store.queue import wake_workers
from wagate.store.tables import callback_profiles, deliveries, delivery_attempts

_ACTIVE = (DeliveryStatus.PENDING.value, DeliveryStatus.QUEUED.value)
_FINISHED = (DeliveryStatus.SUCCEEDED, DeliveryStatus.DEAD)
# How many due deliveries, in run_at order, a claim looks at per slot it fills.
_CANDIDATES_PER_SLOT = 4
_last_seq = 0


def next_seq() -> int:
    """An increasing number for the order of deliveries within their key."""
    global _last_seq
    _last_seq = max(_last_seq + 1, time.time_ns())
    return _last_seq


async def announce(connection: AsyncConnection) -> None:
    """Wake idle delivery lanes, in this process and (on PostgreSQL) in others, on commit."""
    await wake_workers(connection, wakeups.DELIVERIES)


async def insert_deliveries(connection: AsyncConnection, batch: Sequence[Delivery]) -> None:
    """Add deliveries in the caller's transaction (the one that wrote their events).

    Each is queued behind any unfinished delivery of its order key, earlier
    ones of the same batch included; the others are pending. The unfinished
    rows of those keys are locked, so that an outcome recorded at the same time
    either sees the new rows and promotes them, or is seen as finished here.
    """
    if not batch:
        return
    keys = {order_key(d) for d in batch}
    busy_rows = await connection.execute(
        select(deliveries.c.order_key)
        .where(deliveries.c.order_key.in_(list(keys)), deliveries.c.status.in_(_ACTIVE))
        .with_for_update()
    )
    busy = {row.order_key for row in busy_rows}
    rows: list[dict[str, Any]] = []
    for delivery in batch:
        key = order_key(delivery)
        status = DeliveryStatus.QUEUED if key in busy else DeliveryStatus.PENDING
        busy.add(key)
        rows.append(_row(delivery, key, status))
    await connection.execute(deliveries.insert(), rows)
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
            json.dumps(delivery.template_values, sort_keys=True)
            if delivery.template_values is not None
            else None
        ),
        "endpoint": delivery.endpoint,
        "order_key": key,
        "seq": next_seq(),
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
    held = {endpoint: count for endpoint, count in (held or {}).items() if count > 0}
    due = _due(now)
    full = [endpoint for endpoint, count in held.items() if count >= per_endpoint]
    if full:
        due = due & deliveries.c.endpoint.not_in(full)
    candidates = (
        select(deliveries.c.id, deliveries.c.endpoint, deliveries.c.run_at)
        .where(due)
        .order_by(deliveries.c.run_at)
        .limit(max(limit * _CANDIDATES_PER_SLOT, 64))
        .subquery()
    )
    rank = (
        func.row_number()
        .over(partition_by=candidates.c.endpoint, order_by=(candidates.c.run_at, candidates.c.id))
        .label("rank")
    )
    ranked = select(candidates.c.id, candidates.c.endpoint, rank).subquery()
    already: Any = case(held, value=ranked.c.endpoint, else_=0) if held else 0
    eligible = select(ranked.c.id).where(ranked.c.rank <= per_endpoint - already)
    # The ids are read first and locked by a second statement: as one statement,
    # PostgreSQL (whose statistics lag behind a sudden backlog) chose to re-run the
    # ranking once per due row, 150 ms a claim at 2,000 due deliveries.
    eligible_ids = list((await connection.execute(eligible)).scalars())
    if not eligible_ids:
        return []
    chosen = (
        select(deliveries.c.id)
        .where(deliveries.c.id.in_(eligible_ids), due)
        .order_by(deliveries.c.run_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=deliveries)
    )
    statement = (
        update(deliveries)
        .where(deliveries.c.id.in_(chosen.scalar_subquery()))
        .values(locked_by=worker, locked_until=now + lease)
        .returning(*deliveries.c)
    )
    rows = (await connection.execute(statement)).all()
    return sorted((to_delivery(row) for row in rows), key=lambda d: (d.run_at, d.seq))


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
    result = await connection.execute(
        update(deliveries)
        .where(deliveries.c.id.in_(list(ids)), deliveries.c.locked_by == worker)
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


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt made, and the state its delivery moves to."""

    delivery: Delivery
    attempt: Attempt
    status: DeliveryStatus


async def record_outcomes(connection: AsyncConnection, outcomes: Sequence[Outcome]) -> None:
    """Log the attempts and move their deliveries on, then let each finished
    delivery's successor (the next of its order key) go."""
    if not outcomes:
        return
    await connection.execute(
        delivery_attempts.insert(), [_attempt_row(outcome.attempt) for outcome in outcomes]
    )
    await connection.execute(
        update(deliveries)
        .where(deliveries.c.id == bindparam("b_id"))
        .values(
            status=bindparam("b_status"),
            attempts=deliveries.c.attempts + 1,
            locked_by=None,
            locked_until=None,
            trigger=AttemptTrigger.SCHEDULED.value,
            last_response_status=bindparam("b_response_status"),
            last_error=bindparam("b_error"),
            updated_at=bindparam("b_now"),
            run_at=func.coalesce(
                bindparam("b_run_at", type_=deliveries.c.run_at.type), deliveries.c.run_at
            ),
            delivered_at=func.coalesce(
                bindparam("b_delivered_at", type_=deliveries.c.delivered_at.type),
                deliveries.c.delivered_at,
            ),
        ),
        [
            {
                "b_id": outcome.delivery.id,
                "b_status": outcome.status.value,
                "b_response_status": outcome.attempt.response_status,
                "b_error": outcome.attempt.error,
                "b_now": outcome.attempt.created_at,
                "b_run_at": outcome.attempt.next_attempt_at,
                "b_delivered_at": (
                    outcome.attempt.created_at
                    if outcome.status is DeliveryStatus.SUCCEEDED
                    else None
                ),
            }
            for outcome in outcomes
        ],
    )
    finished = {order_key(outcome.delivery) for outcome in outcomes if outcome.status in _FINISHED}
    await promote_successors(connection, finished, max(o.attempt.created_at for o in outcomes))


async def promote_successors(
    connection: AsyncConnection, keys: Collection[str], now: datetime
) -> int:
    """Make the earliest queued delivery of each key pending, where none is pending; how many."""
    if not keys:
        return 0
    queued = deliveries.alias("queued")
    pending = deliveries.alias("pending")
    heads = (
        select(queued.c.order_key, func.min(queued.c.seq).label("seq"))
        .where(
            queued.c.order_key.in_(list(keys)),
            queued.c.status == DeliveryStatus.QUEUED.value,
        )
        .group_by(queued.c.order_key)
        .subquery()
    )
    head_ids = (
        select(deliveries.c.id)
        .join(
            heads,
            and_(deliveries.c.order_key == heads.c.order_key, deliveries.c.seq == heads.c.seq),
        )
        .where(
            deliveries.c.status == DeliveryStatus.QUEUED.value,
            ~exists().where(
                pending.c.order_key == deliveries.c.order_key,
                pending.c.status == DeliveryStatus.PENDING.value,
            ),
        )
    )
    result = await connection.execute(
        update(deliveries)
        .where(deliveries.c.id.in_(list((await connection.execute(head_ids)).scalars())))
        .values(status=DeliveryStatus.PENDING.value, run_at=now, updated_at=now)
    )
    if result.rowcount:
        await announce(connection)
    return int(result.rowcount)


def _attempt_row(attempt: Attempt) -> dict[str, Any]:
    return {
        "id": attempt.id,
        "delivery_id": attempt.delivery_id,
        "number": attempt.number,
        "trigger": attempt.trigger.value,
        "method": attempt.method,
        "url": attempt.url,
        "request_headers": json.dumps(attempt.request_headers, separators=(",", ":")),
        "response_status": attempt.response_status,
        "response_body": attempt.response_body,
        "duration_ms": attempt.duration_ms,
        "error_class": attempt.error_class,
        "error": attempt.error,
        "next_attempt_at": attempt.next_attempt_at,
        "created_at": attempt.created_at,
    }


async def record_profile_health(
    connection: AsyncConnection,
    *,
    succeeded: Collection[str],
    failed: Collection[str],
    now: datetime,
    disable_after_seconds: float,
) -> list[str]:
    """Track how long profiles have failed, from one batch of outcomes; auto-disable
    those failing past the limit. A profile with any success in the batch is healthy.

    Returns the ids of the profiles this call disabled.
    """
    table = callback_profiles
    if succeeded:
        await connection.execute(
            update(table)
            .where(table.c.id.in_(list(succeeded)), table.c.failing_since.is_not(None))
            .values(failing_since=None)
        )
    only_failed = sorted(set(failed) - set(succeeded))
    if not only_failed:
        return []
    await connection.execute(
        update(table)
        .where(table.c.id.in_(only_failed), table.c.failing_since.is_(None))
        .values(failing_since=now)
    )
    disabled = await connection.execute(
        update(table)
        .where(
            table.c.id.in_(only_failed),
            table.c.status == int(ProfileStatus.ACTIVE),
            table.c.failing_since <= now - timedelta(seconds=disable_after_seconds),
        )
        .values(status=int(ProfileStatus.AUTO_DISABLED), updated_at=now)
        .returning(table.c.id)
    )
    return list(disabled.scalars())
