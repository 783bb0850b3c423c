"""Endpoint health in the database: written when an endpoint's state changes, read by claims
and by the deliveries API."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from wagate.domain.endpoint_health import EndpointHealth, EndpointState
from wagate.store.tables import endpoint_health

__all__ = ["count_by_state", "open_now", "save", "states_of"]


async def save(
    connection: AsyncConnection, endpoint: str, health: EndpointHealth, now: datetime
) -> None:
    """Record an endpoint's health (a healthy one is forgotten)."""
    if health.state is EndpointState.HEALTHY:
        await connection.execute(
            endpoint_health.delete().where(endpoint_health.c.endpoint == endpoint)
        )
        return
    insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    values = {
        "state": health.state.value,
        "failures": health.failures,
        "open_until": health.open_until,
        "last_error": (health.last_error or "")[:1000] or None,
        "updated_at": now,
    }
    await connection.execute(
        insert(endpoint_health)
        .values(endpoint=endpoint, **values)
        .on_conflict_do_update(index_elements=["endpoint"], set_=values)
    )


async def states_of(connection: AsyncConnection, endpoints: Collection[str]) -> dict[str, str]:
    """The recorded state of each of these endpoints that is not healthy."""
    if not endpoints:
        return {}
    rows = await connection.execute(
        select(endpoint_health.c.endpoint, endpoint_health.c.state).where(
            endpoint_health.c.endpoint.in_(list(endpoints))
        )
    )
    return {row.endpoint: row.state for row in rows}


def open_now(now: datetime) -> Select[tuple[str]]:
    """The endpoints whose breaker is open at ``now``, as a subquery for claims."""
    return select(endpoint_health.c.endpoint).where(
        endpoint_health.c.state == EndpointState.OPEN.value, endpoint_health.c.open_until > now
    )


async def count_by_state(connection: AsyncConnection) -> dict[str, int]:
    """How many endpoints are in each recorded (not healthy) state."""
    rows = await connection.execute(
        select(endpoint_health.c.state, func.count()).group_by(endpoint_health.c.state)
    )
    return {row[0]: int(row[1]) for row in rows}
