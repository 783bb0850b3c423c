"""Deliveries and their attempts: the delivery queue and its log."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from wagate.domain.callbacks import (
    Attempt,
    AttemptTrigger,
    Delivery,
    DeliveryStatus,
    ProfileStatus,
)
from wagate.store.queue import wake_workers
from wagate.store.tables import callback_profiles, deliveries, delivery_attempts


def _to_delivery(row: Any) -> Delivery:
    return Delivery(
        id=row.id,
        sid=row.sid,
        event_id=row.event_id,
        subject_id=row.subject_id,
        profile_id=row.profile_id,
        number=row.number,
        template_values=json.loads(row.template_values) if row.template_values else None,
        trigger=AttemptTrigger(row.trigger or AttemptTrigger.SCHEDULED.value),
        method=row.method,
        url=row.url,
        body=row.body,
        endpoint=row.endpoint,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        run_at=row.run_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        locked_by=row.locked_by,
        last_response_status=row.last_response_status,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
    )


def _to_attempt(row: Any) -> Attempt:
    return Attempt(
        id=row.id,
        delivery_id=row.delivery_id,
        number=row.number,
        trigger=AttemptTrigger(row.trigger),
        method=row.method,
        url=row.url,
        request_headers=json.loads(row.request_headers),
        response_status=row.response_status,
        response_body=row.response_body,
        duration_ms=row.duration_ms,
        error_class=row.error_class,
        error=row.error,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
    )


async def insert_delivery(connection: AsyncConnection, delivery: Delivery) -> None:
    """Add a delivery in the caller's transaction (the one that wrote its event)."""
    await connection.execute(
        deliveries.insert().values(
            id=delivery.id,
            sid=delivery.sid,
            event_id=delivery.event_id,
            subject_id=delivery.subject_id,
            profile_id=delivery.profile_id,
            number=delivery.number,
            method=delivery.method,
            url=delivery.url,
            body=delivery.body,
            template_values=(
                json.dumps(delivery.template_values, sort_keys=True)
                if delivery.template_values is not None
                else None
            ),
            endpoint=delivery.endpoint,
            status=delivery.status.value,
            attempts=delivery.attempts,
            run_at=delivery.run_at,
            created_at=delivery.created_at,
            updated_at=delivery.updated_at,
        )
    )
    await announce(connection)


async def announce(connection: AsyncConnection) -> None:
    """Wake idle workers, in this process and (on PostgreSQL) in others, once this commits."""
    await wake_workers(connection, "deliver")


def _sendable() -> Any:
    active_profiles = select(callback_profiles.c.id).where(
        callback_profiles.c.status == int(ProfileStatus.ACTIVE)
    )
    return (deliveries.c.status == DeliveryStatus.PENDING.value) & (
        deliveries.c.profile_id.is_(None) | deliveries.c.profile_id.in_(active_profiles)
    )


def _due(now: datetime) -> Any:
    return (
        _sendable()
        & (deliveries.c.run_at <= now)
        & (deliveries.c.locked_until.is_(None) | (deliveries.c.locked_until < now))
    )


# How many due deliveries, in run_at order, a claim looks at per slot it fills.
_CANDIDATES_PER_SLOT = 4


async def claim(
    connection: AsyncConnection,
    *,
    worker: str,
    limit: int,
    lease: timedelta,
    now: datetime,
    per_endpoint: int | None = None,
    in_flight: Mapping[str, int] | None = None,
) -> list[Delivery]:
    """Take up to ``limit`` due deliveries whose profile is active, oldest first.

    With ``per_endpoint``, no endpoint gets more than that many, less what the
    caller already has ``in_flight`` to it, so nothing claimed has to be handed
    back (a backlog to one endpoint would otherwise be claimed and released
    over and over).
    """
    in_flight = dict(in_flight or {})
    due = _due(now)
    if per_endpoint is not None:
        full = [endpoint for endpoint, count in in_flight.items() if count >= per_endpoint]
        if full:
            due = due & deliveries.c.endpoint.not_in(full)
    candidates = (
        select(deliveries.c.id, deliveries.c.endpoint, deliveries.c.run_at)
        .where(due)
        .order_by(deliveries.c.run_at)
        .limit(max(limit * _CANDIDATES_PER_SLOT, 64))
        .subquery()
    )
    if per_endpoint is not None:
        rank = (
            func.row_number()
            .over(
                partition_by=candidates.c.endpoint,
                order_by=(candidates.c.run_at, candidates.c.id),
            )
            .label("rank")
        )
        ranked = select(candidates.c.id, candidates.c.endpoint, rank).subquery()
        busy = {endpoint: count for endpoint, count in in_flight.items() if count > 0}
        already = case(busy, value=ranked.c.endpoint, else_=0) if busy else 0
        eligible = select(ranked.c.id).where(ranked.c.rank <= per_endpoint - already)
    else:
        eligible = select(candidates.c.id)
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
    return sorted((_to_delivery(row) for row in rows), key=lambda d: d.run_at)


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
    query = select(func.min(ready_at)).where(condition)
    value: datetime | None = (await connection.execute(query)).scalar_one_or_none()
    return value


async def extend_lease(connection: AsyncConnection, delivery: Delivery, until: datetime) -> bool:
    """Renew the lease; False when the delivery is no longer this worker's."""
    result = await connection.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery.id, deliveries.c.locked_by == delivery.locked_by)
        .values(locked_until=until)
    )
    return result.rowcount == 1


async def release(connection: AsyncConnection, delivery: Delivery) -> None:
    """Hand a delivery back untouched, to be claimed again at once."""
    await connection.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery.id, deliveries.c.locked_by == delivery.locked_by)
        .values(locked_by=None, locked_until=None)
    )


async def postpone(
    connection: AsyncConnection, delivery: Delivery, *, run_at: datetime, error: str
) -> None:
    """Release a delivery to be tried at ``run_at`` without counting an attempt."""
    await connection.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery.id)
        .values(run_at=run_at, locked_by=None, locked_until=None, last_error=error[:4000])
    )


async def record_attempt(
    connection: AsyncConnection,
    delivery: Delivery,
    attempt: Attempt,
    *,
    status: DeliveryStatus,
    run_at: datetime | None,
    now: datetime,
) -> None:
    """Log an attempt and move the delivery on: done, due again at ``run_at``, or dead."""
    await connection.execute(
        delivery_attempts.insert().values(
            id=attempt.id,
            delivery_id=attempt.delivery_id,
            number=attempt.number,
            trigger=attempt.trigger.value,
            method=attempt.method,
            url=attempt.url,
            request_headers=json.dumps(attempt.request_headers, separators=(",", ":")),
            response_status=attempt.response_status,
            response_body=attempt.response_body,
            duration_ms=attempt.duration_ms,
            error_class=attempt.error_class,
            error=attempt.error,
            next_attempt_at=attempt.next_attempt_at,
            created_at=attempt.created_at,
        )
    )
    values: dict[str, Any] = {
        "status": status.value,
        "attempts": deliveries.c.attempts + 1,
        "locked_by": None,
        "locked_until": None,
        "trigger": AttemptTrigger.SCHEDULED.value,
        "last_response_status": attempt.response_status,
        "last_error": attempt.error,
        "updated_at": now,
    }
    if run_at is not None:
        values["run_at"] = run_at
    if status is DeliveryStatus.SUCCEEDED:
        values["delivered_at"] = now
    await connection.execute(
        update(deliveries).where(deliveries.c.id == delivery.id).values(**values)
    )


def new_attempt_id() -> str:
    """A fresh attempt id."""
    return str(uuid.uuid4())


async def get_delivery(connection: AsyncConnection, sid: str, delivery_id: str) -> Delivery | None:
    """A delivery of the account, or None."""
    row = (
        await connection.execute(
            select(deliveries).where(deliveries.c.id == delivery_id, deliveries.c.sid == sid)
        )
    ).first()
    return None if row is None else _to_delivery(row)


async def attempts_of(connection: AsyncConnection, delivery_id: str) -> list[Attempt]:
    """Every attempt of a delivery, first first."""
    rows = (
        await connection.execute(
            select(delivery_attempts)
            .where(delivery_attempts.c.delivery_id == delivery_id)
            .order_by(delivery_attempts.c.number)
        )
    ).all()
    return [_to_attempt(row) for row in rows]


async def list_deliveries(
    connection: AsyncConnection,
    sid: str,
    *,
    profile_id: str | None,
    status: DeliveryStatus | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[Delivery], int]:
    """A page of the account's deliveries, newest first, and the total."""
    condition = deliveries.c.sid == sid
    if profile_id:
        condition = condition & (deliveries.c.profile_id == profile_id)
    if status:
        condition = condition & (deliveries.c.status == status.value)
    if since:
        condition = condition & (deliveries.c.created_at >= since)
    if until:
        condition = condition & (deliveries.c.created_at < until)
    total = (
        await connection.execute(select(func.count()).select_from(deliveries).where(condition))
    ).scalar_one()
    rows = (
        await connection.execute(
            select(deliveries)
            .where(condition)
            .order_by(deliveries.c.created_at.desc(), deliveries.c.id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return [_to_delivery(row) for row in rows], int(total)


async def replay(connection: AsyncConnection, delivery_id: str, now: datetime) -> None:
    """Make a delivery due now, by hand, whatever its status."""
    await connection.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(
            status=DeliveryStatus.PENDING.value,
            run_at=now,
            locked_by=None,
            locked_until=None,
            trigger=AttemptTrigger.MANUAL.value,
            updated_at=now,
        )
    )
    await announce(connection)


def _failed_since(profile_id: str, since: datetime) -> Any:
    return (
        (deliveries.c.profile_id == profile_id)
        & (deliveries.c.created_at >= since)
        & or_(
            deliveries.c.status == DeliveryStatus.DEAD.value,
            (deliveries.c.status == DeliveryStatus.PENDING.value) & (deliveries.c.attempts > 0),
        )
    )


async def recover(
    connection: AsyncConnection, profile_id: str, since: datetime, now: datetime, *, dry_run: bool
) -> int:
    """Replay every failed or dead delivery of a profile created since ``since``; how many."""
    condition = _failed_since(profile_id, since)
    count = int(
        (
            await connection.execute(select(func.count()).select_from(deliveries).where(condition))
        ).scalar_one()
    )
    if count and not dry_run:
        await connection.execute(
            update(deliveries)
            .where(condition)
            .values(
                status=DeliveryStatus.PENDING.value,
                run_at=now,
                locked_by=None,
                locked_until=None,
                trigger=AttemptTrigger.MANUAL.value,
                updated_at=now,
            )
        )
        await announce(connection)
    return count


async def unfinished_for_profile(
    connection: AsyncConnection, profile_id: str
) -> list[tuple[str, dict[str, str]]]:
    """The pending and dead deliveries of a profile, with the values they were rendered from."""
    rows = await connection.execute(
        select(deliveries.c.id, deliveries.c.template_values).where(
            deliveries.c.profile_id == profile_id,
            deliveries.c.status.in_([DeliveryStatus.PENDING.value, DeliveryStatus.DEAD.value]),
            deliveries.c.template_values.is_not(None),
        )
    )
    return [(row.id, json.loads(row.template_values)) for row in rows]


async def rewrite_request(
    connection: AsyncConnection,
    delivery_id: str,
    *,
    method: str,
    url: str,
    body: str | None,
    endpoint: str,
    now: datetime,
) -> None:
    """Replace the request a waiting delivery will make (its profile's template changed)."""
    await connection.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(method=method, url=url, body=body, endpoint=endpoint, updated_at=now)
    )


async def cancel_for_profile(connection: AsyncConnection, profile_id: str, now: datetime) -> None:
    """Cancel the pending deliveries of a deleted profile."""
    await connection.execute(
        update(deliveries)
        .where(
            deliveries.c.profile_id == profile_id,
            deliveries.c.status == DeliveryStatus.PENDING.value,
        )
        .values(status=DeliveryStatus.CANCELLED.value, updated_at=now)
    )


async def delete_for_subject(connection: AsyncConnection, subject_id: str) -> None:
    """Drop the deliveries and attempts about a purged subject."""
    ids = select(deliveries.c.id).where(deliveries.c.subject_id == subject_id)
    await connection.execute(
        delete(delivery_attempts).where(delivery_attempts.c.delivery_id.in_(ids))
    )
    await connection.execute(delete(deliveries).where(deliveries.c.subject_id == subject_id))


async def count_by_status(connection: AsyncConnection) -> dict[str, int]:
    """How many deliveries are in each status."""
    rows = (
        await connection.execute(
            select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
        )
    ).all()
    return {row[0]: int(row[1]) for row in rows}
