"""Figures of stored state, for metrics and readiness."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from wagate.domain.callbacks import DeliveryStatus
from wagate.store import endpoints, send_queue
from wagate.store import inbox as inbox_rows
from wagate.store.tables import deliveries, jobs, uploads

__all__ = ["oldest_due_age", "state_counts"]


async def state_counts(connection: AsyncConnection) -> dict[str, dict[str, float]]:
    """Uploads and deliveries by status, and queue depth by kind."""
    result: dict[str, dict[str, float]] = {"uploads": {}, "deliveries": {}, "queue": {}}
    for key, column in (
        ("uploads", uploads.c.status),
        ("deliveries", deliveries.c.status),
        ("queue", jobs.c.kind),
    ):
        rows = (await connection.execute(select(column, func.count()).group_by(column))).all()
        result[key] = {str(row[0]): float(row[1]) for row in rows}
    result["queue"]["deliver_callback"] = result["deliveries"].get(
        DeliveryStatus.PENDING.value, 0.0
    ) + result["deliveries"].get(DeliveryStatus.QUEUED.value, 0.0)
    result["queue"]["process_meta_webhook"] = float(await inbox_rows.pending_count(connection))
    result["endpoints"] = {
        state: float(count) for state, count in (await endpoints.count_by_state(connection)).items()
    }
    result["queue"]["queued_send"] = float(await send_queue.waiting_count(connection))
    return result


async def oldest_due_age(connection: AsyncConnection, now: datetime) -> float:
    """Seconds the oldest due, unclaimed job or pending delivery has waited (0 when none)."""
    oldest: list[datetime] = []
    for table, condition in (
        (jobs, jobs.c.run_at <= now),
        (
            deliveries,
            (deliveries.c.status == DeliveryStatus.PENDING.value) & (deliveries.c.run_at <= now),
        ),
    ):
        free = table.c.locked_until.is_(None) | (table.c.locked_until < now)
        value = (
            await connection.execute(select(func.min(table.c.run_at)).where(condition & free))
        ).scalar_one_or_none()
        if value is not None:
            oldest.append(value)
    waiting = await inbox_rows.oldest_pending_at(connection)
    if waiting is not None:
        oldest.append(waiting)
    return max(0.0, (now - min(oldest)).total_seconds()) if oldest else 0.0
