"""``wagate webhooks list|show|reprocess``: Meta's webhooks that could not be processed.

A webhook whose body is not JSON is stored as ``invalid``; one whose
processing raised is set aside as ``failed``, its error in its detail. Neither
holds up the others. After a fix, ``reprocess`` takes them again. One that
nobody heard of (an unknown number, or fields no customer opted into) is
``unknown``; after an opt-in, ``reprocess --outcome unknown`` forwards it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer

from wagate.cli.output import WIDE_OPTION, Column, print_json, print_listing
from wagate.cli.running import with_database

if TYPE_CHECKING:
    from wagate.settings import Settings
    from wagate.store import Database
    from wagate.store.stored_webhooks import StoredEntry

webhooks_app = typer.Typer(
    help="Meta's webhooks that could not be processed: list, show, reprocess.",
    no_args_is_help=True,
)
OUTCOMES = ("failed", "invalid", "unknown", "reprocessed")
OUTCOME_OPTION = typer.Option(
    None,
    "--outcome",
    help="Only this outcome (failed, invalid, unknown, reprocessed); repeatable.",
)


def _moment(text: str | None, option: str) -> datetime | None:
    """An ISO 8601 moment (UTC when it names no zone), or None."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{option} must be an ISO 8601 moment, not {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _outcomes(given: list[str] | None, default: tuple[str, ...]) -> tuple[str, ...]:
    chosen = tuple(given or default)
    wrong = [o for o in chosen if o not in OUTCOMES]
    if wrong:
        raise typer.BadParameter(f"--outcome must be one of {', '.join(OUTCOMES)}")
    return chosen


def entry_to_wire(entry: StoredEntry) -> dict[str, Any]:
    """An inbox entry as the commands print it."""
    detail: Any = entry.detail
    if entry.detail:
        try:
            detail = json.loads(entry.detail)
        except ValueError:
            detail = entry.detail
    wire: dict[str, Any] = {
        "seq": entry.seq,
        "outcome": entry.outcome,
        "phone_number_id": entry.scope,
        "received_at": entry.received_at.isoformat().replace("+00:00", "Z"),
        "processed_at": entry.processed_at.isoformat().replace("+00:00", "Z")
        if entry.processed_at
        else None,
        "detail": detail,
    }
    if entry.body is not None:
        wire["body"] = entry.body
    return wire


@webhooks_app.command("list")
def list_webhooks(
    outcome: list[str] | None = OUTCOME_OPTION,
    since: str | None = typer.Option(None, help="Only those received since (ISO 8601)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    wide: bool = WIDE_OPTION,
    limit: int = typer.Option(20, min=1, max=1000, help="How many to show."),
    offset: int = typer.Option(0, min=0, max=2**31 - 1, help="How many to skip."),
) -> None:
    """Show the newest webhooks set aside (failed or invalid, unless --outcome says)."""
    outcomes = _outcomes(outcome, ("failed", "invalid"))
    moment = _moment(since, "--since")

    async def work(database: Database, settings: Settings) -> tuple[list[dict[str, Any]], int]:
        from wagate.services.stored_webhooks import StoredWebhooks

        page, total = await StoredWebhooks(database).list(
            outcomes=outcomes, since=moment, limit=limit, offset=offset
        )
        rows = [entry_to_wire(entry) for entry in page]
        for row in rows:
            detail = row["detail"]
            row["error"] = detail.get("error") if isinstance(detail, dict) else detail
        return rows, total

    rows, total = with_database(work)
    columns = [
        Column("seq", "seq"),
        Column("outcome", "outcome"),
        Column("phone_number_id", "phone number id"),
        Column("received_at", "received"),
        Column("error", "error", wraps=True, table_only=True),
    ]
    print_listing(
        rows, columns, as_json=as_json, total=total, limit=limit, offset=offset, wide=wide
    )


@webhooks_app.command("show")
def show_webhook(seq: int = typer.Argument(..., help="The entry's seq.")) -> None:
    """Show one stored webhook with its body, as JSON."""

    async def work(database: Database, settings: Settings) -> dict[str, Any]:
        from wagate.services.stored_webhooks import StoredWebhooks

        return entry_to_wire(await StoredWebhooks(database).show(seq))

    print_json(with_database(work))


@webhooks_app.command("reprocess")
def reprocess_webhooks(
    since: str = typer.Option(..., help="Take those received since this moment (ISO 8601)."),
    outcome: list[str] | None = OUTCOME_OPTION,
) -> None:
    """Process again, after a fix, the webhooks set aside since a moment; prints how many.

    A running worker takes them at once; what was already applied is not applied twice.
    """
    outcomes = _outcomes(outcome, ("failed", "invalid"))
    moment = _moment(since, "--since")
    assert moment is not None

    async def work(database: Database, settings: Settings) -> int:
        from wagate.services.stored_webhooks import StoredWebhooks

        return await StoredWebhooks(database).reprocess(moment, outcomes)

    print_json({"reprocessed": with_database(work)})
