"""``wagate upload`` (a customer's upload over HTTP) and ``wagate uploads list`` (the record)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import typer

from wagate.cli.output import WIDE_OPTION, Column, print_json, print_listing
from wagate.cli.running import fail, run, with_database

if TYPE_CHECKING:
    from wagate.settings import Settings
    from wagate.store import Database

uploads_app = typer.Typer(help="Resumable-media uploads of a WABA.", no_args_is_help=True)


def check_base_url(url: str) -> str:
    """``url`` without a trailing slash when it is an http(s) URL with a host; else fail."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        fail(f"{url!r} is not a gateway URL: write it as http://HOST:PORT or https://HOST")
    return url.rstrip("/")


def upload(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The file to upload."),
    url: str = typer.Option(..., help="The gateway's base URL, e.g. http://127.0.0.1:8080."),
    sid: str = typer.Option(..., help="Your account SID."),
    waba_id: str = typer.Option(..., help="The WABA to upload for."),
    api_key: str = typer.Option(..., envvar="WAGATE_API_KEY", help="Your API key."),
    media_type: str | None = typer.Option(
        None, "--type", help="The file's type; guessed from its name when not given."
    ),
) -> None:
    """Upload a file to a gateway's resumable-media API and print the answer."""
    base = check_base_url(url)

    async def work() -> tuple[int, Any]:
        from wagate.cli.client import GatewayUnreachable, upload_file

        try:
            return await upload_file(
                file, url=base, sid=sid, waba_id=waba_id, api_key=api_key, media_type=media_type
            )
        except GatewayUnreachable as exc:
            fail(str(exc))

    status, answer = run(work)
    if isinstance(answer, str):
        typer.echo(answer)
    else:
        print_json(answer)
    raise typer.Exit(0 if status == 202 else 1)


@uploads_app.command("list")
def list_uploads(
    sid: str = typer.Option(..., help="The account SID."),
    waba_id: str = typer.Option(..., help="The WABA."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    wide: bool = WIDE_OPTION,
    limit: int = typer.Option(20, min=1, max=1000, help="How many to show."),
    offset: int = typer.Option(0, min=0, max=2**31 - 1, help="How many to skip."),
) -> None:
    """List a WABA's uploads, newest first."""

    async def work(database: Database, settings: Settings) -> tuple[list[dict[str, Any]], int]:
        from wagate.api.routes.resumable_media import upload_to_wire
        from wagate.services.directory import DirectoryService

        page, total = await DirectoryService(database).uploads(
            sid, waba_id, limit=limit, offset=offset
        )
        return [upload_to_wire(upload, None) for upload in page], total

    rows, total = with_database(work)
    columns = [
        Column("id", "id"),
        Column("status", "status"),
        Column("file_name", "file name", wraps=True),
        Column("type", "type"),
        Column("size", "size"),
        Column("created_at", "created"),
    ]
    print_listing(
        rows, columns, as_json=as_json, total=total, limit=limit, offset=offset, wide=wide
    )
