"""The database handle: one async engine, transactions, and the schema's version."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import (
    AbstractAsyncContextManager,
    AsyncExitStack,
    asynccontextmanager,
    nullcontext,
)
from pathlib import Path
from typing import Any, TypeAlias

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from wagate import metrics
from wagate.domain.errors import DatabaseUnavailable
from wagate.store import inline_sqlite, revisions
from wagate.store.queue import WAKE_FLAG
from wagate.store.writer_turns import WriterTurns

__all__ = ["POSTGRES_POOL_SIZE", "Connection", "Database", "connect_failure", "statement_failure"]

#: A transaction's connection, as :class:`Database` hands it out. Services hold it only
#: to pass it back to the store's functions; what it is underneath is the store's affair.
Connection: TypeAlias = AsyncConnection

# Any number of processes may start on a fresh PostgreSQL database at once;
# this lock makes them migrate one after the other.
_MIGRATION_LOCK_KEY = 0x7761_6761_7465  # "wagate"
#: The execution option of a connection whose transaction only reads (SQLite: no write lock).
_READ_ONLY = "wagate_read_only"
#: Connections one process holds open to PostgreSQL by default (more wait for one).
POSTGRES_POOL_SIZE = 20


class Database:
    """An async engine for SQLite (the embedded default) or PostgreSQL.

    On SQLite every transaction starts with ``BEGIN IMMEDIATE`` on a single
    pooled connection, so writers queue in order inside the process instead of
    racing for the file lock; the file runs in WAL mode with
    ``synchronous=NORMAL``. On PostgreSQL, row locks do the same job.

    ``statements_in_loop`` runs SQLite's statements in the event loop's thread
    (:mod:`.inline_sqlite`) instead of aiosqlite's: for a worker, whose
    transactions are its work and whose every other process waits while it holds
    the writer turn. The API keeps the driver thread, so that a long read never
    holds up acknowledging a webhook.
    """

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        pool_size: int = POSTGRES_POOL_SIZE,
        statements_in_loop: bool = False,
    ) -> None:
        parsed = make_url(url)
        self.url = url
        self.dialect = parsed.get_backend_name()
        # hide_parameters: an error's message (which may be logged) never carries a secret.
        options: dict[str, Any] = {
            "echo": echo,
            "hide_parameters": True,
        }
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            options.update(pool_size=1, max_overflow=0, pool_timeout=60)
            if statements_in_loop:
                options["async_creator"] = inline_sqlite.connector(parsed.database or ":memory:")
        else:
            # Connections are kept: an "overflow" one would be opened for a burst and
            # closed after each use, a new server process and statement cache every time.
            options.update(pool_size=pool_size, max_overflow=0)
        self.engine: AsyncEngine = create_async_engine(url, **options)
        self._wake_callbacks: list[Callable[[set[str]], None]] = []
        self._writer_turns: WriterTurns | None = None
        _count_statements(self.engine)
        if self.dialect == "postgresql":
            _drop_closed_connections(self.engine)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)
            if parsed.database and parsed.database != ":memory:":
                self._writer_turns = WriterTurns(Path(parsed.database))

    @property
    def is_sqlite(self) -> bool:
        """Whether this is the embedded SQLite database."""
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A connection inside a transaction, committed on success, rolled back on error.

        :class:`DatabaseUnavailable` when no connection can be had (the server
        is down or refuses) or the connection is lost on the way.
        """
        async with self._connected(autocommit=False) as connection:
            yield connection

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[Connection]:
        """On PostgreSQL, a connection on which each statement is a transaction of its
        own: one round trip for a statement that must be durable once it returns. On
        SQLite, a transaction (:meth:`transaction`).

        :class:`DatabaseUnavailable` as for :meth:`transaction`.
        """
        async with self._connected(autocommit=not self.is_sqlite) as connection:
            yield connection

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Connection]:
        """A transaction that only reads. On a SQLite file it takes neither the writer
        turn nor SQLite's write lock: in WAL mode it reads one snapshot while writers go
        on. On PostgreSQL, a transaction like any other.

        :class:`DatabaseUnavailable` as for :meth:`transaction`.
        """
        async with self._connected(autocommit=False, read_only=True) as connection:
            yield connection

    @asynccontextmanager
    async def _connected(
        self, *, autocommit: bool, read_only: bool = False
    ) -> AsyncIterator[Connection]:
        wake: set[str] = set()
        connection = self.engine.connect()
        try:
            await connection.start()
        except (OSError, DBAPIError, PoolTimeout) as exc:
            raise connect_failure(exc) from exc
        try:
            try:
                async with AsyncExitStack() as scope:
                    if autocommit:
                        await connection.execution_options(isolation_level="AUTOCOMMIT")
                    else:
                        if read_only:
                            await connection.execution_options(**{_READ_ONLY: True})
                        else:
                            await scope.enter_async_context(self._turn())
                        await scope.enter_async_context(connection.begin())
                    try:
                        yield connection
                    finally:
                        wake = connection.info.pop(WAKE_FLAG, None) or set()
            finally:
                await asyncio.shield(connection.close())
        except DBAPIError as exc:
            unavailable = statement_failure(exc)
            if unavailable is None:
                raise
            raise unavailable from exc
        if wake:
            for callback in self._wake_callbacks:
                callback(wake)

    def _turn(self) -> AbstractAsyncContextManager[None]:
        """On a SQLite file, this process's turn to write (see :mod:`.writer_turns`)."""
        return self._writer_turns.turn() if self._writer_turns is not None else nullcontext()

    def on_work_added(self, callback: Callable[[set[str]], None]) -> None:
        """Call ``callback`` with the wake-up channels (``jobs``, ``inbox``, ``deliveries``)
        of any transaction of this process that added work, once it commits.

        Other processes hear of it through :class:`~wagate.store.notify.JobListener`
        on PostgreSQL (or a parent's wake-up pipe).
        """
        self._wake_callbacks.append(callback)

    async def ping(self) -> None:
        """Raise :class:`DatabaseUnavailable` unless the database answers."""
        async with self.transaction() as connection:
            await connection.execute(text("SELECT 1"))

    async def upgrade_schema(self) -> None:
        """Create or migrate the schema to the newest version (a database already there
        is only read: see :mod:`.revisions`)."""
        if await self._at_newest_revision():
            return
        from wagate.store.migrate import upgrade_to_head

        async with self.transaction() as connection:
            if not self.is_sqlite:
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                )
            await connection.run_sync(upgrade_to_head)

    async def schema_is_current(self) -> bool:
        """Whether every migration has been applied."""
        if revisions.newest_revision() is not None:
            return await self._at_newest_revision()
        from wagate.store.migrate import is_at_head

        async with self.transaction() as connection:
            return await connection.run_sync(is_at_head)

    async def _at_newest_revision(self) -> bool:
        newest = revisions.newest_revision()
        if newest is None:
            return False
        async with self.reading() as connection:
            return await revisions.recorded_revision(connection) == newest

    async def close(self) -> None:
        """Release every pooled connection."""
        await self.engine.dispose()
        if self._writer_turns is not None:
            self._writer_turns.close()
            self._writer_turns = None


def _count_statements(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _on_execute(*_args: Any) -> None:
        metrics.DB_STATEMENTS.inc()


def _drop_closed_connections(engine: AsyncEngine) -> None:
    """Replace, when it is taken from the pool, a connection the server has closed (it
    restarted, or ended the session).

    SQLAlchemy's ``pool_pre_ping`` would ask the server instead, and its asyncpg
    dialect does so with BEGIN, an empty query and ROLLBACK: three round trips before
    every transaction. asyncpg already knows of a connection the server closed; one
    lost without a word fails its statement, which invalidates it like any other.
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        driver_connection = getattr(dbapi_connection, "driver_connection", None)
        if driver_connection is not None and driver_connection.is_closed():
            raise DisconnectionError("the server closed this connection")


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below start transactions itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A writer takes the write lock at once, in its turn; a reader takes none.
        reads_only = connection.get_execution_options().get(_READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")


def connect_failure(exc: OSError | DBAPIError | PoolTimeout) -> DatabaseUnavailable:
    """What failing to connect means: the database is unavailable, whether no server
    answers (an :class:`OSError`: refused, unresolvable, timed out), the server or the
    file refuses the connection (a :class:`DBAPIError`), or every connection of the
    pool stayed busy for its whole timeout."""
    reason = exc.orig if isinstance(exc, DBAPIError) else exc
    return DatabaseUnavailable(f"cannot connect: {reason!r}")


def statement_failure(exc: DBAPIError) -> DatabaseUnavailable | None:
    """What a statement's failure means: the database is unavailable when the driver
    calls it operational (the server went away, the file is locked or unreadable) or
    the connection was lost with it; None for the others (a constraint the caller
    handles, or a bug), which are raised as they are."""
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        return DatabaseUnavailable(str(exc.orig))
    return None
