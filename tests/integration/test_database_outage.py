"""A database that does not answer is ``DatabaseUnavailable``, and readiness says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import free_port
from wagate.blobs import LocalBlobStore
from wagate.domain.errors import DatabaseUnavailable
from wagate.services.operations import OperationsService
from wagate.store import Database


@pytest.fixture
async def unreachable() -> Database:
    """A PostgreSQL URL on a port of 127.0.0.1 that nothing listens on."""
    return Database(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/wagate")


async def test_a_refused_connection_is_database_unavailable(unreachable: Database) -> None:
    try:
        with pytest.raises(DatabaseUnavailable, match="cannot connect: ConnectionRefusedError"):
            await unreachable.ping()
        with pytest.raises(DatabaseUnavailable):
            async with unreachable.transaction():
                pass
    finally:
        await unreachable.close()


async def test_an_error_inside_a_transaction_is_not_taken_for_an_outage(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'wagate.db'}")
    try:
        with pytest.raises(FileNotFoundError):
            async with database.transaction():
                (tmp_path / "missing").read_bytes()
    finally:
        await database.close()


async def test_readiness_names_what_is_wrong(unreachable: Database, tmp_path: Path) -> None:
    operations = OperationsService(unreachable, LocalBlobStore(tmp_path / "media"))
    try:
        checks = await operations.readiness()
    finally:
        await unreachable.close()
    assert checks["database"].startswith("unreachable: DatabaseUnavailable: cannot connect: ")
    assert "ConnectionRefusedError" in checks["database"]
    assert checks["migrations"] == "unknown"
    assert checks["storage"] == "ok"
