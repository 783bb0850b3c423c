"""``wagate profiles``: an account's callback profiles, as the profiles API manages them.

``create``, ``list``, ``show``, ``update`` (fields, ``--enable``/``--disable``,
``--rotate-secret``) and ``delete``; ``wagate wabas attach`` and ``wagate
numbers attach`` put a profile to use.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from wagate.cli.output import WIDE_OPTION, Column, print_json, print_listing
from wagate.cli.running import with_database

if TYPE_CHECKING:
    from wagate.services.profiles import ProfileService
    from wagate.settings import Settings
    from wagate.store import Database

profiles_app = typer.Typer(help="Callback profiles of an account.", no_args_is_help=True)

SID_OPTION = typer.Option(..., help="The account SID.")
BODY_HELP = (
    'POST body template: JSON whose string values are "<placeholder>"s, or @FILE to read it.'
)
HEADER_HELP = "A header to send, 'Name: value' (repeatable)."


def profile_service(database: Database, settings: Settings) -> ProfileService:
    """The profiles service as the gateway builds it, on this database."""
    from wagate.delivery.ssrf import AddressPolicy
    from wagate.services.profiles import ProfileService

    return ProfileService(
        database,
        pod=settings.pod,
        addresses=AddressPolicy.parse(settings.callback_allowed_networks),
    )


async def _require_account(database: Database, sid: str) -> None:
    from wagate.services.directory import DirectoryService

    await DirectoryService(database).require_account(sid)


def _wire(profile: Any, *, with_secret: bool) -> dict[str, Any]:
    from wagate.api.routes.callback_profiles import profile_to_wire

    return profile_to_wire(profile, with_secret=with_secret)


def _body(value: str | None) -> str | None:
    if value is None:
        return None
    if value.startswith("@"):
        from pathlib import Path

        try:
            value = Path(value[1:]).read_text()
        except OSError as exc:
            raise typer.BadParameter(f"cannot read {value[1:]}: {exc.strerror}") from None
    try:
        json.loads(value)
    except ValueError:
        raise typer.BadParameter("--body must be JSON") from None
    return value


def _headers(values: list[str] | None) -> dict[str, str] | None:
    if values is None:
        return None
    headers: dict[str, str] = {}
    for value in values:
        name, colon, text = value.partition(":")
        if not colon or not name.strip():
            raise typer.BadParameter(f"--header {value!r} must be 'Name: value'")
        headers[name.strip()] = text.strip()
    return headers


@profiles_app.command("create")
def create_profile(
    sid: str = SID_OPTION,
    title: str = typer.Option(..., help="A name: 3+ letters, digits, spaces, '-' or '_'."),
    http_method: str = typer.Option(..., "--method", help="GET or POST."),
    url: str = typer.Option(..., help="The endpoint; a GET's query may hold <placeholder>s."),
    body: str | None = typer.Option(None, help=BODY_HELP),
    header: list[str] | None = typer.Option(None, help=HEADER_HELP),
) -> None:
    """Create a profile; prints it with its id and signing secret."""
    template = _body(body)
    headers = _headers(header) or {}

    async def work(database: Database, settings: Settings) -> dict[str, Any]:
        await _require_account(database, sid)
        profile = await profile_service(database, settings).create(
            sid, title=title, http_method=http_method, url=url, body=template, headers=headers
        )
        return _wire(profile, with_secret=True)

    print_json(with_database(work))


@profiles_app.command("list")
def list_profiles(
    sid: str = SID_OPTION,
    title: str | None = typer.Option(None, help="Only profiles whose title contains this."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    wide: bool = WIDE_OPTION,
    limit: int = typer.Option(100, min=1, max=1000, help="How many to show."),
    offset: int = typer.Option(0, min=0, max=2**31 - 1, help="How many to skip."),
) -> None:
    """List an account's profiles, oldest first (without their secrets)."""

    async def work(database: Database, settings: Settings) -> tuple[list[dict[str, Any]], int]:
        await _require_account(database, sid)
        page, total = await profile_service(database, settings).list(
            sid, title=title, limit=limit, offset=offset
        )
        return [_wire(profile, with_secret=False) for profile in page], total

    rows, total = with_database(work)
    columns = [
        Column("profile_id", "profile id"),
        Column("title", "title", wraps=True),
        Column("http_method", "method"),
        Column("status", "status"),
        Column("url", "url", wraps=True),
    ]
    print_listing(
        rows, columns, as_json=as_json, total=total, limit=limit, offset=offset, wide=wide
    )


@profiles_app.command("show")
def show_profile(
    profile_id: str = typer.Argument(..., help="The profile id."), sid: str = SID_OPTION
) -> None:
    """Print one profile, with its signing secret, as JSON."""

    async def work(database: Database, settings: Settings) -> dict[str, Any]:
        await _require_account(database, sid)
        profile = await profile_service(database, settings).get(sid, profile_id)
        return _wire(profile, with_secret=True)

    print_json(with_database(work))


@profiles_app.command("update")
def update_profile(
    profile_id: str = typer.Argument(..., help="The profile id."),
    sid: str = SID_OPTION,
    title: str | None = typer.Option(None, help="A new title."),
    http_method: str | None = typer.Option(None, "--method", help="GET or POST."),
    url: str | None = typer.Option(None, help="A new endpoint (and GET query template)."),
    body: str | None = typer.Option(None, help=BODY_HELP),
    header: list[str] | None = typer.Option(
        None, help="A header to send, 'Name: value' (repeatable; replaces them all)."
    ),
    enable: bool | None = typer.Option(
        None, "--enable/--disable", help="Enable (status 1) or disable (status 3) the profile."
    ),
    rotate_secret: bool = typer.Option(
        False, "--rotate-secret", help="A new secret; the old one also signs for 24 h."
    ),
) -> None:
    """Change a profile's fields or status, or rotate its secret; prints it as JSON."""
    template = _body(body)
    headers = _headers(header)

    async def work(database: Database, settings: Settings) -> dict[str, Any]:
        from wagate.domain.callbacks import ProfileStatus
        from wagate.services.profiles import ProfileChanges

        status = None
        if enable is not None:
            status = ProfileStatus.ACTIVE if enable else ProfileStatus.DISABLED
        await _require_account(database, sid)
        profile = await profile_service(database, settings).update(
            sid,
            profile_id,
            ProfileChanges(
                title=title,
                http_method=http_method,
                url=url,
                body=template,
                headers=headers,
                status=status,
                rotate_secret=rotate_secret,
            ),
        )
        return _wire(profile, with_secret=True)

    print_json(with_database(work))


@profiles_app.command("delete")
def delete_profile(
    profile_id: str = typer.Argument(..., help="The profile id."), sid: str = SID_OPTION
) -> None:
    """Delete a profile: it is detached and its pending deliveries are cancelled."""

    async def work(database: Database, settings: Settings) -> None:
        await _require_account(database, sid)
        await profile_service(database, settings).delete(sid, profile_id)

    with_database(work)
    typer.echo(profile_id)
