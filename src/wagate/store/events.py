"""Events in the database: written in the transaction of the change they announce."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from wagate.domain import json_text
from wagate.domain.ids import time_ordered_uuid
from wagate.store.bulk import BulkInsert, execute_many
from wagate.store.tables import events

__all__ = ["NewEvent", "insert_event", "insert_events", "new_event_id"]


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
    event_id = new_event_id()
    await connection.execute(
        events.insert().values(
            id=event_id,
            kind=kind,
            sid=sid,
            waba_id=waba_id,
            subject_id=subject_id,
            status=status,
            payload=json_text.compact(payload),
            created_at=now,
        )
    )
    return event_id


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to record, with the id its deliveries refer to."""

    id: str
    kind: str
    sid: str
    waba_id: str | None
    subject_id: str
    status: str
    payload: Mapping[str, Any]


def new_event_id() -> str:
    """A fresh event id."""
    return str(time_ordered_uuid())


_INSERT_EVENTS = BulkInsert(
    events, ["id", "kind", "sid", "waba_id", "subject_id", "status", "payload", "created_at"]
)


async def insert_events(
    connection: AsyncConnection, batch: Sequence[NewEvent], now: datetime
) -> None:
    """Record several events in one statement."""
    await execute_many(
        connection,
        _INSERT_EVENTS,
        [
            {
                "id": event.id,
                "kind": event.kind,
                "sid": event.sid,
                "waba_id": event.waba_id,
                "subject_id": event.subject_id,
                "status": event.status,
                "payload": json_text.compact(event.payload),
                "created_at": now,
            }
            for event in batch
        ],
    )
