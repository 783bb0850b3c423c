"""Meta's webhooks in the inbox as operators see them: listed by outcome, read one by
one, and those set aside taken again to be processed anew."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from wagate.domain.inbox import InboxKind
from wagate.store.tables import inbox

__all__ = ["StoredEntry", "get_entry", "list_entries", "mark_reprocessed", "set_aside_since"]


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An inbox entry as operators see it (``body`` only when asked for one entry)."""

    seq: int
    kind: InboxKind
    scope: str | None
    received_at: datetime
    processed_at: datetime | None
    outcome: str | None
    detail: str | None
    body: str | None = None


_LISTED = (
    inbox.c.seq,
    inbox.c.kind,
    inbox.c.scope,
    inbox.c.received_at,
    inbox.c.processed_at,
    inbox.c.outcome,
    inbox.c.detail,
)


async def list_entries(
    connection: AsyncConnection,
    *,
    outcomes: Collection[str],
    since: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[StoredEntry], int]:
    """A page of Meta's webhooks that came to these outcomes, newest first; and the total."""
    condition = (inbox.c.kind == InboxKind.META_WEBHOOK.value) & inbox.c.outcome.in_(list(outcomes))
    if since is not None:
        condition = condition & (inbox.c.received_at >= since)
    total = (
        await connection.execute(select(func.count()).select_from(inbox).where(condition))
    ).scalar_one()
    rows = await connection.execute(
        select(*_LISTED).where(condition).order_by(inbox.c.seq.desc()).limit(limit).offset(offset)
    )
    return [_to_entry(row) for row in rows], int(total)


async def get_entry(connection: AsyncConnection, seq: int) -> StoredEntry | None:
    """One entry with its body, or None."""
    query = select(*_LISTED, inbox.c.body).where(inbox.c.seq == seq)
    row = (await connection.execute(query)).first()
    return None if row is None else _to_entry(row, body=row.body)


async def set_aside_since(
    connection: AsyncConnection, since: datetime, outcomes: Collection[str]
) -> list[StoredEntry]:
    """Meta's webhooks received since ``since`` that came to these outcomes, oldest first,
    with their bodies."""
    rows = await connection.execute(
        select(*_LISTED, inbox.c.body)
        .where(
            inbox.c.kind == InboxKind.META_WEBHOOK.value,
            inbox.c.outcome.in_(list(outcomes)),
            inbox.c.received_at >= since,
        )
        .order_by(inbox.c.seq)
    )
    return [_to_entry(row, body=row.body) for row in rows]


async def mark_reprocessed(
    connection: AsyncConnection, seqs: Collection[int], now: datetime
) -> None:
    """These entries were stored again to be processed anew: they stay as a record."""
    if seqs:
        await connection.execute(
            update(inbox)
            .where(inbox.c.seq.in_(list(seqs)))
            .values(outcome="reprocessed", processed_at=now)
        )


def _to_entry(row: Any, body: str | None = None) -> StoredEntry:
    return StoredEntry(
        seq=row.seq,
        kind=InboxKind(row.kind),
        scope=row.scope,
        received_at=row.received_at,
        processed_at=row.processed_at,
        outcome=row.outcome,
        detail=row.detail,
        body=body,
    )
