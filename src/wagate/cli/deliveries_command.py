"""``wagate deliveries list|show|replay``: the delivery log, for operators."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from wagate.cli.output import WIDE_OPTION, Column, print_json, print_listing
from wagate.cli.running import with_database

if TYPE_CHECKING:
    from wagate.services.deliveries import DeliveryService
    from wagate.settings import Settings
    from wagate.store import Database

T = TypeVar("T")
deliveries_app = typer.Typer(help="Callback deliveries and their attempts.", no_args_is_help=True)
STATUSES = ("queued", "pending", "succeeded", "dead", "cancelled")


def _with_service(sid: str, work: Callable[[DeliveryService], Awaitable[T]]) -> T:
    """Run ``work`` with the deliveries service, once the account is known to exist."""

    async def runner(database: Database, settings: Settings) -> T:
        from wagate.services.deliveries import DeliveryService
        from wagate.services.directory import DirectoryService

        await DirectoryService(database).require_account(sid)
        return await work(DeliveryService(database))

    return with_database(runner)


@deliveries_app.command("list")
def list_deliveries(
    sid: str = typer.Option(..., help="The account SID."),
    status: str | None = typer.Option(
        None, help="Only deliveries in this status: queued, pending, succeeded, dead or cancelled."
    ),
    profile_id: str | None = typer.Option(None, help="Only this profile's deliveries."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    wide: bool = WIDE_OPTION,
    limit: int = typer.Option(20, min=1, max=1000, help="How many to show."),
    offset: int = typer.Option(0, min=0, max=2**31 - 1, help="How many to skip."),
) -> None:
    """Show an account's newest deliveries."""
    if status is not None and status not in STATUSES:
        raise typer.BadParameter(f"--status must be one of {', '.join(STATUSES)}")

    async def work(service: DeliveryService) -> tuple[list[dict[str, Any]], int]:
        from wagate.api.routes.deliveries import delivery_to_wire
        from wagate.domain.callbacks import DeliveryStatus

        page, total = await service.list(
            sid,
            profile_id=profile_id,
            status=DeliveryStatus(status) if status is not None else None,
            since=None,
            until=None,
            limit=limit,
            offset=offset,
        )
        rows = [delivery_to_wire(d) for d in page]
        for row in rows:
            row["last"] = row["last_response_status"] or row["last_error"]
        return rows, total

    rows, total = _with_service(sid, work)
    columns = [
        Column("id", "id"),
        Column("status", "status"),
        Column("attempts", "tries"),
        Column("method", "method"),
        Column("url", "url", wraps=True),
        Column("last", "last", wraps=True, table_only=True),
        Column("created_at", "created"),
    ]
    print_listing(
        rows, columns, as_json=as_json, total=total, limit=limit, offset=offset, wide=wide
    )


@deliveries_app.command("show")
def show_delivery(
    delivery_id: str = typer.Argument(..., help="The delivery id (its webhook-id)."),
    sid: str = typer.Option(..., help="The account SID."),
) -> None:
    """Show one delivery with every attempt, as JSON."""

    async def work(service: DeliveryService) -> dict[str, Any]:
        from wagate.api.routes.deliveries import attempt_to_wire, delivery_to_wire

        delivery, attempts = await service.get(sid, delivery_id)
        return {**delivery_to_wire(delivery), "attempt_log": [attempt_to_wire(a) for a in attempts]}

    print_json(_with_service(sid, work))


@deliveries_app.command("replay")
def replay_delivery(
    delivery_id: str = typer.Argument(..., help="The delivery id (its webhook-id)."),
    sid: str = typer.Option(..., help="The account SID."),
) -> None:
    """Queue a delivery to be sent again now (a running worker sends it)."""

    async def work(service: DeliveryService) -> dict[str, Any]:
        from wagate.api.routes.deliveries import delivery_to_wire

        return delivery_to_wire(await service.replay(sid, delivery_id))

    print_json(_with_service(sid, work))
