"""The job queue: rows with ``run_at``, claimed in one statement under a lease.

On PostgreSQL the claim is ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP
LOCKED)``, so any number of workers on any number of machines take disjoint
jobs, and every enqueue sends ``NOTIFY`` so idle workers wake at once. On
SQLite the same statement runs under the exclusive write transaction and an
in-process event does the waking.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from wagate.domain import wakeups
from wagate.domain.jobs import Job, JobKind
from wagate.store.tables import deliveries, jobs

__all__ = [
    "NOTIFY_CHANNEL",
    "WAKE_FLAG",
    "claim",
    "count_by_kind",
    "delete_for_subject",
    "enqueue",
    "enqueue_many",
    "extend_lease",
    "finish",
    "next_run_at",
    "notified",
    "release",
    "release_all",
    "retry_at",
    "wake_workers",
]

NOTIFY_CHANNEL = "wagate_jobs"
#: On a connection whose transaction queued work: the wake-ups it sent (NOTIFY
#: payloads). Database.transaction takes it off and wakes this process's workers.
WAKE_FLAG = "wagate_wake_workers"


async def wake_workers(connection: AsyncConnection, payload: str) -> None:
    """Wake the idle workers that take ``payload``'s work (a channel: ``jobs``, ``inbox``,
    ``deliveries``) once this transaction commits: in this process, and through
    ``NOTIFY`` (once per payload and transaction) in others on PostgreSQL."""
    if connection.dialect.name == "postgresql" and payload not in _woken(connection):
        await connection.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": NOTIFY_CHANNEL, "payload": payload},
        )
    notified(connection, payload)


def notified(connection: AsyncConnection, payload: str) -> None:
    """Record that this transaction woke ``payload``'s workers (a statement of the
    caller's own sent the ``NOTIFY``): this process's wake once it commits."""
    _woken(connection).add(payload)


def _woken(connection: AsyncConnection) -> set[str]:
    woken: set[str] = connection.info.setdefault(WAKE_FLAG, set())
    return woken


async def enqueue(
    connection: AsyncConnection, kind: JobKind, subject_id: str, run_at: datetime, now: datetime
) -> str:
    """Add a job in the caller's transaction; idle workers wake when it commits."""
    return (await enqueue_many(connection, kind, [subject_id], run_at, now))[0]


async def enqueue_many(
    connection: AsyncConnection,
    kind: JobKind,
    subject_ids: list[str],
    run_at: datetime,
    now: datetime,
) -> list[str]:
    """Add one job of ``kind`` per subject in one statement; their ids."""
    job_ids = [str(uuid.uuid4()) for _ in subject_ids]
    await connection.execute(
        jobs.insert(),
        [
            {
                "id": job_id,
                "kind": kind.value,
                "subject_id": subject_id,
                "run_at": run_at,
                "created_at": now,
            }
            for job_id, subject_id in zip(job_ids, subject_ids, strict=True)
        ],
    )
    await wake_workers(connection, wakeups.JOBS)
    return job_ids


async def claim(
    connection: AsyncConnection,
    *,
    kinds: Iterable[JobKind],
    worker: str,
    limit: int,
    lease: timedelta,
    now: datetime,
) -> list[Job]:
    """Take up to ``limit`` due jobs of these kinds, leased to ``worker`` until now + lease."""
    due = (
        select(jobs.c.id)
        .where(
            jobs.c.kind.in_([kind.value for kind in kinds]),
            jobs.c.run_at <= now,
            (jobs.c.locked_until.is_(None)) | (jobs.c.locked_until < now),
        )
        .order_by(jobs.c.run_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(jobs)
        .where(jobs.c.id.in_(due.scalar_subquery()))
        .values(locked_by=worker, locked_until=now + lease, attempts=jobs.c.attempts + 1)
        .returning(jobs.c.id, jobs.c.kind, jobs.c.subject_id, jobs.c.run_at, jobs.c.attempts)
    )
    rows = (await connection.execute(statement)).all()
    return [
        Job(
            id=row.id,
            kind=JobKind(row.kind),
            subject_id=row.subject_id,
            run_at=row.run_at,
            attempts=row.attempts,
            locked_by=worker,
        )
        for row in sorted(rows, key=lambda row: row.run_at)
    ]


async def extend_lease(connection: AsyncConnection, job: Job, *, until: datetime) -> bool:
    """Renew the lease; False when the job is no longer this worker's."""
    result = await connection.execute(
        update(jobs)
        .where(jobs.c.id == job.id, jobs.c.locked_by == job.locked_by)
        .values(locked_until=until)
    )
    return result.rowcount == 1


async def finish(connection: AsyncConnection, job_id: str) -> None:
    """Remove a job that is done, in the transaction that recorded its effect."""
    await connection.execute(delete(jobs).where(jobs.c.id == job_id))


async def retry_at(connection: AsyncConnection, job: Job, *, run_at: datetime, error: str) -> None:
    """Release a job to run again at ``run_at``."""
    await connection.execute(
        update(jobs)
        .where(jobs.c.id == job.id)
        .values(run_at=run_at, locked_by=None, locked_until=None, last_error=error[:4000])
    )


async def release(connection: AsyncConnection, job: Job) -> None:
    """Give a job back untouched (on shutdown), to be claimed again at once."""
    await connection.execute(
        update(jobs)
        .where(jobs.c.id == job.id, jobs.c.locked_by == job.locked_by)
        .values(locked_by=None, locked_until=None, attempts=jobs.c.attempts - 1)
    )


async def release_all(
    connection: AsyncConnection, *, of_jobs: bool = True, of_deliveries: bool = True
) -> int:
    """Release every lease of jobs, of deliveries or of both: only at the start of the one
    process of an embedded SQLite gateway that runs those lanes, where a lease still held
    is a crash's leftover."""
    released = 0
    for table in [jobs] * of_jobs + [deliveries] * of_deliveries:
        result = await connection.execute(
            update(table)
            .where(table.c.locked_by.is_not(None))
            .values(locked_by=None, locked_until=None)
        )
        released += result.rowcount
    return released


async def delete_for_subject(connection: AsyncConnection, subject_id: str) -> None:
    """Drop every job about one subject (when it is purged)."""
    await connection.execute(delete(jobs).where(jobs.c.subject_id == subject_id))


async def next_run_at(connection: AsyncConnection, kinds: Iterable[JobKind]) -> datetime | None:
    """When the earliest job of these kinds is due, leased or not."""
    query = select(func.min(jobs.c.run_at)).where(jobs.c.kind.in_([k.value for k in kinds]))
    value: datetime | None = (await connection.execute(query)).scalar_one_or_none()
    return value


async def count_by_kind(connection: AsyncConnection) -> dict[str, int]:
    """How many jobs of each kind are queued."""
    rows = (await connection.execute(select(jobs.c.kind, func.count()).group_by(jobs.c.kind))).all()
    return {row[0]: int(row[1]) for row in rows}
