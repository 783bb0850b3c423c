"""Running the API under uvicorn."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from wagate.api.app import create_app
from wagate.api.http_protocol import head_timeout_protocol
from wagate.cli.server_lock import ServerLock
from wagate.logs import configure_logging
from wagate.settings import Settings


def run_server(
    settings: Settings,
    *,
    host: str,
    port: int,
    run_worker: bool = True,
    lock: ServerLock | None = None,
) -> None:
    """Serve the gateway on ``host:port`` (and run the worker) until SIGINT or SIGTERM.

    ``lock``, the data directory's (on SQLite), is handed down to the worker children.
    """
    configure_logging(settings)
    config = uvicorn.Config(
        create_app(
            settings,
            run_worker=run_worker,
            lock_fd=lock.fd if lock else None,
            long_running=True,
        ),
        host=host,
        port=port,
        loop="uvloop",
        http=head_timeout_protocol(settings.request_idle_timeout_seconds),
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=30,
    )
    _Server(config).run()


class _Server(uvicorn.Server):
    """uvicorn, except that a SIGTERM after a clean shutdown exits 0.

    uvicorn re-raises the signal once it has shut down, so the process dies of
    it; a process manager then reports a crash for what was an orderly stop.
    """

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {
            sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
