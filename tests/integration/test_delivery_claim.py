"""The delivery queue on SQLite and PostgreSQL: per-endpoint room, disabled profiles, due
times, and one subject's deliveries to one endpoint going out one at a time, in order."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from wagate.domain.callbacks import (
    Attempt,
    AttemptTrigger,
    CallbackProfile,
    Delivery,
    DeliveryStatus,
    ProfileStatus,
    new_delivery_id,
)
from wagate.domain.endpoint_health import EndpointHealth
from wagate.services.jobs import JobQueue
from wagate.store import Database, delivery_outcomes, delivery_queue, endpoints
from wagate.store import deliveries as delivery_rows
from wagate.store import profiles as profile_rows

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LEASE = timedelta(seconds=30)
A, B, C = "http://a.example:80", "http://b.example:80", "http://c.example:80"


@pytest.fixture
def database(worker_database: Database) -> Database:
    return worker_database


async def add(
    database: Database,
    endpoint: str,
    count: int,
    *,
    run_at: datetime = T0,
    profile_id: str | None = None,
    subject: str | None = None,
) -> list[str]:
    """``count`` deliveries to ``endpoint``, each about a subject of its own unless given one."""
    ids = [new_delivery_id() for _ in range(count)]
    async with database.transaction() as connection:
        for delivery_id in ids:
            await delivery_queue.insert_deliveries(
                connection,
                [Delivery(
                    id=delivery_id,
                    sid="SID1",
                    event_id="e",
                    subject_id=subject or delivery_id,
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
                )],
            )  # fmt: skip
    return ids


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


async def claim_deliveries(
    database: Database,
    *,
    limit: int = 64,
    per_endpoint: int = 1000,
    held: dict[str, int] | None = None,
) -> list[Delivery]:
    async with database.transaction() as connection:
        return await delivery_queue.claim(
            connection, worker="w1", limit=limit, lease=LEASE, now=T0,
            per_endpoint=per_endpoint, held=held,
        )  # fmt: skip


async def claim(database: Database, **options: object) -> Counter[str]:
    claimed = await claim_deliveries(database, **options)  # type: ignore[arg-type]
    return Counter(delivery.endpoint for delivery in claimed)


async def test_a_claim_takes_no_more_per_endpoint_than_its_room(database: Database) -> None:
    await add(database, A, 20)
    await add(database, B, 5)
    await add(database, C, 3)

    first = await claim(database, per_endpoint=8, held={A: 6, B: 0})
    assert first == {A: 2, B: 5, C: 3}

    await add(database, B, 4)
    second = await claim(database, per_endpoint=8, held={A: 8, B: 5, C: 3})
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
        assert await delivery_queue.next_run_at(connection) is None
    assert await claim(database, per_endpoint=8) == {}

    later = T0 + timedelta(minutes=1)
    await add(database, A, 1, run_at=later)
    async with database.transaction() as connection:
        assert await delivery_queue.next_run_at(connection) == later


async def test_a_leased_delivery_is_next_due_when_its_lease_ends(database: Database) -> None:
    await add(database, A, 1)
    assert await claim(database) == {A: 1}
    async with database.transaction() as connection:
        assert await delivery_queue.next_run_at(connection) == T0 + LEASE


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
    claimed = await claim_deliveries(database, limit=2)
    triggers = {delivery.id: delivery.trigger for delivery in claimed}
    assert triggers == {
        pending[0].id: AttemptTrigger.MANUAL,
        pending[1].id: AttemptTrigger.SCHEDULED,
    }


async def finish(database: Database, delivery: Delivery, status: DeliveryStatus) -> None:
    """Record one attempt of a claimed delivery that moved it to ``status``."""
    attempt = Attempt(
        id=str(uuid.uuid4()), delivery_id=delivery.id, number=delivery.attempts + 1,
        trigger=AttemptTrigger.SCHEDULED, method="GET", url=delivery.url, request_headers={},
        response_status=200 if status is DeliveryStatus.SUCCEEDED else 500, response_body="",
        duration_ms=1, error_class=None, error=None,
        next_attempt_at=T0 + timedelta(seconds=5) if status is DeliveryStatus.PENDING else None,
        created_at=T0,
    )  # fmt: skip
    async with database.transaction() as connection:
        await delivery_outcomes.record_outcomes(
            connection,
            delivery_outcomes.outcome_rows([delivery_outcomes.Outcome(delivery, attempt, status)]),
        )


async def statuses(database: Database, ids: list[str]) -> list[DeliveryStatus]:
    found: list[DeliveryStatus] = []
    async with database.transaction() as connection:
        for delivery_id in ids:
            delivery = await delivery_rows.get_delivery(connection, "SID1", delivery_id)
            assert delivery is not None
            found.append(delivery.status)
    return found


async def test_one_subject_s_deliveries_to_one_endpoint_go_one_at_a_time(
    database: Database,
) -> None:
    first, second, third = await add(database, A, 3, subject="message-1")
    (other,) = await add(database, A, 1, subject="message-2")
    pending, queued = DeliveryStatus.PENDING, DeliveryStatus.QUEUED
    assert await statuses(database, [first, second, third, other]) == [
        pending,
        queued,
        queued,
        pending,
    ]
    claimed = await claim_deliveries(database)
    assert {d.id for d in claimed} == {first, other}, "other subjects are not held back"

    head = next(d for d in claimed if d.id == first)
    await finish(database, head, DeliveryStatus.PENDING)  # failed, retried later
    assert await statuses(database, [first, second]) == [
        DeliveryStatus.PENDING, DeliveryStatus.QUEUED,
    ], "a retrying delivery keeps the next one waiting"  # fmt: skip

    await finish(database, head, DeliveryStatus.DEAD)
    assert await statuses(database, [second, third]) == [
        DeliveryStatus.PENDING, DeliveryStatus.QUEUED,
    ], "a dead one lets the next go"  # fmt: skip
    (claimed_second,) = [d for d in await claim_deliveries(database) if d.subject_id == "message-1"]
    assert claimed_second.id == second
    await finish(database, claimed_second, DeliveryStatus.SUCCEEDED)
    assert await statuses(database, [third]) == [DeliveryStatus.PENDING]


async def test_a_new_delivery_waits_behind_an_unfinished_one_of_an_earlier_batch(
    database: Database,
) -> None:
    (first,) = await add(database, A, 1, subject="message-1")
    (claimed,) = await claim_deliveries(database)
    (second,) = await add(database, A, 1, subject="message-1")
    assert await statuses(database, [second]) == [DeliveryStatus.QUEUED]
    await finish(database, claimed, DeliveryStatus.SUCCEEDED)
    (after,) = await add(database, A, 1, subject="message-1")
    assert await statuses(database, [first, second, after]) == [
        DeliveryStatus.SUCCEEDED, DeliveryStatus.PENDING, DeliveryStatus.QUEUED,
    ]  # fmt: skip


async def test_recovery_keeps_each_subject_s_order(database: Database) -> None:
    profile = await add_profile(database, ProfileStatus.ACTIVE)
    ids = await add(database, C, 3, subject="message-1", profile_id=profile)
    for delivery_id in ids:
        (claimed,) = [d for d in await claim_deliveries(database) if d.id == delivery_id]
        await finish(database, claimed, DeliveryStatus.DEAD)
    assert await statuses(database, ids) == [DeliveryStatus.DEAD] * 3
    async with database.transaction() as connection:
        assert await delivery_rows.recover(connection, profile, T0, T0, dry_run=False) == 3
    assert await statuses(database, ids) == [
        DeliveryStatus.PENDING, DeliveryStatus.QUEUED, DeliveryStatus.QUEUED,
    ]  # fmt: skip


async def test_deliveries_to_an_open_endpoint_are_not_claimed_until_it_cools_down(
    database: Database,
) -> None:
    await add(database, A, 2)
    await add(database, B, 1)
    async with database.transaction() as connection:
        opened = EndpointHealth().failed(T0, "x")
        for _ in range(10):
            opened = opened.failed(T0, "HTTP 500")
        await endpoints.save(connection, A, opened, T0)
    assert await claim(database) == {B: 1}
    assert opened.open_until is not None
    async with database.transaction() as connection:
        later = await delivery_queue.claim(
            connection, worker="w1", limit=10, lease=LEASE, now=opened.open_until,
            per_endpoint=10,
        )  # fmt: skip
    assert Counter(d.endpoint for d in later) == {A: 2}


async def test_releasing_stale_job_leases_leaves_the_deliveries_lanes_own(
    database: Database,
) -> None:
    # On SQLite one worker child runs the job lanes and another the deliveries lane: the
    # first, restarted, must not free what the second still sends.
    await add(database, A, 2)
    assert await claim(database) == {A: 2}
    jobs = JobQueue(database)
    assert await jobs.release_all(of_jobs=True, of_deliveries=False) == 0
    assert await claim(database) == {}
    assert await jobs.release_all(of_jobs=False, of_deliveries=True) == 2
    assert await claim(database) == {A: 2}
