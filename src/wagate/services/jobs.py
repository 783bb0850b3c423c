"""The job queue as the worker uses it: claim, keep, retry, give back."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from wagate.domain.clock import Clock, utcnow
from wagate.domain.jobs import Job, JobKind
from wagate.store import Database, queue

__all__ = ["JobQueue"]


class JobQueue:
    """Typed queue operations, each in its own short transaction."""

    def __init__(self, database: Database, clock: Clock = utcnow) -> None:
        self._db = database
        self._clock = clock

    async def claim(
        self, kinds: Iterable[JobKind], *, worker: str, limit: int, lease: timedelta
    ) -> list[Job]:
        """Up to ``limit`` due jobs, leased to ``worker``."""
        async with self._db.transaction() as connection:
            return await queue.claim(
                connection, kinds=kinds, worker=worker, limit=limit, lease=lease, now=self._clock()
            )

    async def extend_lease(self, job: Job, lease: timedelta) -> bool:
        """Keep a running job; False when it was lost to another worker."""
        async with self._db.transaction() as connection:
            return await queue.extend_lease(connection, job, until=self._clock() + lease)

    async def retry_later(self, job: Job, delay: timedelta, error: str) -> None:
        """Run the job again after ``delay``."""
        async with self._db.transaction() as connection:
            await queue.retry_at(connection, job, run_at=self._clock() + delay, error=error)

    async def release(self, job: Job) -> None:
        """Hand an unfinished job back for another worker to take at once."""
        async with self._db.transaction() as connection:
            await queue.release(connection, job)

    async def release_all(self, *, of_jobs: bool = True, of_deliveries: bool = True) -> int:
        """Release every lease of jobs, deliveries or both (SQLite start-up only, in the
        one process that runs those lanes)."""
        async with self._db.transaction() as connection:
            return await queue.release_all(connection, of_jobs=of_jobs, of_deliveries=of_deliveries)

    async def next_run_at(self, kinds: Iterable[JobKind]) -> datetime | None:
        """When the next job of these kinds is due."""
        async with self._db.transaction() as connection:
            return await queue.next_run_at(connection, kinds)
