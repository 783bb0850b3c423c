"""SQLite statements run in the event loop's own thread, not in a driver thread.

aiosqlite runs every call (a cursor, an execute, a fetch, a close) in a
thread of its own and hands the result back to the event loop: three or
four round trips per statement, each waiting for the loop to come round.
In a worker sending hundreds of callbacks at once the loop is busy, and a
transaction of five statements held the writer turn (which every other
process waits for) several times longer than its SQL took.

SQLite is a library, not a server: a statement is a function call that
returns in microseconds to a few milliseconds, and no writer here waits for
SQLite's lock (writers take turns first, see :mod:`.writer_turns`; readers in
WAL mode never wait). So this connection makes the same calls as aiosqlite's,
with the same interface that SQLAlchemy's aiosqlite dialect drives, but runs
them at once in the calling thread: an ``await`` on it never leaves the loop.
The loop stands still while a statement runs, which suits a worker (its
statements are its work, and each is bounded) and not the API, whose every
request would wait behind a long read: see ``Database(statements_in_loop=)``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["InlineConnection", "InlineCursor", "connector"]


class InlineCursor:
    """An aiosqlite cursor's interface over a :class:`sqlite3.Cursor`."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        if size is None:
            return self._cursor.fetchmany()
        return self._cursor.fetchmany(size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _RunAtOnce:
    """Stands in for aiosqlite's request queue, which SQLAlchemy's dialect uses to
    set the isolation level: runs the request at once."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class InlineConnection:
    """An aiosqlite connection's interface over a :class:`sqlite3.Connection` used
    only from the thread that runs the event loop."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection
        self._tx = _RunAtOnce()

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close at once (also SQLAlchemy's forced termination); again, nothing."""
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level


def connector(path: str) -> Callable[[], Any]:
    """An ``async_creator`` for SQLAlchemy: opens ``path`` as an inline connection.

    Transactions are begun by SQLAlchemy (``isolation_level=None``: the driver
    starts none of its own).
    """

    async def connect() -> InlineConnection:
        return InlineConnection(
            sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        )

    return connect
