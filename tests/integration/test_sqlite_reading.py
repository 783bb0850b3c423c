"""On a SQLite file, a reading transaction goes on while another process holds the
writer turn, and sees what was committed, not what is being written."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from tests.support import PATIENCE, SECOND_ACCOUNT_INSERT
from wagate.services.tenancy import TenancyService
from wagate.store import Database


async def accounts(database: Database) -> set[str]:
    async with database.reading() as connection:
        return set((await connection.execute(text("SELECT sid FROM accounts"))).scalars())


async def test_a_reader_needs_neither_the_writer_turn_nor_the_write_lock(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wagate.db'}"
    writer, reader = Database(url), Database(url)  # as two processes of one server would
    try:
        await writer.upgrade_schema()
        await TenancyService(writer).create_account("SID1", "C1", api_key="k1")
        writing = asyncio.Event()
        read_while_writing = asyncio.Event()

        async def hold_the_turn() -> None:
            async with writer.transaction() as connection:
                await connection.execute(SECOND_ACCOUNT_INSERT)
                writing.set()
                # Held until the reader has read: a reader that waited for the turn or the
                # lock would never get here, and the test would time out.
                await read_while_writing.wait()

        holder = asyncio.create_task(hold_the_turn())
        await asyncio.wait_for(writing.wait(), PATIENCE)
        assert await asyncio.wait_for(accounts(reader), PATIENCE) == {"SID1"}
        read_while_writing.set()
        await asyncio.wait_for(holder, PATIENCE)
        assert await accounts(reader) == {"SID1", "SID2"}
    finally:
        await writer.close()
        await reader.close()
