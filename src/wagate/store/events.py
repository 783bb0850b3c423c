"""Events in the database: written in the transaction of the change they announce."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from wagate.store.tables import events


async def insert_event(
    connection: AsyncConnection,
    *,
    kind: str,
    sid: str,
    waba_id: str | None,
    subject_id: str,
    status: str,
    payload: dict[str, str],
    now: datetime,
) -> str:
    """Record an event; returns its id."""
    event_id = str(uuid.uuid4())
    await connection.execute(
        events.insert().values(
            id=event_id,
            kind=kind,
            sid=sid,
            waba_id=waba_id,
            subject_id=subject_id,
            status=status,
            payload=json.dumps(payload, separators=(",", ":")),
            created_at=now,
        )
    )
    return event_id


async def events_for_subject(
    connection: AsyncConnection, subject_id: str
) -> list[dict[str, object]]:
    """Every event about one subject, oldest first, as stored."""
    rows = (
        await connection.execute(
            select(events).where(events.c.subject_id == subject_id).order_by(events.c.created_at)
        )
    ).all()
    return [
        {
            "id": row.id,
            "kind": row.kind,
            "status": row.status,
            "payload": json.loads(row.payload),
            "created_at": row.created_at,
        }
        for row in rows
    ]


async def delete_for_subject(connection: AsyncConnection, subject_id: str) -> None:
    """Drop the events of a purged subject."""
    await connection.execute(delete(events).where(events.c.subject_id == subject_id))
