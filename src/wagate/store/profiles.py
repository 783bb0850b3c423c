"""Callback profiles in the database."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from wagate.domain.callbacks import CallbackProfile, ProfileStatus
from wagate.domain.profile_health import ProfileHealth, judge
from wagate.store.tables import callback_profiles, numbers, wabas

__all__ = [
    "delete_profile",
    "get_profile",
    "get_profiles",
    "insert_profile",
    "list_profiles",
    "record_profile_health",
    "save_profile",
]


def _to_profile(row: Any) -> CallbackProfile:
    return CallbackProfile(
        id=row.id,
        sid=row.sid,
        title=row.title,
        http_method=row.http_method,
        url=row.url,
        body=row.body,
        headers=json.loads(row.headers or "{}"),
        secret=row.secret,
        previous_secret=row.previous_secret,
        previous_secret_expires_at=row.previous_secret_expires_at,
        status=ProfileStatus(row.status),
        failing_since=row.failing_since,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _values(profile: CallbackProfile) -> dict[str, Any]:
    return {
        "sid": profile.sid,
        "title": profile.title,
        "http_method": profile.http_method,
        "url": profile.url,
        "body": profile.body,
        "headers": json.dumps(profile.headers, separators=(",", ":")),
        "secret": profile.secret,
        "previous_secret": profile.previous_secret,
        "previous_secret_expires_at": profile.previous_secret_expires_at,
        "status": int(profile.status),
        "failing_since": profile.failing_since,
        "created_at": profile.created_at,
        "updated_at": profile.updated_at,
    }


async def insert_profile(connection: AsyncConnection, profile: CallbackProfile) -> None:
    """Store a new profile."""
    await connection.execute(callback_profiles.insert().values(id=profile.id, **_values(profile)))


async def save_profile(connection: AsyncConnection, profile: CallbackProfile) -> None:
    """Write every field of an existing profile."""
    await connection.execute(
        update(callback_profiles)
        .where(callback_profiles.c.id == profile.id)
        .values(**_values(profile))
    )


async def get_profiles(
    connection: AsyncConnection, profile_ids: Collection[str]
) -> dict[str, CallbackProfile]:
    """The profiles among ``profile_ids`` that exist, by id."""
    if not profile_ids:
        return {}
    query = select(callback_profiles).where(callback_profiles.c.id.in_(list(profile_ids)))
    return {row.id: _to_profile(row) for row in await connection.execute(query)}


async def get_profile(
    connection: AsyncConnection, profile_id: str, sid: str | None = None
) -> CallbackProfile | None:
    """A profile by id (of this account, when ``sid`` is given), or None."""
    query = select(callback_profiles).where(callback_profiles.c.id == profile_id)
    if sid is not None:
        query = query.where(callback_profiles.c.sid == sid)
    row = (await connection.execute(query)).first()
    return None if row is None else _to_profile(row)


async def list_profiles(
    connection: AsyncConnection, sid: str, *, title: str | None, limit: int, offset: int
) -> tuple[list[CallbackProfile], int]:
    """A page of the account's profiles, oldest first, and the total."""
    condition = callback_profiles.c.sid == sid
    if title:
        condition = condition & callback_profiles.c.title.contains(title, autoescape=True)
    total = (
        await connection.execute(
            select(func.count()).select_from(callback_profiles).where(condition)
        )
    ).scalar_one()
    rows = (
        await connection.execute(
            select(callback_profiles)
            .where(condition)
            .order_by(callback_profiles.c.created_at, callback_profiles.c.id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return [_to_profile(row) for row in rows], int(total)


async def delete_profile(connection: AsyncConnection, profile_id: str) -> None:
    """Remove a profile and detach it from WABAs and numbers."""
    await connection.execute(
        update(wabas)
        .where(wabas.c.callback_profile_id == profile_id)
        .values(callback_profile_id=None)
    )
    await connection.execute(
        update(numbers)
        .where(numbers.c.callback_profile_id == profile_id)
        .values(callback_profile_id=None)
    )
    await connection.execute(
        update(numbers)
        .where(numbers.c.incoming_callback_profile_id == profile_id)
        .values(incoming_callback_profile_id=None)
    )
    await connection.execute(delete(callback_profiles).where(callback_profiles.c.id == profile_id))


async def record_profile_health(
    connection: AsyncConnection,
    *,
    succeeded: Collection[str],
    failed: Collection[str],
    now: datetime,
    disable_after_seconds: float,
) -> list[str]:
    """Apply :func:`~wagate.domain.profile_health.judge`'s verdict on one batch of
    outcomes to the profiles' rows, a statement per change; the ids of the profiles
    this call disabled.

    Each change is conditional on the row still being as judged, so that two workers
    recording the same profile at once change it once.
    """
    table = callback_profiles
    ids = sorted(set(succeeded) | set(failed))
    if not ids:
        return []
    rows = await connection.execute(
        select(table.c.id, table.c.status, table.c.failing_since).where(table.c.id.in_(ids))
    )
    health = {row.id: ProfileHealth(ProfileStatus(row.status), row.failing_since) for row in rows}
    verdict = judge(
        health,
        succeeded=succeeded,
        failed=failed,
        now=now,
        disable_after=timedelta(seconds=disable_after_seconds),
    )
    if verdict.recovered:
        await connection.execute(
            update(table)
            .where(table.c.id.in_(sorted(verdict.recovered)), table.c.failing_since.is_not(None))
            .values(failing_since=None)
        )
    if verdict.started_failing:
        await connection.execute(
            update(table)
            .where(table.c.id.in_(sorted(verdict.started_failing)), table.c.failing_since.is_(None))
            .values(failing_since=now)
        )
    if not verdict.disabled:
        return []
    disabled = await connection.execute(
        update(table)
        .where(
            table.c.id.in_(sorted(verdict.disabled)),
            table.c.status == int(ProfileStatus.ACTIVE),
            table.c.failing_since.is_not(None),
        )
        .values(status=int(ProfileStatus.AUTO_DISABLED), updated_at=now)
        .returning(table.c.id)
    )
    return list(disabled.scalars())
