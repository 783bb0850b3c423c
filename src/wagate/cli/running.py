"""Running a command's work: the database it needs, and errors as one line on stderr.

A user's mistake (an unknown account or id, a bad URL, a server that does not
answer) ends the command with ``error: …`` on stderr and exit status 1, never
a traceback. Nothing here imports the web stack until a command runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from wagate.settings import Settings
    from wagate.store import Database

T = TypeVar("T")


def fail(message: str, code: int = 1) -> NoReturn:
    """End the command: ``error: message`` on stderr and a non-zero exit status."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``work`` on an event loop; the errors a user can cause end the command."""
    from wagate.domain.errors import WagateError

    try:
        return asyncio.run(work())
    except WagateError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(exc.strerror or str(exc))


def load_settings() -> Settings:
    """The settings from the environment; a wrong ``WAGATE_*`` value ends the command."""
    from pydantic import ValidationError

    from wagate.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"WAGATE_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        )
        fail(problems)


def with_database(work: Callable[[Database, Settings], Awaitable[T]]) -> T:
    """Open the configured database, create or upgrade its schema, run ``work``, close it."""
    from wagate.store import Database

    settings = load_settings()

    async def runner() -> T:
        database = Database(settings.resolved_database_url())
        try:
            await database.upgrade_schema()
            return await work(database, settings)
        finally:
            await database.close()

    return run(runner)
