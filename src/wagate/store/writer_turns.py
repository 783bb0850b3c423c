"""Processes writing one SQLite file take turns, handing over at once and in order.

SQLite lets one writer in at a time; a writer that finds the file locked
sleeps and retries (1, 2, 5, 10 … 100 ms), so under load a waiting process
loses many milliseconds per transaction and a busy one can win the lock over
and over. The API and its worker child would then slow each other's every
commit. Instead, each process takes its turn through two lock files before
``BEGIN IMMEDIATE``: the kernel wakes the next writer the moment the turn is
released, and the queue lock makes a process that just wrote wait behind one
that was already waiting, so two processes alternate. A process that dies
holding a lock loses it with its file descriptors.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

__all__ = ["WriterTurns"]


class WriterTurns:
    """The turn to write a SQLite database file, shared by every process that opens it."""

    def __init__(self, database_path: Path) -> None:
        self._queue = os.open(f"{database_path}-writers.queue", os.O_RDWR | os.O_CREAT, 0o600)
        self._turn = os.open(f"{database_path}-writers.turn", os.O_RDWR | os.O_CREAT, 0o600)

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold the turn to write. Only one task of a process may ask at a time (the
        caller's single database connection sees to that)."""
        await _lock(self._queue)
        try:
            await _lock(self._turn)
        finally:
            fcntl.flock(self._queue, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(self._turn, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the lock files (a turn still held is released with them)."""
        for fd in (self._queue, self._turn):
            os.close(fd)


async def _lock(fd: int) -> None:
    """Lock ``fd`` exclusively: at once when it is free, else waiting in a thread."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    waiting = asyncio.get_running_loop().run_in_executor(None, fcntl.flock, fd, fcntl.LOCK_EX)
    try:
        await asyncio.shield(waiting)
    except asyncio.CancelledError:
        # The thread goes on waiting and will get the lock: give it back, or nobody could.
        await waiting
        fcntl.flock(fd, fcntl.LOCK_UN)
        raise
