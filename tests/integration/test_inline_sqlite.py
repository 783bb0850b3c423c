"""A worker's SQLite statements run in the event loop's thread, and behave as the
driver thread's do: commit, rollback, constraint errors, reads beside a writer."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support import SECOND_ACCOUNT_INSERT
from wagate.domain.errors import Conflict
from wagate.services.tenancy import TenancyService
from wagate.store import Database


async def executing_thread(connection: AsyncConnection) -> int:
    """The thread in which SQLite runs this connection's statements."""
    raw: Any = (await connection.get_raw_connection()).driver_connection
    sqlite_connection = raw._conn
    sqlite_connection.create_function("executing_thread", 0, threading.get_ident)
    return int((await connection.execute(text("SELECT executing_thread()"))).scalar_one())


@pytest.mark.parametrize(("in_loop", "same_thread"), [(True, True), (False, False)])
async def test_statements_run_in_the_loop_only_when_asked(
    tmp_path: Path, in_loop: bool, same_thread: bool
) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}", statements_in_loop=in_loop)
    try:
        async with database.transaction() as connection:
            thread = await executing_thread(connection)
        assert (thread == threading.get_ident()) is same_thread
    finally:
        await database.close()


async def test_commits_rollbacks_and_constraints_hold(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"
    database = Database(url, statements_in_loop=True)
    other = Database(url)
    try:
        await database.upgrade_schema()
        tenancy = TenancyService(database)
        await tenancy.create_account("SID1", "C1", api_key="k1")

        # The driver's IntegrityError reaches the store, which makes it a Conflict.
        with pytest.raises(Conflict):
            await tenancy.create_account("SID1", "C1", api_key="k2")

        async def insert_then_fail() -> None:
            async with database.transaction() as connection:
                await connection.execute(SECOND_ACCOUNT_INSERT)
                raise RuntimeError("rolled back")

        with pytest.raises(RuntimeError):
            await insert_then_fail()

        # What another process (its own engine, aiosqlite's thread) reads is what committed.
        async with other.reading() as connection:
            sids = set((await connection.execute(text("SELECT sid FROM accounts"))).scalars())
        assert sids == {"SID1"}
        async with database.reading() as connection:
            rows = (await connection.execute(text("SELECT sid FROM accounts"))).scalars().all()
        assert rows == ["SID1"]
    finally:
        await other.close()
        await database.close()
