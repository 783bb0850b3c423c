"""Waking idle workers of other processes: PostgreSQL ``LISTEN`` on the jobs channel."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import asyncpg
import structlog
from sqlalchemy.engine import make_url

from wagate.domain import wakeups
from wagate.store.queue import NOTIFY_CHANNEL

__all__ = ["RECONNECT_DELAY_SECONDS", "JobListener"]

log = structlog.get_logger("wagate.store")

RECONNECT_DELAY_SECONDS = 1.0


class JobListener:
    """Calls ``on_notify`` with the wake-up channel of any work added anywhere on the
    PostgreSQL database (``jobs``, ``inbox``, ``deliveries``).

    Holds one connection of its own outside the pool, and reconnects after a
    loss; while it is down, workers still find their jobs by polling.
    """

    def __init__(self, database_url: str, on_notify: Callable[[set[str]], None]) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._on_notify = on_notify

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until ``stop`` is set."""
        while not stop.is_set():
            connection: Any = None
            try:
                connection = await asyncpg.connect(self._dsn, timeout=5)
                lost = asyncio.Event()
                connection.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await connection.add_listener(NOTIFY_CHANNEL, self._notified)
                self._on_notify(set(wakeups.ALL))  # anything added while we were away
                await _first_of(stop.wait(), lost.wait())
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                log.warning("jobs.listen.lost", error=str(exc))
            finally:
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await connection.close(timeout=2)
            if not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), RECONNECT_DELAY_SECONDS)

    def _notified(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        self._on_notify({payload})


async def _first_of(*waits: Any) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
