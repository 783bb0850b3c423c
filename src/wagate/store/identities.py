"""Who users are, per WABA: the BSUID Meta calls each, and the phone number when known."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from wagate.domain.identity import IdentityChange, UserIdentity
from wagate.store.tables import user_identities

__all__ = ["KnownUser", "apply_changes", "lookup", "remember"]


@dataclass(frozen=True, slots=True)
class KnownUser:
    """A user as Meta named them to one WABA."""

    waba_id: str
    identity: UserIdentity


async def remember(connection: AsyncConnection, users: Sequence[KnownUser], now: datetime) -> None:
    """Record what Meta said of users who have a BSUID; what it did not say is kept."""
    rows: dict[tuple[str, str], dict[str, object]] = {}
    for user in users:
        identity = user.identity
        if not identity.user_id:
            continue
        rows[(user.waba_id, identity.user_id)] = {
            "waba_id": user.waba_id,
            "user_id": identity.user_id,
            "phone": identity.phone,
            "parent_user_id": identity.parent_user_id,
            "username": identity.username,
            "updated_at": now,
        }
    if not rows:
        return
    insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = insert(user_identities)
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[user_identities.c.waba_id, user_identities.c.user_id],
        set_={
            name: func.coalesce(getattr(excluded, name), user_identities.c[name])
            for name in ("phone", "parent_user_id", "username")
        }
        | {"updated_at": excluded.updated_at},
    )
    # One order: two batches upserting the same users never wait on each other in a cycle.
    await connection.execute(statement, [rows[key] for key in sorted(rows)])


async def apply_changes(
    connection: AsyncConnection, changes: Sequence[tuple[str, IdentityChange]], now: datetime
) -> None:
    """Apply (WABA id, change) pairs in order: a new BSUID replaces the old one, a new
    phone number replaces the old number of the BSUID."""
    for waba_id, change in changes:
        before, after = change.before, change.after
        if before.user_id and after.user_id and before.user_id != after.user_id:
            await connection.execute(
                delete(user_identities).where(
                    user_identities.c.waba_id == waba_id,
                    user_identities.c.user_id == before.user_id,
                )
            )
        if not after.user_id and before.phone and after.phone and before.phone != after.phone:
            # A new number of a user Meta named by number only: their BSUIDs follow it.
            await connection.execute(
                user_identities.update()
                .where(
                    user_identities.c.waba_id == waba_id,
                    user_identities.c.phone == before.phone,
                )
                .values(phone=after.phone, updated_at=now)
            )
        if after.user_id:
            await remember(connection, [KnownUser(waba_id, after)], now)
            if after.phone:
                await connection.execute(
                    user_identities.update()
                    .where(
                        user_identities.c.waba_id == waba_id,
                        user_identities.c.user_id == after.user_id,
                    )
                    .values(phone=after.phone, updated_at=now)
                )


async def lookup(
    connection: AsyncConnection, waba_ids: Collection[str], keys: Collection[str]
) -> list[KnownUser]:
    """The users of these WABAs whose BSUID, parent BSUID or phone number is one of ``keys``."""
    if not waba_ids or not keys:
        return []
    wanted = list(keys)
    query = select(user_identities).where(
        user_identities.c.waba_id.in_(list(waba_ids)),
        or_(
            user_identities.c.user_id.in_(wanted),
            user_identities.c.parent_user_id.in_(wanted),
            user_identities.c.phone.in_(wanted),
        ),
    )
    return [
        KnownUser(
            row.waba_id,
            UserIdentity(row.phone, row.user_id, row.parent_user_id, row.username),
        )
        for row in await connection.execute(query)
    ]
