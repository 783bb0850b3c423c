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
    """The settings from the environment; a wrong ``WAGATE_*`` value ends the command.

    A ``WAGATE_*`` name that is no setting (a misspelling, most often) is
    reported on stderr, with the setting it most resembles.
    """
    import os

    from pydantic import ValidationError

    from wagate.cli.environment import unknown_setting_warnings
    from wagate.settings import Settings

    for warning in unknown_setting_warnings(os.environ):
        typer.echo(f"warning: {warning}", err=True)
    try:
        return Settings()
    except ValidationError as exc:
        fail("; ".join(_problem(error) for error in exc.errors()))


def _problem(error: Any) -> str:
    name = "WAGATE_" + "_".join(str(part) for part in error["loc"]).upper()
    message = str(error["msg"]).removeprefix("Value error, ")
    given = error.get("input")
    if isinstance(given, str):
        return f"{name}={given}: {message}"
    return f"{name}: {message}"


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
