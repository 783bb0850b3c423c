"""Fixtures shared by every tier."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.support import temporary_postgres_database
from wagate.store import Database

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
    # Others may pass through, not list: a server run as another user (PostgreSQL,
    # when the tests run as root) reaches the directory made for it inside.
    os.chmod(directory, 0o711)
    os.environ[_RUN_TMPDIR] = f"{os.getpid()}:{directory}"
    os.environ["TMPDIR"] = directory
    tempfile.tempdir = None  # computed again from TMPDIR


def pytest_unconfigure(config: pytest.Config) -> None:
    owner, _, directory = os.environ.get(_RUN_TMPDIR, "").partition(":")
    if owner == str(os.getpid()):
        shutil.rmtree(directory, ignore_errors=True)


#: The longest modules (each well over a minute on 2 cores), handed to the test processes
#: first: ``--dist loadfile`` gives out modules in collection order, and one of these
#: started last would run on alone after the others have finished.
LONGEST_MODULES = (
    "tests/e2e/test_status_order.py",
    "tests/e2e/test_command_line.py",
    "tests/e2e/test_callback_operations.py",
    "tests/e2e/test_transfer.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest modules' tests first, every module's own order kept."""
    rank = {name: index for index, name in enumerate(LONGEST_MODULES)}

    def position(item: pytest.Item) -> int:
        return rank.get(item.nodeid.partition("::")[0], len(rank))

    items.sort(key=position)


async def _migrate(url: str) -> None:
    database = Database(url)
    try:
        await database.upgrade_schema()
    finally:
        await database.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per test process, for tests to copy."""
    path = tmp_path_factory.mktemp("schema") / "template.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    # Closing the last connection checkpoints the WAL into the file: the file is all of it.
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """The name of a PostgreSQL database migrated once per test process, for tests to copy."""
    with temporary_postgres_database() as url:
        asyncio.run(_migrate(url))
        yield url.rsplit("/", 1)[1]


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on the embedded SQLite file and on a PostgreSQL database, each a copy
    of a migrated template: migrating takes longer than copying."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, tmp_path / "wagate.db")
        yield f"sqlite+aiosqlite:///{tmp_path / 'wagate.db'}"
    else:
        with temporary_postgres_database(request.getfixturevalue("postgres_template")) as url:
            yield url


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty SQLite file or PostgreSQL database, not migrated."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'wagate.db'}"
    else:
        with temporary_postgres_database() as url:
            yield url
