"""``wagate accounts|wabas|numbers``: customers, their WABAs and numbers, and what they notify.

``create`` and ``list`` for each; ``attach`` points a WABA's resumable-media
status callbacks, or a number's message-status callbacks and webhook pushes,
at a callback profile or a ``webhook_url``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from wagate.cli.output import WIDE_OPTION, Column, print_json, print_listing
from wagate.cli.profiles_command import profile_service
from wagate.cli.running import with_database

if TYPE_CHECKING:
    from wagate.settings import Settings
    from wagate.store import Database

accounts_app = typer.Typer(help="Customer accounts.", no_args_is_help=True)
wabas_app = typer.Typer(help="WhatsApp Business Accounts of a customer.", no_args_is_help=True)
numbers_app = typer.Typer(help="WhatsApp numbers of a WABA.", no_args_is_help=True)

JSON_OPTION = typer.Option(False, "--json", help="Print one JSON document instead of a table.")
LIMIT_OPTION = typer.Option(100, min=1, max=1000, help="How many to show.")
OFFSET_OPTION = typer.Option(0, min=0, max=2**31 - 1, help="How many to skip.")


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


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

    async def work(database: Database, settings: Settings) -> str:
        from wagate.services.tenancy import TenancyService

        return await TenancyService(database).create_account(
            sid,
            company_id,
            api_key=api_key,
            whatsapp_enabled=whatsapp,
            account_type=account_type,
            rate_card={str(k): str(v) for k, v in card.items()},
        )

    typer.echo(with_database(work))


@accounts_app.command("list")
def list_accounts(
    as_json: bool = JSON_OPTION,
    wide: bool = WIDE_OPTION,
    limit: int = LIMIT_OPTION,
    offset: int = OFFSET_OPTION,
) -> None:
    """List the accounts, oldest first."""

    async def work(database: Database, settings: Settings) -> tuple[list[dict[str, Any]], int]:
        from wagate.services.directory import DirectoryService

        page, total = await DirectoryService(database).accounts(limit=limit, offset=offset)
        return [{**row, "created_at": _iso(row["created_at"])} for row in page], total

    rows, total = with_database(work)
    columns = [
        Column("sid", "sid"),
        Column("company_id", "company id"),
        Column("whatsapp_enabled", "whatsapp"),
        Column("account_type", "type"),
        Column("created_at", "created"),
    ]
    print_listing(
        rows, columns, as_json=as_json, total=total, limit=limit, offset=offset, wide=wide
    )


@wabas_app.command("create")
def create_waba(
    sid: str = typer.Option(..., help="The account SID."),
    waba_id: str = typer.Option(..., help="The WhatsApp Business Account id."),
    api_version: str = typer.Option("v2", help="v2 or v1."),
    callback_profile_id: str | None = typer.Option(
        None, help="Profile for resumable-media status callbacks."
    ),
) -> None:
    """Add a WABA to an account."""
    from wagate.domain.tenancy import ApiVersion

    try:
        version = ApiVersion(api_version)
    except ValueError:
        raise typer.BadParameter("--api-version must be v2 or v1") from None

    async def work(database: Database, settings: Settings) -> None:
        from wagate.services.tenancy import TenancyService

        await TenancyService(database).create_waba(
            sid, waba_id, api_version=version, callback_profile_id=callback_profile_id
        )

    with_database(work)
    typer.echo(waba_id)


@wabas_app.command("list")
def list_wabas(
    sid: str | None = typer.Option(None, help="Only this account's WABAs."),
    as_json: bool = JSON_OPTION,
    wide: bool = WIDE_OPTION,
    limit: int = LIMIT_OPTION,
    offset: int = OFFSET_OPTION,
) -> None:
    """List WABAs, oldest first."""

    async def work(database: Database, settings: Settings) -> tuple[list[dict[str, Any]], int]:
        from wagate.domain.listings import waba_fields
        from wagate.services.directory import DirectoryService

        page, total = await DirectoryService(database).wabas(sid, limit=limit, offset=offset)
        rows = [{"sid": waba.sid, **waba_fields(waba)} for waba in page]
        return rows, total

    rows, total = with_database(work)
    columns = [
        Column("waba_id", "waba id"),
        Column("sid", "sid"),
        Column("api_version", "api"),
        Column("callback_profile_id", "callback profile id"),
        Column("created_at", "created"),
    ]
    print_listing(
        rows, columns, as_json=as_json, total=total, limit=limit, offset=offset, wide=wide
    )


@wabas_app.command("attach")
def attach_to_waba(
    waba_id: str = typer.Argument(..., help="The WABA."),
    sid: str = typer.Option(..., help="The account SID."),
    profile_id: str | None = typer.Option(
        None, help="The profile that gets the WABA's resumable-media status callbacks."
    ),
    detach: bool = typer.Option(False, "--detach", help="Send the WABA's callbacks nowhere."),
) -> None:
    """Attach a callback profile to a WABA, or --detach it.

    As PATCH /v2/{sid}/whatsapp/{waba_id}: the profile gets the WABA's
    resumable-media status callbacks.
    """
    if (profile_id is None) == (not detach):
        raise typer.BadParameter("give either --profile-id or --detach")

    async def work(database: Database, settings: Settings) -> None:
        await profile_service(database, settings).attach_to_waba(sid, waba_id, profile_id)

    with_database(work)
    print_json({"waba_id": waba_id, "callback_profile_id": profile_id})


@numbers_app.command("create")
def create_number(
    sid: str = typer.Option(..., help="The account SID."),
    waba_id: str = typer.Option(..., help="The WABA the number belongs to."),
    number: str = typer.Option(..., help="The WhatsApp number, E.164 without '+'."),
    phone_number_id: str = typer.Option(..., help="Meta's phone number id."),
    callback_profile_id: str | None = typer.Option(
        None, help="Profile for outgoing-message status callbacks."
    ),
    incoming_callback_profile_id: str | None = typer.Option(
        None, help="Profile for the messages the number's users send."
    ),
) -> None:
    """Add a WhatsApp number to a WABA."""

    async def work(database: Database, settings: Settings) -> None:
        from wagate.services.tenancy import TenancyService

        await TenancyService(database).create_number(
            sid,
            waba_id,
            number,
            phone_number_id,
            callback_profile_id=callback_profile_id,
            incoming_callback_profile_id=incoming_callback_profile_id,
        )

    with_database(work)
    typer.echo(number)


@numbers_app.command("list")
def list_numbers(
    sid: str | None = typer.Option(None, help="Only this account's numbers."),
    waba_id: str | None = typer.Option(None, help="Only this WABA's numbers."),
    as_json: bool = JSON_OPTION,
    wide: bool = WIDE_OPTION,
    limit: int = LIMIT_OPTION,
    offset: int = OFFSET_OPTION,
) -> None:
    """List WhatsApp numbers, oldest first."""

    async def work(database: Database, settings: Settings) -> tuple[list[dict[str, Any]], int]:
        from wagate.domain.listings import number_fields
        from wagate.services.directory import DirectoryService

        page, total = await DirectoryService(database).numbers(
            sid, waba_id, limit=limit, offset=offset
        )
        rows = [{"sid": phone.sid, **number_fields(phone)} for phone in page]
        return rows, total

    rows, total = with_database(work)
    columns = [
        Column("number", "number"),
        Column("waba_id", "waba id"),
        Column("phone_number_id", "phone number id"),
        Column("callback_profile_id", "callback profile id"),
        Column("webhook_url", "webhook url", wraps=True),
    ]
    print_listing(
        rows, columns, as_json=as_json, total=total, limit=limit, offset=offset, wide=wide
    )


@numbers_app.command("attach")
def attach_to_number(
    number: str = typer.Argument(..., help="The WhatsApp number."),
    sid: str = typer.Option(..., help="The account SID."),
    waba_id: str = typer.Option(..., help="The WABA the number belongs to."),
    profile_id: str | None = typer.Option(
        None, help="The profile that gets the number's message-status callbacks."
    ),
    webhook_url: str | None = typer.Option(
        None, help="Where the number's webhook pushes (statuses, incoming messages) go."
    ),
    incoming_callback_profile_id: str | None = typer.Option(
        None, help="The profile that gets the messages the number's users send."
    ),
    detach_profile: bool = typer.Option(False, "--detach-profile", help="Remove the profile."),
    detach_webhook: bool = typer.Option(False, "--detach-webhook", help="Remove the webhook URL."),
    detach_incoming_profile: bool = typer.Option(
        False, "--detach-incoming-profile", help="Remove the incoming-message profile."
    ),
) -> None:
    """Attach profiles and/or a webhook URL to a number; prints them and the signing secret.

    As PATCH /v2/{sid}/whatsapp/{waba_id}/numbers/{number}. The secret signs the
    number's webhook pushes and the callbacks to its messages' callback_url. With
    no option, nothing changes: the number's targets and secret are printed again.
    """
    if profile_id is not None and detach_profile:
        raise typer.BadParameter("give --profile-id or --detach-profile, not both")
    if webhook_url is not None and detach_webhook:
        raise typer.BadParameter("give --webhook-url or --detach-webhook, not both")
    if incoming_callback_profile_id is not None and detach_incoming_profile:
        raise typer.BadParameter(
            "give --incoming-callback-profile-id or --detach-incoming-profile, not both"
        )

    async def work(database: Database, settings: Settings) -> dict[str, Any]:
        phone, secret = await profile_service(database, settings).attach_to_number(
            sid,
            waba_id,
            number,
            profile_id=profile_id,
            webhook_url=webhook_url,
            clear_profile=detach_profile,
            clear_webhook=detach_webhook,
            incoming_profile_id=incoming_callback_profile_id,
            clear_incoming_profile=detach_incoming_profile,
        )
        return {
            "number": phone.number,
            "callback_profile_id": phone.callback_profile_id,
            "incoming_callback_profile_id": phone.incoming_callback_profile_id,
            "webhook_url": phone.webhook_url,
            "webhook_secret": secret,
        }

    print_json(with_database(work))
