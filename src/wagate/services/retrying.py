"""Failed calls to Meta and failed runs of a job, retried as :class:`RetryPolicy` decides.

Upload transfers and media downloads run the same way: load what the job is about
(:func:`load_or_finish`), and fail the same way: a permanent error from Meta
gives up at once, a transient one is tried again after the policy's wait, in place
(:func:`retried_in_place`, a short call within a run) or by running the job again
later (:func:`retry_or_give_up`), until the last try or the deadline; giving up a
job records the job's own outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import structlog

from wagate.domain.clock import Clock
from wagate.domain.errors import MetaError, MetaPermanentError
from wagate.domain.jobs import Job
from wagate.domain.retry import RetryPolicy
from wagate.store import Connection, Database, queue

__all__ = ["load_or_finish", "retried_in_place", "retry_or_give_up"]

T = TypeVar("T")


async def load_or_finish(
    database: Database, job: Job, load: Callable[[Connection], Awaitable[T | None]]
) -> T | None:
    """What the job works on, as ``load`` reads it; None, with the job finished, when
    ``load`` finds nothing left for it to do (its subject is gone or already done)."""
    async with database.transaction() as connection:
        subject = await load(connection)
        if subject is None:
            await queue.finish(connection, job.id)
        return subject


async def retry_or_give_up(
    database: Database,
    job: Job,
    error: MetaError,
    policy: RetryPolicy,
    *,
    give_up: Callable[[MetaError], Awaitable[None]],
    clock: Clock,
    log: structlog.stdlib.BoundLogger,
    topic: str,
    past_deadline: bool = False,
) -> None:
    """Handle ``job``'s run that ended in ``error``: ``give_up(error)`` (which
    finishes the job) or put the job back for later, logging ``<topic>.failed``, ``.gave_up`` or
    ``.retry_later``."""
    permanent = isinstance(error, MetaPermanentError)
    decision = policy.decide(max(1, job.attempts), permanent=permanent, past_deadline=past_deadline)
    if not decision.retry or decision.delay is None:
        log.warning(f"{topic}.failed" if permanent else f"{topic}.gave_up", error=str(error))
        await give_up(error)
        return
    log.info(f"{topic}.retry_later", error=str(error), delay=round(decision.delay, 2))
    async with database.transaction() as connection:
        await queue.retry_at(
            connection, job, run_at=clock() + timedelta(seconds=decision.delay), error=str(error)
        )


async def retried_in_place(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    log: structlog.stdlib.BoundLogger,
    event: str,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """What ``call`` returns, tried again after each transient :class:`MetaError` as
    ``policy`` decides (logged as ``event``); the error that ends it is raised."""
    failures = 0
    while True:
        try:
            return await call()
        except MetaError as exc:
            failures += 1
            decision = policy.decide(failures, permanent=isinstance(exc, MetaPermanentError))
            if not decision.retry or decision.delay is None:
                raise
            log.info(event, error=str(exc), failures=failures, delay=decision.delay)
            await sleep(decision.delay)
