"""The database queue on SQLite and PostgreSQL: due jobs, disjoint claims, leases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from wagate.domain.jobs import JobKind
from wagate.services.jobs import JobQueue
from wagate.store import Database, queue

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LEASE = timedelta(seconds=30)


class FakeTime:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


async def add(database: Database, kind: JobKind, subject: str, run_at: datetime) -> str:
    async with database.transaction() as connection:
        return await queue.enqueue(connection, kind, subject, run_at, T0)


async def test_only_due_jobs_of_the_asked_kinds_are_claimed(database: Database) -> None:
    clock = FakeTime()
    jobs = JobQueue(database, clock)
    await add(database, JobKind.TRANSFER_UPLOAD, "due", T0)
    await add(database, JobKind.TRANSFER_UPLOAD, "later", T0 + timedelta(minutes=5))
    await add(database, JobKind.PURGE_UPLOAD, "other-kind", T0)
    hour = timedelta(hours=1)
    claimed = await jobs.claim([JobKind.TRANSFER_UPLOAD], worker="w1", limit=10, lease=hour)
    assert [job.subject_id for job in claimed] == ["due"]
    assert claimed[0].attempts == 1
    assert await jobs.next_run_at([JobKind.TRANSFER_UPLOAD]) == T0
    clock.now = T0 + timedelta(minutes=5)
    later = await jobs.claim([JobKind.TRANSFER_UPLOAD], worker="w1", limit=10, lease=hour)
    assert [job.subject_id for job in later] == ["later"]


async def test_concurrent_claimers_take_disjoint_jobs(database: Database) -> None:
    jobs = JobQueue(database, FakeTime())
    for n in range(30):
        await add(database, JobKind.TRANSFER_UPLOAD, f"s{n}", T0)
    batches = await asyncio.gather(
        *(
            jobs.claim([JobKind.TRANSFER_UPLOAD], worker=f"w{n}", limit=4, lease=LEASE)
            for n in range(10)
        )
    )
    claimed = [job.subject_id for batch in batches for job in batch]
    assert len(claimed) == len(set(claimed)) == 30


async def test_a_lapsed_lease_lets_another_worker_take_the_job(database: Database) -> None:
    clock = FakeTime()
    jobs = JobQueue(database, clock)
    await add(database, JobKind.TRANSFER_UPLOAD, "s", T0)
    (first,) = await jobs.claim([JobKind.TRANSFER_UPLOAD], worker="w1", limit=1, lease=LEASE)
    assert await jobs.claim([JobKind.TRANSFER_UPLOAD], worker="w2", limit=1, lease=LEASE) == []
    clock.now = T0 + LEASE + timedelta(seconds=1)
    (second,) = await jobs.claim([JobKind.TRANSFER_UPLOAD], worker="w2", limit=1, lease=LEASE)
    assert second.id == first.id
    assert second.attempts == 2
    assert not await jobs.extend_lease(first, LEASE)  # w1 lost it
    assert await jobs.extend_lease(second, LEASE)


async def test_retry_and_release_put_the_job_back(database: Database) -> None:
    clock = FakeTime()
    jobs = JobQueue(database, clock)
    await add(database, JobKind.EXPIRE_UPLOAD, "s", T0)
    (job,) = await jobs.claim([JobKind.EXPIRE_UPLOAD], worker="w1", limit=1, lease=LEASE)
    await jobs.retry_later(job, timedelta(seconds=10), "boom")
    assert await jobs.claim([JobKind.EXPIRE_UPLOAD], worker="w1", limit=1, lease=LEASE) == []
    clock.now = T0 + timedelta(seconds=10)
    (again,) = await jobs.claim([JobKind.EXPIRE_UPLOAD], worker="w1", limit=1, lease=LEASE)
    await jobs.release(again)
    (third,) = await jobs.claim([JobKind.EXPIRE_UPLOAD], worker="w2", limit=1, lease=LEASE)
    assert third.attempts == again.attempts  # a release does not count as an attempt


async def test_release_all_frees_stale_leases(database: Database) -> None:
    jobs = JobQueue(database, FakeTime())
    await add(database, JobKind.TRANSFER_UPLOAD, "s", T0)
    await jobs.claim([JobKind.TRANSFER_UPLOAD], worker="dead", limit=1, lease=LEASE)
    assert await jobs.release_all() == 1
    assert len(await jobs.claim([JobKind.TRANSFER_UPLOAD], worker="w", limit=1, lease=LEASE)) == 1


async def test_a_committed_enqueue_wakes_this_process_and_a_rollback_does_not(
    database: Database,
) -> None:
    woken: list[set[str]] = []
    database.on_work_added(woken.append)
    await add(database, JobKind.TRANSFER_UPLOAD, "s", T0)
    assert woken == [{"jobs"}], "only the jobs lanes are woken"

    async def enqueue_then_fail() -> None:
        async with database.transaction() as connection:
            await queue.enqueue(connection, JobKind.TRANSFER_UPLOAD, "t", T0, T0)
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        await enqueue_then_fail()
    assert woken == [{"jobs"}]
