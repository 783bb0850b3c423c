"""Deliveries and their attempts as the API and operators see them: the log, replay, recovery.

The queue side (adding, claiming, recording outcomes) is :mod:`wagate.store.delivery_queue`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from wagate.domain.callbacks import Attempt, AttemptTrigger, Delivery, DeliveryStatus
from wagate.store import order_heads
from wagate.store.delivery_queue import announce
from wagate.store.delivery_rows import to_attempt, to_delivery
from wagate.store.tables import deliveries, delivery_attempts

__all__ = [
    "attempts_of",
    "cancel_for_profile",
    "get_delivery",
    "list_deliveries",
    "recover",
    "replay",
    "rewrite_requests",
    "unfinished_for_profile",
]

_ACTIVE = (DeliveryStatus.PENDING.value, DeliveryStatus.QUEUED.value)


async def get_delivery(connection: AsyncConnection, sid: str, delivery_id: str) -> Delivery | None:
    """A delivery of the account, or None."""
    row = (
        await connection.execute(
            select(deliveries).where(deliveries.c.id == delivery_id, deliveries.c.sid == sid)
        )
    ).first()
    return None if row is None else to_delivery(row)


async def attempts_of(connection: AsyncConnection, delivery_id: str) -> list[Attempt]:
    """Every attempt of a delivery, first first."""
    rows = (
        await connection.execute(
            select(delivery_attempts)
            .where(delivery_attempts.c.delivery_id == delivery_id)
            .order_by(delivery_attempts.c.number, delivery_attempts.c.created_at)
        )
    ).all()
    return [to_attempt(row) for row in rows]


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
            .order_by(deliveries.c.created_at.desc(), deliveries.c.seq.desc(), deliveries.c.id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return [to_delivery(row) for row in rows], int(total)


async def replay(connection: AsyncConnection, delivery_id: str, now: datetime) -> None:
    """Make a delivery due now, by hand, whatever its status or its place in its order."""
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
    """Send again every failed or dead delivery of a profile created since ``since``; how many.

    They keep their order: per order key the earliest is due now, the others
    are queued behind it (all of them, when the key has a head already).
    """
    condition = _failed_since(profile_id, since)
    rows = (
        await connection.execute(
            select(deliveries.c.id, deliveries.c.order_key, deliveries.c.seq)
            .where(condition)
            .order_by(deliveries.c.seq)
        )
    ).all()
    if not rows or dry_run:
        return len(rows)
    candidates: dict[str, str] = {}
    for row in rows:
        candidates.setdefault(row.order_key, row.id)
    heads = await order_heads.claim(connection, candidates)
    await connection.execute(
        update(deliveries)
        .where(deliveries.c.id == bindparam("b_id"))
        .values(
            status=bindparam("b_status"),
            run_at=now,
            locked_by=None,
            locked_until=None,
            trigger=AttemptTrigger.MANUAL.value,
            updated_at=now,
        ),
        [
            {
                "b_id": row.id,
                "b_status": (
                    DeliveryStatus.PENDING if heads.get(row.order_key) == row.id
                    else DeliveryStatus.QUEUED
                ).value,
            }
            for row in rows
        ],
    )  # fmt: skip
    await announce(connection)
    return len(rows)


async def unfinished_for_profile(
    connection: AsyncConnection, profile_id: str
) -> list[tuple[str, str, dict[str, str]]]:
    """The queued, pending and dead deliveries of a profile: id, subject and placeholder values."""
    rows = await connection.execute(
        select(deliveries.c.id, deliveries.c.subject_id, deliveries.c.template_values).where(
            deliveries.c.profile_id == profile_id,
            deliveries.c.status.in_([*_ACTIVE, DeliveryStatus.DEAD.value]),
            deliveries.c.template_values.is_not(None),
        )
    )
    return [(row.id, row.subject_id, json.loads(row.template_values)) for row in rows]


async def rewrite_requests(
    connection: AsyncConnection, requests: list[dict[str, Any]], now: datetime
) -> None:
    """Replace the requests waiting deliveries will make (their profile's template changed).

    Each item has the delivery's ``id``, its new ``method``, ``url``, ``body`` and
    ``endpoint``, and the order key that endpoint gives it.
    """
    if not requests:
        return
    await connection.execute(
        update(deliveries)
        .where(deliveries.c.id == bindparam("b_id"))
        .values(
            method=bindparam("b_method"),
            url=bindparam("b_url"),
            body=bindparam("b_body"),
            endpoint=bindparam("b_endpoint"),
            order_key=bindparam("b_order_key"),
            updated_at=now,
        ),
        [
            {
                "b_id": request["id"],
                "b_method": request["method"],
                "b_url": request["url"],
                "b_body": request["body"],
                "b_endpoint": request["endpoint"],
                "b_order_key": request["order_key"],
            }
            for request in requests
        ],
    )


async def cancel_for_profile(connection: AsyncConnection, profile_id: str, now: datetime) -> None:
    """Cancel the unfinished deliveries of a deleted profile (its keys are its own)."""
    keys = set(
        (
            await connection.execute(
                update(deliveries)
                .where(deliveries.c.profile_id == profile_id, deliveries.c.status.in_(_ACTIVE))
                .values(status=DeliveryStatus.CANCELLED.value, updated_at=now)
                .returning(deliveries.c.order_key)
            )
        ).scalars()
    )
    await order_heads.drop(connection, keys)
