"""One embedded server per data directory: a lock file, held for the server's life.

Two ``wagate serve`` (or ``wagate worker``) processes on one SQLite database
would each believe they are its only worker: each releases the other's
leases at start and runs the same jobs. So a server on SQLite takes an
exclusive ``flock`` on a file beside the database and writes its pid and
command line in it; a second one finds the lock taken, reads who holds it,
and exits at once with that in its message. The worker children of ``wagate
serve`` inherit the parent's open lock file (``--lock-fd``) and hold the
same lock: it is part of the same server, and the lock lasts as long as any
process of it does. The kernel releases the lock when the last of them exits,
however it ends. PostgreSQL deployments take no lock: any number of
processes share one database.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from wagate.cli.running import fail

if TYPE_CHECKING:
    from wagate.settings import Settings


class ServerAlreadyRunning(Exception):
    """Another server holds the data directory's lock; the message names it."""


@dataclass
class ServerLock:
    """The lock of one data directory, held by this process (and its worker children)."""

    path: Path
    fd: int

    def release(self) -> None:
        """Give the lock up (it also goes when the process ends)."""
        with contextlib.suppress(OSError):
            os.close(self.fd)


def lock_path(settings: Settings) -> Path | None:
    """The lock file of the configured SQLite database; None for PostgreSQL (or memory)."""
    database = settings.sqlite_path()
    if database is None:
        return None
    database = database.resolve()
    return database.with_name(database.name + ".server.lock")


def acquire(settings: Settings) -> ServerLock | None:
    """Take the data directory's lock for this process; None on PostgreSQL.

    :class:`ServerAlreadyRunning` when another server holds it.
    """
    path = lock_path(settings)
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read(fd)
        os.close(fd)
        raise ServerAlreadyRunning(
            f"another wagate server is running on {path.parent} ({holder}); stop it first, "
            "or give this one another WAGATE_DATA_DIR"
        ) from None
    os.ftruncate(fd, 0)
    started = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    command = " ".join(["wagate", *sys.argv[1:]])
    os.pwrite(fd, f"pid {os.getpid()}: {command}, started {started}\n".encode(), 0)
    return ServerLock(path, fd)


def adopt(fd: int, settings: Settings) -> ServerLock:
    """The lock the parent server passed down as ``fd`` (its worker children hold it too).

    :class:`ServerAlreadyRunning` when ``fd`` is not this data directory's lock held.
    """
    path = lock_path(settings)
    try:
        same = path is not None and os.path.samestat(os.fstat(fd), os.stat(path))
        # On the open file the parent locked, this succeeds: the lock is already ours.
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        same = False
    if not same or path is None:
        raise ServerAlreadyRunning(f"file descriptor {fd} is not the lock of this data directory")
    return ServerLock(path, fd)


def hold(settings: Settings, lock_fd: int | None = None) -> ServerLock | None:
    """This server's lock (adopted from the parent when ``lock_fd`` is given); a server
    already running on the data directory ends the command with its message."""
    try:
        return adopt(lock_fd, settings) if lock_fd is not None else acquire(settings)
    except ServerAlreadyRunning as exc:
        fail(str(exc))


def refuse_api_alone(settings: Settings) -> None:
    """End ``wagate serve --no-worker`` on SQLite with what to run instead.

    On SQLite one server per data directory holds the lock: an API without its
    worker would leave nothing to process what it accepts, and no ``wagate
    worker`` could join it on the same data directory.
    """
    path = lock_path(settings)
    if path is not None:
        fail(
            f"--no-worker needs PostgreSQL: on SQLite ({path.parent}) one `wagate serve` runs "
            "the API and its worker; run `wagate serve` without --no-worker, or set "
            "WAGATE_DATABASE_URL to a PostgreSQL database to run the API and `wagate worker` "
            "processes apart"
        )


def _read(fd: int) -> str:
    with contextlib.suppress(OSError):
        text = os.pread(fd, 4096, 0).decode("utf-8", errors="replace").strip()
        if text:
            return text
    return "its pid is not written yet"
