"""Claiming deliveries on SQLite and PostgreSQL: per-endpoint room, disabled profiles, due times."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from wagate.domain.callbacks import (
    AttemptTrigger,
    CallbackProfile,
    Delivery,
    DeliveryStatus,
    ProfileStatus,
    new_delivery_id,
)
from wagate.services.tenancy import TenancyService
from wagate.store import Database
from wagate.store import deliveries as delivery_rows
from wagate.store import profiles as profile_rows

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LEASE = timedelta(seconds=30)
A, B, C = "http://a.example:80", "http://b.example:80", "http://c.example:80"


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.upgrade_schema()
    await TenancyService(database).create_account("SID1", "C1", api_key="k")
    try:
        yield database
    finally:
        await database.close()


async def add(
    database: Database,
    endpoint: str,
    count: int,
    *,
    run_at: datetime = T0,
    profile_id: str | None = None,
) -> None:
    async with database.transaction() as connection:
        for _ in range(count):
            await delivery_rows.insert_delivery(
                connection,
                Delivery(
                    id=new_delivery_id(),
                    sid="SID1",
                    event_id="e",
                    subject_id="s",
                    profile_id=profile_id,
                    method="GET",
                    url=endpoint + "/hook",
                    body=None,
                    endpoint=endpoint,
                    status=DeliveryStatus.PENDING,
                    attempts=0,
                    run_at=run_at,
                    created_at=T0,
                    updated_at=T0,
                ),
            )


async def add_profile(database: Database, status: ProfileStatus) -> str:
    profile = CallbackProfile(
        id=f"stage_{status.name.lower()}",
        sid="SID1",
        title="profile",
        http_method="GET",
        url=C + "/hook",
        body=None,
        headers={},
        secret="whsec_x",
        previous_secret=None,
        previous_secret_expires_at=None,
        status=status,
        failing_since=None,
        created_at=T0,
        updated_at=T0,
    )
    async with database.transaction() as connection:
        await profile_rows.insert_profile(connection, profile)
    return profile.id


async def claim(database: Database, **options: object) -> Counter[str]:
    async with database.transaction() as connection:
        claimed = await delivery_rows.claim(
            connection,
            worker="w1",
            limit=int(options.pop("limit", 64)),  # type: ignore[call-overload]
            lease=LEASE,
            now=T0,
            **options,  # type: ignore[arg-type]
        )
    return Counter(delivery.endpoint for delivery in claimed)


async def test_a_claim_takes_no_more_per_endpoint_than_its_room(database: Database) -> None:
    await add(database, A, 20)
    await add(database, B, 5)
    await add(database, C, 3)

    first = await claim(database, per_endpoint=8, in_flight={A: 6, B: 0})
    assert first == {A: 2, B: 5, C: 3}

    await add(database, B, 4)
    second = await claim(database, per_endpoint=8, in_flight={A: 8, B: 5, C: 3})
    assert second == {B: 3}, "A is full; B had room for 3 of its 4"


async def test_without_a_cap_a_claim_takes_the_oldest_up_to_its_limit(database: Database) -> None:
    await add(database, A, 10)
    await add(database, B, 10, run_at=T0 - timedelta(seconds=1))
    assert await claim(database, limit=12) == {B: 10, A: 2}


async def test_deliveries_of_a_disabled_profile_are_neither_claimed_nor_awaited(
    database: Database,
) -> None:
    disabled = await add_profile(database, ProfileStatus.AUTO_DISABLED)
    await add(database, C, 3, profile_id=disabled)
    async with database.transaction() as connection:
        assert await delivery_rows.next_run_at(connection) is None
    assert await claim(database, per_endpoint=8) == {}

    later = T0 + timedelta(minutes=1)
    await add(database, A, 1, run_at=later)
    async with database.transaction() as connection:
        assert await delivery_rows.next_run_at(connection) == later


async def test_a_leased_delivery_is_next_due_when_its_lease_ends(database: Database) -> None:
    await add(database, A, 1)
    assert await claim(database) == {A: 1}
    async with database.transaction() as connection:
        assert await delivery_rows.next_run_at(connection) == T0 + LEASE


async def test_a_claim_says_which_deliveries_were_replayed_by_hand(database: Database) -> None:
    await add(database, A, 2)
    async with database.transaction() as connection:
        pending, _ = await delivery_rows.list_deliveries(
            connection,
            "SID1",
            profile_id=None,
            status=None,
            since=None,
            until=None,
            limit=10,
            offset=0,
        )
        await delivery_rows.replay(connection, pending[0].id, T0)
    async with database.transaction() as connection:
        claimed = await delivery_rows.claim(connection, worker="w1", limit=2, lease=LEASE, now=T0)
    triggers = {delivery.id: delivery.trigger for delivery in claimed}
    assert triggers == {
        pending[0].id: AttemptTrigger.MANUAL,
        pending[1].id: AttemptTrigger.SCHEDULED,
    }
