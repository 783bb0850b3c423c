"""``wagate wabas webhook-events``, ``wagate numbers webhook-events`` and ``wagate wabas
graph-version``: what a WABA or a number opts into, and a WABA's Graph API version."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import typer

from wagate.cli.output import print_json
from wagate.cli.running import with_database

if TYPE_CHECKING:
    from wagate.services.webhook_subscriptions import Subscription, WebhookSubscriptions
    from wagate.settings import Settings
    from wagate.store import Database

SET_OPTION = typer.Option(
    None,
    "--set",
    help="Comma-separated event types (played, errors, smb_message_echoes, user_preferences, "
    "message_template_status_update, account_update, …, or *); '' for none.",
)
CLEAR_OPTION = typer.Option(False, "--clear", help="Remove the list of its own.")


def _chosen(given: str | None, clear: bool) -> tuple[bool, list[str] | None]:
    """Whether to change the subscription, and to what."""
    if given is not None and clear:
        raise typer.BadParameter("give either --set or --clear")
    if clear:
        return True, None
    if given is None:
        return False, None
    return True, [name.strip() for name in given.split(",") if name.strip()]


def _wire(subscription: Subscription) -> dict[str, Any]:
    own = subscription.event_types
    key = "waba_id" if subscription.owner_kind.value == "waba" else "number"
    return {
        key: subscription.owner_id,
        "event_types": list(own) if own is not None else None,
        "effective": list(subscription.effective),
    }


def _show_or_set(
    event_types: str | None,
    clear: bool,
    *,
    show: Callable[[WebhookSubscriptions], Awaitable[Subscription]],
    set_to: Callable[[WebhookSubscriptions, list[str] | None], Awaitable[Subscription]],
) -> None:
    """Print a subscription, after setting it when --set or --clear was given."""
    change, chosen = _chosen(event_types, clear)

    async def work(database: Database, settings: Settings) -> Subscription:
        from wagate.services.webhook_subscriptions import WebhookSubscriptions

        service = WebhookSubscriptions(database)
        return await (set_to(service, chosen) if change else show(service))

    print_json(_wire(with_database(work)))


def waba_webhook_events(
    waba_id: str = typer.Argument(..., help="The WABA."),
    sid: str = typer.Option(..., help="The account SID."),
    event_types: str | None = SET_OPTION,
    clear: bool = CLEAR_OPTION,
) -> None:
    """Show, --set or --clear the event types a WABA's numbers take (as PUT
    /v2/{sid}/whatsapp/{waba_id}/webhook_events)."""
    _show_or_set(
        event_types,
        clear,
        show=lambda service: service.of_waba(sid, waba_id),
        set_to=lambda service, chosen: service.set_for_waba(sid, waba_id, chosen),
    )


def number_webhook_events(
    number: str = typer.Argument(..., help="The WhatsApp number, E.164 without '+'."),
    sid: str = typer.Option(..., help="The account SID."),
    event_types: str | None = SET_OPTION,
    clear: bool = CLEAR_OPTION,
) -> None:
    """Show, --set or --clear (take the WABA's) the event types a number takes (as PUT
    /v2/{sid}/whatsapp/numbers/{number}/webhook_events)."""
    _show_or_set(
        event_types,
        clear,
        show=lambda service: service.of_number(sid, number),
        set_to=lambda service, chosen: service.set_for_number(sid, number, chosen),
    )


def waba_graph_version(
    waba_id: str = typer.Argument(..., help="The WABA."),
    sid: str = typer.Option(..., help="The account SID."),
    version: str | None = typer.Option(None, "--set", help="A Graph API version, e.g. v24.0."),
    clear: bool = typer.Option(False, "--clear", help="Use WAGATE_GRAPH_VERSION again."),
) -> None:
    """Show, --set or --clear the Graph API version of the WABA's upstream calls (by default
    WAGATE_GRAPH_VERSION). Running servers take a change within a minute."""
    if version is not None and clear:
        raise typer.BadParameter("give either --set or --clear")

    async def work(database: Database, settings: Settings) -> dict[str, Any]:
        from wagate.services.webhook_subscriptions import WebhookSubscriptions
        from wagate.store import webhook_events as field_rows

        if version is not None or clear:
            await WebhookSubscriptions(database).set_graph_version(sid, waba_id, version)
        async with database.transaction() as connection:
            own = (await field_rows.graph_versions(connection)).get(waba_id)
        return {"waba_id": waba_id, "graph_version": own or settings.graph_version, "own": own}

    print_json(with_database(work))
