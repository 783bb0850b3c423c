from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory

from wagate.store import Database, revisions
from wagate.store.migrate import alembic_config


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


def test_the_newest_revision_read_from_the_scripts_is_alembics_head() -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revisions.newest_revision() == head


def test_history_not_stated_plainly_is_left_to_alembic(tmp_path: Path) -> None:
    (tmp_path / "0001_a.py").write_text('revision = "0001"\ndown_revision = None\n')
    (tmp_path / "0002_b.py").write_text('revision = "0002"\ndown_revision = "0001"\n')
    assert revisions.head_of(tmp_path) == "0002"
    (tmp_path / "0003_c.py").write_text('revision = "0003"\ndown_revision = "0001"\n')
    assert revisions.head_of(tmp_path) is None  # two heads
    (tmp_path / "0003_c.py").write_text('revision = "0003"\ndown_revision = ("0001", "0002")\n')
    assert revisions.head_of(tmp_path) is None  # a merge


async def test_a_database_behind_the_newest_revision_is_migrated(
    empty_database_url: str,
) -> None:
    database = Database(empty_database_url)
    try:
        async with database.transaction() as connection:
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0013"))
        assert not await database.schema_is_current()
        await database.upgrade_schema()
        assert await database.schema_is_current()
        async with database.reading() as connection:
            assert await revisions.recorded_revision(connection) == revisions.newest_revision()
    finally:
        await database.close()
