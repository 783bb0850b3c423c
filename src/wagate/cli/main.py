"""The ``wagate`` command line.

Only typer is imported up front: each command imports what it needs (the web
stack, the database) when it runs, so ``wagate --help`` answers at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from wagate.cli.deliveries_command import deliveries_app
from wagate.cli.listen_command import listen
from wagate.cli.profiles_command import profiles_app
from wagate.cli.running import load_settings, with_database
from wagate.cli.sandbox_command import sandbox
from wagate.cli.tenants_command import accounts_app, numbers_app, wabas_app
from wagate.cli.uploads_command import upload, uploads_app
from wagate.cli.webhook_events_command import (
    number_webhook_events,
    waba_graph_version,
    waba_webhook_events,
)
from wagate.cli.webhooks_command import webhooks_app
from wagate.wiring.heap import quicken_start_up

if TYPE_CHECKING:
    from wagate.settings import Settings
    from wagate.store import Database

app = typer.Typer(
    name="wagate",
    help="A self-hostable WhatsApp Business gateway.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(accounts_app, name="accounts")
app.add_typer(wabas_app, name="wabas")
app.add_typer(numbers_app, name="numbers")
app.add_typer(profiles_app, name="profiles")
app.add_typer(deliveries_app, name="deliveries")
app.add_typer(uploads_app, name="uploads")
app.add_typer(webhooks_app, name="webhooks")
wabas_app.command("webhook-events")(waba_webhook_events)
wabas_app.command("graph-version")(waba_graph_version)
numbers_app.command("webhook-events")(number_webhook_events)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8080, help="Port to listen on."),
    worker: bool = typer.Option(True, help="Also run the worker (as child processes)."),
) -> None:
    """Serve the gateway API (and, unless --no-worker, run the worker)."""
    from wagate.cli.server_lock import hold, refuse_api_alone

    settings = load_settings()
    if not worker:
        refuse_api_alone(settings)
    lock = hold(settings)
    from wagate.cli.server import run_server

    run_server(settings, host=host, port=port, run_worker=worker, lock=lock)


@app.command("worker")
def run_worker(
    host: str = typer.Option("127.0.0.1", help="Address of the status listener."),
    port: int = typer.Option(
        0, help="Serve /healthz, /readyz and /metrics on this port (0: no listener)."
    ),
    status_socket: str | None = typer.Option(None, hidden=True),
    wake_fd: int | None = typer.Option(None, hidden=True),
    lanes: str | None = typer.Option(
        None,
        help="Run only these lanes, comma-separated (default: all): "
        "transfers, media, lifecycle, inbox, deliveries, sends, retention, statistics.",
    ),
    lock_fd: int | None = typer.Option(None, hidden=True),
    report_fd: int | None = typer.Option(None, hidden=True),
) -> None:
    """Run the worker alone: transfers, expiry, purge, callbacks, Meta webhooks."""
    from wagate.cli.server_lock import hold
    from wagate.wiring.lanes import LANES

    chosen = None
    if lanes is not None:
        chosen = frozenset(name.strip() for name in lanes.split(",") if name.strip())
        unknown = sorted(chosen - set(LANES))
        if unknown or not chosen:
            raise typer.BadParameter(
                f"unknown lane {', '.join(unknown) or '(none given)'}; "
                f"choose from {', '.join(LANES)}",
                param_hint="--lanes",
            )
    settings = load_settings()
    hold(settings, lock_fd)  # the child of `wagate serve` is given its parent's lock
    from wagate.cli.worker import run_worker_process

    run_worker_process(
        settings,
        host=host,
        port=port,
        status_socket=status_socket,
        wake_fd=wake_fd,
        report_fd=report_fd,
        lanes=chosen,
    )


app.command()(sandbox)
app.command()(listen)
app.command()(upload)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""

    async def work(database: Database, settings: Settings) -> None:
        return None

    with_database(work)
    typer.echo("schema is current")


@app.command()
def demo() -> None:
    """Run the full flow against a gateway it starts in a temporary directory."""
    from wagate.cli.demo import run_demo

    raise typer.Exit(run_demo())


def main() -> None:
    """Entry point of the ``wagate`` script."""
    quicken_start_up()
    app()
