from __future__ import annotations

from wagate.store import Database


async def test_migrations_apply_once_and_report_current(empty_database_url: str) -> None:
    database = Database(empty_database_url)
    try:
        assert not await database.schema_is_current()
        await database.upgrade_schema()
        assert await database.schema_is_current()
        await database.upgrade_schema()  # a second run is a no-op
        assert await database.schema_is_current()
        await database.ping()
    finally:
        await database.close()
