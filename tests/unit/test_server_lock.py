"""The data directory's lock: one holder, who is named to the next, and none on PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wagate.cli.server_lock import ServerAlreadyRunning, acquire, adopt
from wagate.settings import Settings


def test_a_second_holder_is_refused_and_told_the_first(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = acquire(settings)
    assert first is not None
    assert first.path == tmp_path.resolve() / "wagate.db.server.lock"
    with pytest.raises(ServerAlreadyRunning, match=f"pid {os.getpid()}: wagate"):
        acquire(settings)
    assert adopt(first.fd, settings).fd == first.fd  # the child's way: the same open file
    first.release()
    again = acquire(settings)
    assert again is not None
    again.release()


def test_a_descriptor_that_is_not_the_lock_is_not_adopted(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    other = os.open(tmp_path / "other", os.O_RDWR | os.O_CREAT)
    try:
        with pytest.raises(ServerAlreadyRunning):
            adopt(other, settings)
    finally:
        os.close(other)


def test_postgresql_takes_no_lock(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="postgresql+asyncpg://u@127.0.0.1/db")
    assert acquire(settings) is None
    assert list(tmp_path.iterdir()) == []
