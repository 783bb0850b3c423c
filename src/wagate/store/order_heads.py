"""Order heads: the one unfinished delivery of each order key that may be sent.

Deliveries that share an order key (one subject, one endpoint, one profile) go
out one at a time. ``delivery_heads`` holds, per key, the delivery allowed to
go now (``pending``); the others of the key wait ``queued`` behind it. When a
head succeeds, dies or is cancelled, the earliest queued delivery of its key
takes its place.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import datetime

from sqlalchemy import bindparam, delete, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import String

from wagate.domain import wakeups
from wagate.domain.callbacks import DeliveryStatus
from wagate.store.bulk import execute_many
from wagate.store.queue import wake_workers
from wagate.store.tables import deliveries, delivery_heads

__all__ = ["claim", "drop", "promote_successors"]

_DROP_HEAD = delete(delivery_heads).where(
    delivery_heads.c.order_key == bindparam("b_key"),
    delivery_heads.c.delivery_id == bindparam("b_id"),
)


# One statement whatever the number of candidates, so that it is compiled (and on
# PostgreSQL prepared) once: the candidates travel as two arrays, or as JSON on SQLite
# (whose INSERT … SELECT needs a WHERE before ON CONFLICT).
_CLAIM_POSTGRESQL = text(
    "INSERT INTO delivery_heads (order_key, delivery_id) "
    "SELECT k, d FROM unnest(:keys, :ids) AS candidate(k, d) ORDER BY k "
    "ON CONFLICT (order_key) DO UPDATE SET order_key = excluded.order_key "
    "RETURNING order_key, delivery_id"
).bindparams(bindparam("keys", type_=ARRAY(String())), bindparam("ids", type_=ARRAY(String())))
_CLAIM_SQLITE = text(
    "INSERT INTO delivery_heads (order_key, delivery_id) "
    "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') "
    "FROM json_each(:pairs) WHERE true "
    "ON CONFLICT (order_key) DO UPDATE SET order_key = excluded.order_key "
    "RETURNING order_key, delivery_id"
)


async def claim(connection: AsyncConnection, candidates: Mapping[str, str]) -> dict[str, str]:
    """Make each candidate its key's head unless the key has one; every key's head.

    The upsert rewrites (and so locks until commit) a head that exists: a worker
    finishing that head at the same time either waits and then sees the new
    deliveries to promote, or has already removed it and the candidate takes
    its place. Keys are taken in order, so two transactions never deadlock.
    """
    if not candidates:
        return {}
    keys = sorted(candidates)
    if connection.dialect.name == "postgresql":
        ids = [candidates[key] for key in keys]
        rows = await connection.execute(_CLAIM_POSTGRESQL, {"keys": keys, "ids": ids})
    else:
        pairs = json.dumps([[key, candidates[key]] for key in keys], separators=(",", ":"))
        rows = await connection.execute(_CLAIM_SQLITE, {"pairs": pairs})
    return {row.order_key: row.delivery_id for row in rows}


async def promote_successors(
    connection: AsyncConnection, finished: Mapping[str, str], now: datetime
) -> int:
    """The deliveries ``finished`` (order key → delivery id) have ended: where one was its
    key's head, the earliest queued delivery of the key becomes head and pending. How many."""
    if not finished:
        return 0
    await execute_many(
        connection,
        _DROP_HEAD,
        [{"b_key": key, "b_id": finished[key]} for key in sorted(finished)],
    )
    return await _promote_earliest(connection, finished, now)


async def drop(connection: AsyncConnection, keys: Collection[str]) -> None:
    """Forget the heads of these keys (their deliveries were all cancelled or purged)."""
    if keys:
        await connection.execute(
            delete(delivery_heads).where(delivery_heads.c.order_key.in_(sorted(keys)))
        )


# Apart from the DELETE before it: a head that an inbox transaction is rewriting makes
# the DELETE wait for that commit, and only a statement that starts afterwards sees the
# deliveries that transaction queued behind the head.
_PROMOTE_POSTGRESQL = text(
    "WITH headless AS ("
    " SELECT k FROM unnest(:keys) AS finished(k)"
    " WHERE NOT EXISTS (SELECT 1 FROM delivery_heads h WHERE h.order_key = finished.k)"
    "), next_up AS ("
    # Per key, through its (order_key, seq) index: the plan holds when it is prepared.
    " SELECT headless.k AS order_key, first.id FROM headless CROSS JOIN LATERAL ("
    "  SELECT d.id FROM deliveries d WHERE d.order_key = headless.k AND d.status = :queued"
    "  ORDER BY d.seq LIMIT 1"
    " ) AS first"
    "), heads AS ("
    " INSERT INTO delivery_heads (order_key, delivery_id)"
    " SELECT order_key, id FROM next_up ORDER BY order_key RETURNING delivery_id"
    ") "
    "UPDATE deliveries SET status = :pending, run_at = :now, updated_at = :now "
    "WHERE id IN (SELECT delivery_id FROM heads) RETURNING id"
).bindparams(
    bindparam("keys", type_=ARRAY(String())),
    bindparam("now", type_=deliveries.c.run_at.type),
    queued=DeliveryStatus.QUEUED.value,
    pending=DeliveryStatus.PENDING.value,
)


# SQLite has no INSERT in a WITH: the new heads, then (by their ids) their deliveries.
_PROMOTE_SQLITE = text(
    "INSERT INTO delivery_heads (order_key, delivery_id) "
    "SELECT finished.value, ("
    " SELECT d.id FROM deliveries d WHERE d.order_key = finished.value AND d.status = :queued"
    " ORDER BY d.seq LIMIT 1"
    ") AS next_id FROM json_each(:keys) AS finished "
    "WHERE next_id IS NOT NULL AND NOT EXISTS ("
    " SELECT 1 FROM delivery_heads h WHERE h.order_key = finished.value"
    ") "
    "RETURNING delivery_id"
).bindparams(queued=DeliveryStatus.QUEUED.value)


async def _promote_earliest(
    connection: AsyncConnection, keys: Collection[str], now: datetime
) -> int:
    """Give each of ``keys`` that has no head its earliest queued delivery as head."""
    if not keys:
        return 0
    if connection.dialect.name == "postgresql":
        promoted = len(
            (await connection.execute(_PROMOTE_POSTGRESQL, {"keys": sorted(keys), "now": now}))
            .scalars()
            .all()
        )
    else:
        heads = await connection.execute(_PROMOTE_SQLITE, {"keys": json.dumps(sorted(keys))})
        promoted_ids = list(heads.scalars())
        if promoted_ids:
            await connection.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(promoted_ids))
                .values(status=DeliveryStatus.PENDING.value, run_at=now, updated_at=now)
            )
        promoted = len(promoted_ids)
    if promoted:
        await wake_workers(connection, wakeups.DELIVERIES)
    return promoted
