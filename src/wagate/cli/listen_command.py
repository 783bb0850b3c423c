"""``wagate listen``: receive callbacks and pushes locally and check their signatures."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from types import FrameType

import typer

from wagate.cli.running import fail


def listen(
    port: int = typer.Option(8099, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    secret: list[str] = typer.Option(
        ...,
        envvar="WAGATE_LISTEN_SECRET",
        help="A whsec_… secret that signs what you expect: a profile's secret or a number's "
        "webhook_secret (repeatable).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per request."),
    tolerance: int = typer.Option(
        300, min=1, help="Seconds a signature's timestamp may be away from now."
    ),
) -> None:
    """Print every callback and push as it arrives, and whether its signature verifies.

    Point a callback profile's url, or a number's webhook_url, at
    http://HOST:PORT/… (the gateway must be allowed to reach it: on one machine,
    WAGATE_CALLBACK_ALLOWED_NETWORKS=127.0.0.0/8). Verified requests are answered
    200, the others 401.
    """
    from wagate.cli.listener import Listener
    from wagate.delivery.signing import secret_key

    for value in secret:
        try:
            secret_key(value)
        except ValueError as exc:
            fail(f"--secret {value[:10]}…: {exc}")
    try:
        listener = Listener(host, port, secret, as_json=as_json, tolerance=tolerance)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=listener.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    count = len(secret)
    print(
        f"listening on {listener.url}, checking signatures with {count} "
        f"secret{'s' if count > 1 else ''} (Ctrl-C stops)",
        file=sys.stderr,
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        listener.serve_forever()
