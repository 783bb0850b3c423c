"""Running the API under uvicorn."""

from __future__ import annotations

import uvicorn

from wagate.api.app import create_app
from wagate.logs import configure_logging
from wagate.settings import Settings


def run_server(settings: Settings, *, host: str, port: int) -> None:
    """Serve the gateway on ``host:port`` until SIGINT or SIGTERM."""
    configure_logging(settings)
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=30,
    )
    uvicorn.Server(config).run()
