"""Every foreign exception the store and the Graph client can raise becomes one of ours.

As httpx tests its mapping of the transport's exceptions, a table per boundary:
the driver's and SQLAlchemy's exceptions at the store (connecting, then running a
statement), aiohttp's and the socket's at the Graph client. A real refused
connection checks the Graph client end to end.
"""

from __future__ import annotations

import socket
import sqlite3

import aiohttp
import asyncpg
import pytest
from sqlalchemy import exc as sa

from wagate.domain.errors import (
    DatabaseUnavailable,
    MetaError,
    MetaPermanentError,
    MetaTransientError,
)
from wagate.store.database import connect_failure, statement_failure
from wagate.upstream.graph import GraphClient, transport_failure


def wrapped(
    kind: type[sa.DBAPIError], orig: Exception, *, invalidated: bool = False
) -> sa.DBAPIError:
    """A driver's exception as SQLAlchemy raises it."""
    return kind("SELECT 1", {}, orig, connection_invalidated=invalidated)


CONNECTING = [
    ConnectionRefusedError(111, "Connection refused"),
    socket.gaierror(-2, "Name or service not known"),
    TimeoutError("timed out"),
    wrapped(sa.OperationalError, sqlite3.OperationalError("unable to open database file")),
    wrapped(sa.OperationalError, asyncpg.exceptions.CannotConnectNowError("starting up")),
    wrapped(sa.OperationalError, asyncpg.exceptions.TooManyConnectionsError("too many")),
    wrapped(sa.InterfaceError, asyncpg.exceptions.ConnectionDoesNotExistError("closed")),
    wrapped(sa.DBAPIError, asyncpg.exceptions.InvalidPasswordError("password")),
    sa.TimeoutError("QueuePool limit of size 5 overflow 0 reached"),
]


@pytest.mark.parametrize("error", CONNECTING, ids=lambda e: type(e).__name__)
def test_failing_to_connect_is_the_database_unavailable(error: Exception) -> None:
    assert isinstance(error, OSError | sa.DBAPIError | sa.TimeoutError)
    translated = connect_failure(error)
    assert isinstance(translated, DatabaseUnavailable)
    assert str(translated).startswith("cannot connect")


STATEMENTS: list[tuple[sa.DBAPIError, bool]] = [
    (wrapped(sa.OperationalError, sqlite3.OperationalError("database is locked")), True),
    (wrapped(sa.OperationalError, sqlite3.OperationalError("disk I/O error")), True),
    (wrapped(sa.OperationalError, asyncpg.exceptions.AdminShutdownError("shutdown")), True),
    (wrapped(sa.OperationalError, asyncpg.exceptions.QueryCanceledError("timeout")), True),
    (
        wrapped(
            sa.InterfaceError,
            asyncpg.exceptions.ConnectionDoesNotExistError("closed"),
            invalidated=True,
        ),
        True,
    ),
    (wrapped(sa.DBAPIError, ConnectionResetError(104, "reset"), invalidated=True), True),
    # Not an outage: a constraint the store's caller turns into a conflict, or a bug.
    (wrapped(sa.IntegrityError, sqlite3.IntegrityError("UNIQUE constraint failed")), False),
    (wrapped(sa.IntegrityError, asyncpg.exceptions.UniqueViolationError("duplicate")), False),
    (wrapped(sa.ProgrammingError, sqlite3.ProgrammingError("no such table")), False),
    (wrapped(sa.DataError, asyncpg.exceptions.DataError("invalid input")), False),
]


@pytest.mark.parametrize(
    ("error", "outage"),
    STATEMENTS,
    ids=lambda e: type(e).__name__ if isinstance(e, Exception) else str(e),
)
def test_a_statement_fails_as_an_outage_only_when_the_database_went_away(
    error: sa.DBAPIError, outage: bool
) -> None:
    translated = statement_failure(error)
    if outage:
        assert isinstance(translated, DatabaseUnavailable)
        assert str(error.orig) in str(translated)
    else:
        assert translated is None


TRANSPORT: list[tuple[Exception, type[MetaError]]] = [
    (TimeoutError(), MetaTransientError),
    (ConnectionResetError(104, "Connection reset by peer"), MetaTransientError),
    (aiohttp.ServerTimeoutError("Timeout on reading data from socket"), MetaTransientError),
    (aiohttp.ConnectionTimeoutError("Connection timeout"), MetaTransientError),
    (aiohttp.SocketTimeoutError("Timeout on reading data from socket"), MetaTransientError),
    (aiohttp.ServerDisconnectedError(), MetaTransientError),
    (aiohttp.ClientOSError(104, "Connection reset by peer"), MetaTransientError),
    (aiohttp.ClientConnectionResetError("Cannot write to closing transport"), MetaTransientError),
    (aiohttp.ClientConnectionError("Connection closed"), MetaTransientError),
    (aiohttp.ClientPayloadError("Response payload is not completed"), MetaTransientError),
    (aiohttp.ClientError("anything else"), MetaTransientError),
    (aiohttp.InvalidURL("http://[graph"), MetaPermanentError),
    (aiohttp.InvalidUrlClientError("http://[graph"), MetaPermanentError),
]


@pytest.mark.parametrize(("error", "expected"), TRANSPORT, ids=lambda e: type(e).__name__)
def test_the_graph_client_translates_every_transport_failure(
    error: Exception, expected: type[MetaError]
) -> None:
    assert isinstance(error, OSError | aiohttp.ClientError)
    translated = transport_failure(error, "Graph GET", str(error))
    assert type(translated) is expected
    assert str(translated).startswith("Graph GET")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_refused_connection_to_graph_is_a_transient_meta_error() -> None:
    async with aiohttp.ClientSession() as http:
        graph = GraphClient(
            http,
            base_url=f"http://127.0.0.1:{closed_port()}",
            version="v21.0",
            app_id="APP1",
            access_token="secret-token",
        )
        with pytest.raises(MetaTransientError) as raised:
            await graph.get_upload_offset("upload:1")
    assert "secret-token" not in str(raised.value)
