"""On PostgreSQL the worker analyzes the pipeline's tables once they changed enough, without
waiting for autovacuum's next round."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support import temporary_postgres_database
from wagate.domain.clock import utcnow
from wagate.domain.inbox import InboxEntry, InboxKind
from wagate.services.planner_statistics import CHANGED_ROWS, PlannerStatistics
from wagate.store import Database
from wagate.store import inbox as inbox_rows

pytestmark = pytest.mark.postgres


@pytest.fixture
def database_url() -> Iterator[str]:
    """PostgreSQL only, for the integration suite's ``database`` fixture."""
    with temporary_postgres_database() as url:
        yield url


async def last_analyzed(database: Database, table: str) -> object:
    async with database.transaction() as connection:
        result = await connection.execute(
            text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = :table"),
            {"table": table},
        )
    return result.scalar_one()


async def test_a_table_that_changed_enough_is_analyzed_once(database: Database) -> None:
    statistics = PlannerStatistics(database)
    assert statistics.needed
    assert await statistics.refresh() == []
    entries = [
        InboxEntry(InboxKind.META_WEBHOOK, 1, "PNID1", "{}", 1) for _ in range(CHANGED_ROWS + 1)
    ]
    async with database.transaction() as connection:
        await inbox_rows.append(connection, entries, utcnow())
    # The server counts changes a little after they commit.
    async with asyncio.timeout(60):
        while not (analyzed := await statistics.refresh()):
            await asyncio.sleep(0.1)
    assert analyzed == ["inbox"]
    assert await last_analyzed(database, "inbox") is not None
    assert await statistics.refresh() == []


async def test_sqlite_needs_none(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'wagate.db'}")
    try:
        assert not PlannerStatistics(database).needed
        assert await PlannerStatistics(database).refresh() == []
    finally:
        await database.close()
