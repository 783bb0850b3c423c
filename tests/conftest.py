"""Fixtures shared by every tier."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.support import temporary_postgres_database

# Tests never assert on timings: the suite shares two cores with the processes the
# end-to-end tests start, so neither a slow example nor slow generation is a failure.
settings.register_profile("wagate", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("wagate")


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on the embedded SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'wagate.db'}"
    else:
        with temporary_postgres_database() as url:
            yield url
