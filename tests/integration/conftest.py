"""Integration fixtures: the real services on a real database and a real blob directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from wagate.blobs import LocalBlobStore
from wagate.domain.tenancy import ApiVersion
from wagate.domain.uploads import UploadPolicy
from wagate.services.tenancy import TenancyService, WabaAccess
from wagate.services.uploads import UploadService
from wagate.store import Database

POLICY = UploadPolicy(
    max_bytes=1024 * 1024,
    rate_limit=20,
    rate_window=timedelta(hours=1),
    handle_ttl=timedelta(hours=24),
    retention=timedelta(days=3),
    idempotency_ttl=timedelta(hours=24),
)


@dataclass
class Services:
    database: Database
    blobs: LocalBlobStore
    tenancy: TenancyService
    uploads: UploadService
    access: WabaAccess
    api_key: str


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated database of each kind (modules that need more set up define their own)."""
    database = Database(database_url)
    await database.upgrade_schema()
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def worker_database(database_url: str) -> AsyncIterator[Database]:
    """A migrated database of each kind, opened as a worker opens it (statements in the
    event loop), holding the account SID1."""
    database = Database(database_url, statements_in_loop=True)
    await database.upgrade_schema()
    await TenancyService(database).create_account("SID1", "C1", api_key="k")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def services(database_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    database = Database(database_url)
    await database.upgrade_schema()
    blobs = LocalBlobStore(tmp_path / "media")
    tenancy = TenancyService(database)
    api_key = await tenancy.create_account("SID1", "CID1")
    await tenancy.create_waba("SID1", "WABA1")
    access = await tenancy.authorize_waba("SID1", api_key, "WABA1", api_version=ApiVersion.V2)
    try:
        yield Services(
            database, blobs, tenancy, UploadService(database, blobs, POLICY), access, api_key
        )
    finally:
        await database.close()
