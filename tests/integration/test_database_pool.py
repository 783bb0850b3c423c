"""PostgreSQL connections: reused under a burst, not reopened; replaced once the server
ends them."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from tests.support import temporary_postgres_database
from wagate.store import Database
from wagate.store.database import POSTGRES_POOL_SIZE

pytestmark = pytest.mark.postgres


async def backends_serving(
    url: str, bursts: int, width: int, pool_size: int = POSTGRES_POOL_SIZE
) -> set[int]:
    """The server processes that ran ``bursts`` rounds of ``width`` concurrent transactions."""
    database = Database(url, pool_size=pool_size)
    backends: set[int] = set()

    async def one() -> None:
        async with database.transaction() as connection:
            pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            backends.add(pid)
            await asyncio.sleep(0.01)

    try:
        for _ in range(bursts):
            await asyncio.gather(*(one() for _ in range(width)))
    finally:
        await database.close()
    return backends


def test_a_burst_wider_than_the_pool_reuses_its_connections() -> None:
    with temporary_postgres_database() as url:
        backends = asyncio.run(backends_serving(url, bursts=3, width=2 * POSTGRES_POOL_SIZE))
    assert len(backends) <= POSTGRES_POOL_SIZE, "connections were opened for each burst"


def test_the_pool_size_is_a_setting() -> None:
    with temporary_postgres_database() as url:
        backends = asyncio.run(backends_serving(url, bursts=2, width=12, pool_size=3))
    assert len(backends) <= 3


async def serving_backend(database: Database) -> int:
    async with database.transaction() as connection:
        pid: int = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    return pid


async def terminated_then_served(url: str) -> tuple[int, int]:
    """The backend of a pooled connection, ended by the server (as a restart or an
    administrator does), and the backend of the next transaction."""
    database, admin = Database(url, pool_size=1), Database(url, pool_size=1)
    try:
        ended = await serving_backend(database)
        async with admin.transaction() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": ended})
        gone = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
        async with asyncio.timeout(60):
            while True:
                async with admin.transaction() as connection:
                    if not (await connection.execute(gone, {"pid": ended})).scalar_one():
                        break
                await asyncio.sleep(0.05)
        return ended, await serving_backend(database)
    finally:
        await database.close()
        await admin.close()


def test_a_connection_the_server_ended_is_replaced_when_taken_from_the_pool() -> None:
    with temporary_postgres_database() as url:
        ended, serving = asyncio.run(terminated_then_served(url))
    assert serving != ended
