"""``wagate sandbox``: serve the Meta Graph emulator."""

from __future__ import annotations

import typer

from wagate.cli.running import load_settings


def sandbox(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8090, help="Port to listen on."),
    cut_after_bytes: int | None = typer.Option(
        None, help="Cut the next upload body after this many bytes (one-shot)."
    ),
    fail_next: int = typer.Option(0, help="Fail this many next Graph requests."),
    fail_status: int = typer.Option(503, help="The 5xx status those failures answer."),
    delay_ms: int = typer.Option(0, help="Delay every Graph response this many milliseconds."),
    webhook_url: str | None = typer.Option(
        None,
        help="Where to send the signed Meta webhooks (default WAGATE_SANDBOX_WEBHOOK_URL).",
    ),
    auto: bool = typer.Option(
        False, "--auto/--no-auto", help="Send sent, delivered, read for every accepted message."
    ),
) -> None:
    """Serve the Meta Graph sandbox."""
    from wagate.logs import configure_logging
    from wagate.sandbox import SandboxSettings, run_sandbox

    settings = load_settings()
    configure_logging(settings)
    try:
        run_sandbox(
            SandboxSettings.of(settings),
            host,
            port,
            cut_after_bytes=cut_after_bytes,
            fail_next=fail_next,
            fail_status=fail_status,
            delay_ms=delay_ms,
            webhook_url=webhook_url,
            auto=auto,
        )
    except (ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
