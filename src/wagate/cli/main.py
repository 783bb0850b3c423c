"""The ``wagate`` command line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import typer

from wagate.cli.deliveries_command import deliveries_app
from wagate.cli.sandbox_command import sandbox
from wagate.domain.errors import WagateError
from wagate.domain.tenancy import ApiVersion
from wagate.services.tenancy import TenancyService
from wagate.settings import Settings
from wagate.store import Database

T = TypeVar("T")

app = typer.Typer(
    name="wagate",
    help="A self-hostable WhatsApp Business gateway.",
    no_args_is_help=True,
    add_completion=False,
)
accounts_app = typer.Typer(help="Customer accounts.", no_args_is_help=True)
wabas_app = typer.Typer(help="WhatsApp Business Accounts of a customer.", no_args_is_help=True)
numbers_app = typer.Typer(help="WhatsApp numbers of a WABA.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")
app.add_typer(wabas_app, name="wabas")
app.add_typer(numbers_app, name="numbers")
app.add_typer(deliveries_app, name="deliveries")


def _run_with_database(work: Callable[[Database], Awaitable[T]]) -> T:
    """Open the configured database, migrate it, run ``work``, and close it."""

    async def runner() -> T:
        database = Database(Settings().resolved_database_url())
        try:
            await database.upgrade_schema()
            return await work(database)
        finally:
            await database.close()

    try:
        return asyncio.run(runner())
    except WagateError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8080, help="Port to listen on."),
    worker: bool = typer.Option(True, help="Also run the worker in this process."),
) -> None:
    """Serve the gateway API (and, unless --no-worker, run the worker)."""
    from wagate.cli.server import run_server

    run_server(Settings(), host=host, port=port, run_worker=worker)


@app.command("worker")
def run_worker(
    host: str = typer.Option("127.0.0.1", help="Address of the status listener."),
    port: int = typer.Option(
        0, help="Serve /healthz, /readyz and /metrics on this port (0: no listener)."
    ),
    status_socket: str | None = typer.Option(None, hidden=True),
    wake_fd: int | None = typer.Option(None, hidden=True),
) -> None:
    """Run the worker alone: transfers, expiry, purge, callbacks, Meta webhooks."""
    from wagate.cli.worker import run_worker_process

    run_worker_process(
        Settings(), host=host, port=port, status_socket=status_socket, wake_fd=wake_fd
    )


app.command()(sandbox)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""

    async def work(database: Database) -> None:
        return None

    _run_with_database(work)
    typer.echo("schema is current")


@accounts_app.command("create")
def create_account(
    sid: str = typer.Option(..., help="The account SID."),
    company_id: str = typer.Option(..., help="The company id callbacks carry."),
    api_key: str | None = typer.Option(None, help="The API key; generated when not given."),
    whatsapp: bool = typer.Option(True, help="Whether the account has a WhatsApp plan."),
    account_type: str = typer.Option(
        "postpaid", help="postpaid, prepaid or tech_provider (decides callback prices)."
    ),
    rate_card: str = typer.Option(
        "{}", help='Price per conversation category, JSON, e.g. {"marketing": "0.0107"}.'
    ),
) -> None:
    """Create an account and print its API key."""
    try:
        card = json.loads(rate_card)
    except ValueError:
        raise typer.BadParameter("--rate-card must be a JSON object") from None
    if not isinstance(card, dict):
        raise typer.BadParameter("--rate-card must be a JSON object")

    async def work(database: Database) -> str:
        return await TenancyService(database).create_account(
            sid,
            company_id,
            api_key=api_key,
            whatsapp_enabled=whatsapp,
            account_type=account_type,
            rate_card={str(k): str(v) for k, v in card.items()},
        )

    typer.echo(_run_with_database(work))


@wabas_app.command("create")
def create_waba(
    sid: str = typer.Option(..., help="The account SID."),
    waba_id: str = typer.Option(..., help="The WhatsApp Business Account id."),
    api_version: ApiVersion = typer.Option(ApiVersion.V2, help="v2 or v1."),
    callback_profile_id: str | None = typer.Option(
        None, help="Profile for resumable-media status callbacks."
    ),
) -> None:
    """Add a WABA to an account."""

    async def work(database: Database) -> None:
        await TenancyService(database).create_waba(
            sid, waba_id, api_version=api_version, callback_profile_id=callback_profile_id
        )

    _run_with_database(work)
    typer.echo(waba_id)


@numbers_app.command("create")
def create_number(
    sid: str = typer.Option(..., help="The account SID."),
    waba_id: str = typer.Option(..., help="The WABA the number belongs to."),
    number: str = typer.Option(..., help="The WhatsApp number, E.164 without '+'."),
    phone_number_id: str = typer.Option(..., help="Meta's phone number id."),
    callback_profile_id: str | None = typer.Option(
        None, help="Profile for outgoing-message status callbacks."
    ),
) -> None:
    """Add a WhatsApp number to a WABA."""

    async def work(database: Database) -> None:
        await TenancyService(database).create_number(
            sid, waba_id, number, phone_number_id, callback_profile_id=callback_profile_id
        )

    _run_with_database(work)
    typer.echo(number)


@app.command()
def upload(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The file to upload."),
    url: str = typer.Option(..., help="The gateway's base URL."),
    sid: str = typer.Option(..., help="Your account SID."),
    waba_id: str = typer.Option(..., help="The WABA to upload for."),
    api_key: str = typer.Option(..., envvar="WAGATE_API_KEY", help="Your API key."),
    media_type: str | None = typer.Option(
        None, "--type", help="The file's type; guessed from its name when not given."
    ),
) -> None:
    """Upload a file to a gateway's resumable-media API and print the answer."""
    from wagate.cli.client import upload_file

    status, answer = asyncio.run(
        upload_file(file, url=url, sid=sid, waba_id=waba_id, api_key=api_key, media_type=media_type)
    )
    typer.echo(json.dumps(answer, indent=2) if not isinstance(answer, str) else answer)
    raise typer.Exit(0 if status == 202 else 1)


@app.command()
def demo() -> None:
    """Run the full flow against a gateway it starts in a temporary directory."""
    from wagate.cli.demo import run_demo

    raise typer.Exit(run_demo())


def main() -> None:
    """Entry point of the ``wagate`` script."""
    app()
