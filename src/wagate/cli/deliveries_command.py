"""``wagate deliveries list|show|replay``: the delivery log, for operators."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from wagate.api.routes.deliveries import attempt_to_wire, delivery_to_wire
from wagate.domain.callbacks import DeliveryStatus
from wagate.domain.errors import WagateError
from wagate.services.deliveries import DeliveryService
from wagate.settings import Settings
from wagate.store import Database

T = TypeVar("T")
deliveries_app = typer.Typer(help="Callback deliveries and their attempts.", no_args_is_help=True)


def _with_service(work: Callable[[DeliveryService], Awaitable[T]]) -> T:
    settings = Settings()

    async def runner() -> T:
        database = Database(settings.resolved_database_url())
        try:
            await database.upgrade_schema()
            return await work(DeliveryService(database))
        finally:
            await database.close()

    try:
        return asyncio.run(runner())
    except WagateError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


@deliveries_app.command("list")
def list_deliveries(
    sid: str = typer.Option(..., help="The account SID."),
    status: DeliveryStatus | None = typer.Option(None, help="Only deliveries in this status."),
    profile_id: str | None = typer.Option(None, help="Only this profile's deliveries."),
    limit: int = typer.Option(20, min=1, max=1000),
) -> None:
    """Show an account's newest deliveries."""

    async def work(service: DeliveryService) -> list[dict[str, Any]]:
        page, _ = await service.list(
            sid, profile_id=profile_id, status=status, since=None, until=None, limit=limit, offset=0
        )
        return [delivery_to_wire(d) for d in page]

    rows = _with_service(work)
    table = Table("id", "status", "attempts", "method", "url", "last", "created")
    for row in rows:
        table.add_row(
            row["id"], row["status"], str(row["attempts"]), row["method"], row["url"][:60],
            str(row["last_response_status"] or row["last_error"] or ""), row["created_at"],
        )  # fmt: skip
    Console().print(table)


@deliveries_app.command("show")
def show_delivery(
    delivery_id: str = typer.Argument(..., help="The delivery id (its webhook-id)."),
    sid: str = typer.Option(..., help="The account SID."),
) -> None:
    """Show one delivery with every attempt, as JSON."""

    async def work(service: DeliveryService) -> dict[str, Any]:
        delivery, attempts = await service.get(sid, delivery_id)
        return {**delivery_to_wire(delivery), "attempt_log": [attempt_to_wire(a) for a in attempts]}

    typer.echo(json.dumps(_with_service(work), indent=2))


@deliveries_app.command("replay")
def replay_delivery(
    delivery_id: str = typer.Argument(..., help="The delivery id (its webhook-id)."),
    sid: str = typer.Option(..., help="The account SID."),
) -> None:
    """Queue a delivery to be sent again now (a running worker sends it)."""

    async def work(service: DeliveryService) -> dict[str, Any]:
        return delivery_to_wire(await service.replay(sid, delivery_id))

    typer.echo(json.dumps(_with_service(work), indent=2))
