"""Fixtures shared by every tier."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.support import temporary_postgres_database

# Tests never assert on timings: the suite shares two cores with the processes the
# end-to-end tests start, so neither a slow example nor slow generation is a failure.
settings.register_profile("wagate", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("wagate")

#: Names the temporary directory of a test run, and the process that made it.
_RUN_TMPDIR = "PYTEST_RUN_TMPDIR"


def pytest_configure(config: pytest.Config) -> None:
    """Every temporary file of the run, the processes' it starts included, in one directory.

    The directory is made once per run (the test workers inherit it) and removed at its
    end, so that a process a test kills leaves nothing in the machine's /tmp.
    """
    if _RUN_TMPDIR in os.environ:
        return
    directory = tempfile.mkdtemp(prefix="wagate-tests-")
    os.environ[_RUN_TMPDIR] = f"{os.getpid()}:{directory}"
    os.environ["TMPDIR"] = directory
    tempfile.tempdir = None  # computed again from TMPDIR


def pytest_unconfigure(config: pytest.Config) -> None:
    owner, _, directory = os.environ.get(_RUN_TMPDIR, "").partition(":")
    if owner == str(os.getpid()):
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on the embedded SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'wagate.db'}"
    else:
        with temporary_postgres_database() as url:
            yield url
