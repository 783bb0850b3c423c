"""Webhook event subscriptions, users' marketing preferences and template categories.

Subscriptions are kept per WABA and per number (``owner_kind``); preferences
per business number and user id; categories per WABA, template and language.
Each is read for a batch at a time.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from wagate.domain.marketing import MarketingPreference, TemplateCategory
from wagate.domain.tenancy import PhoneNumber
from wagate.store.tables import (
    marketing_preferences,
    numbers,
    template_categories,
    wabas,
    webhook_subscriptions,
)
from wagate.store.tenancy import to_number

__all__ = [
    "Owner",
    "categories_of",
    "graph_versions",
    "graph_versions_by_key",
    "numbers_of_wabas",
    "preference_of",
    "save_categories",
    "save_preferences",
    "set_graph_version",
    "set_subscription",
    "subscriptions_of",
]

#: A subscription's owner: ("waba", WABA id) or ("number", E.164 number).
Owner = tuple[str, str]


def _insert(connection: AsyncConnection) -> Any:
    return postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert


async def set_subscription(
    connection: AsyncConnection,
    owner: Owner,
    sid: str,
    event_types: Sequence[str] | None,
    now: datetime,
) -> None:
    """Set what an owner opts into; None removes its subscription (a number then takes
    its WABA's)."""
    kind, owner_id = owner
    if event_types is None:
        await connection.execute(
            webhook_subscriptions.delete().where(
                webhook_subscriptions.c.owner_kind == kind,
                webhook_subscriptions.c.owner_id == owner_id,
            )
        )
        return
    values = {"sid": sid, "event_types": json.dumps(list(event_types)), "updated_at": now}
    statement = _insert(connection)(webhook_subscriptions).values(
        owner_kind=kind, owner_id=owner_id, **values
    )
    await connection.execute(
        statement.on_conflict_do_update(index_elements=["owner_kind", "owner_id"], set_=values)
    )


async def subscriptions_of(
    connection: AsyncConnection, owners: Collection[Owner]
) -> dict[Owner, tuple[str, ...]]:
    """The event types of each of these owners that has a subscription."""
    if not owners:
        return {}
    table = webhook_subscriptions
    rows = await connection.execute(
        select(table.c.owner_kind, table.c.owner_id, table.c.event_types).where(
            or_(*(and_(table.c.owner_kind == k, table.c.owner_id == i) for k, i in set(owners)))
        )
    )
    return {(row.owner_kind, row.owner_id): tuple(json.loads(row.event_types)) for row in rows}


async def numbers_of_wabas(
    connection: AsyncConnection, waba_ids: Collection[str]
) -> dict[str, list[PhoneNumber]]:
    """The numbers of each of these WABAs, in number order."""
    if not waba_ids:
        return {}
    rows = await connection.execute(
        select(numbers).where(numbers.c.waba_id.in_(list(waba_ids))).order_by(numbers.c.number)
    )
    found: dict[str, list[PhoneNumber]] = {}
    for row in rows:
        found.setdefault(row.waba_id, []).append(to_number(row))
    return found


async def save_preferences(
    connection: AsyncConnection,
    preferences: Sequence[tuple[str, MarketingPreference]],
    now: datetime,
) -> None:
    """Record (business number, preference) pairs; one older than the one kept is ignored."""
    if not preferences:
        return
    table = marketing_preferences
    statement = _insert(connection)(table)
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=["number", "user_id"],
        set_={
            "opted_out": excluded.opted_out,
            "value": excluded.value,
            "detail": excluded.detail,
            "reported_at": excluded.reported_at,
            "updated_at": excluded.updated_at,
        },
        where=table.c.reported_at <= excluded.reported_at,
    )
    await connection.execute(
        statement,
        [
            {
                "number": number,
                "user_id": p.user,
                "opted_out": p.opted_out,
                "value": p.value,
                "detail": p.detail,
                "reported_at": p.reported_at,
                "updated_at": now,
            }
            for number, p in sorted(preferences, key=lambda pair: (pair[0], pair[1].user))
        ],
    )


async def preference_of(
    connection: AsyncConnection, number: str, user: str
) -> MarketingPreference | None:
    """A user's latest marketing preference toward a business number, or None."""
    table = marketing_preferences
    row = (
        await connection.execute(
            select(table).where(table.c.number == number, table.c.user_id == user)
        )
    ).first()
    if row is None:
        return None
    return MarketingPreference(row.user_id, row.opted_out, row.value, row.detail, row.reported_at)


async def save_categories(
    connection: AsyncConnection, categories: Sequence[TemplateCategory], now: datetime
) -> None:
    """Record templates' categories (the last one said wins)."""
    if not categories:
        return
    latest = {(c.waba_id, c.name, c.language): c for c in categories}
    statement = _insert(connection)(template_categories)
    statement = statement.on_conflict_do_update(
        index_elements=["waba_id", "name", "language"],
        set_={"category": statement.excluded.category, "updated_at": statement.excluded.updated_at},
    )
    await connection.execute(
        statement,
        [
            {
                "waba_id": c.waba_id,
                "name": c.name,
                "language": c.language,
                "category": c.category,
                "updated_at": now,
            }
            for _, c in sorted(latest.items())
        ],
    )


async def categories_of(
    connection: AsyncConnection, waba_id: str, name: str
) -> list[TemplateCategory]:
    """The categories known of a WABA's template, in every language."""
    table = template_categories
    rows = await connection.execute(
        select(table)
        .where(table.c.waba_id == waba_id, table.c.name == name)
        .order_by(table.c.language)
    )
    return [TemplateCategory(r.waba_id, r.name, r.language, r.category) for r in rows]


async def set_graph_version(connection: AsyncConnection, waba_id: str, version: str | None) -> None:
    """Set the Graph API version of a WABA's upstream calls (None: the configured one)."""
    await connection.execute(
        update(wabas).where(wabas.c.waba_id == waba_id).values(graph_version=version)
    )


async def graph_versions(connection: AsyncConnection) -> dict[str, str]:
    """Every WABA that has a Graph API version of its own, with that version."""
    rows = await connection.execute(
        select(wabas.c.waba_id, wabas.c.graph_version).where(wabas.c.graph_version.is_not(None))
    )
    return {row.waba_id: row.graph_version for row in rows}


async def graph_versions_by_key(connection: AsyncConnection) -> dict[str, str]:
    """The Graph API version of every WABA that has one, by WABA id and by the phone number
    id of each of its numbers."""
    found = await graph_versions(connection)
    rows = await connection.execute(
        select(numbers.c.phone_number_id, wabas.c.graph_version)
        .join(wabas, wabas.c.waba_id == numbers.c.waba_id)
        .where(wabas.c.graph_version.is_not(None))
    )
    found.update({row.phone_number_id: row.graph_version for row in rows})
    return found
