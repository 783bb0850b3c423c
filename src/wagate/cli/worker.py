"""``wagate worker``: the worker without the API.

A worker serves no API, but what it does (transfers, callback attempts,
bytes sent to Meta) is counted in its own process: given a port, it answers
``/healthz``, ``/readyz`` and ``/metrics`` there, as the API does, so
Prometheus can scrape every process of a scaled-out deployment.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from wagate.api.gateway import Gateway
from wagate.logs import configure_logging
from wagate.settings import Settings

log = structlog.get_logger("wagate.worker")


def run_worker_process(settings: Settings, *, host: str = "127.0.0.1", port: int = 0) -> None:
    """Run jobs until SIGINT or SIGTERM, then wind down and exit 0.

    With a ``port``, also serve ``/healthz``, ``/readyz`` and ``/metrics`` on ``host:port``.
    """
    configure_logging(settings)

    async def main() -> None:
        gateway = await Gateway.start(settings, run_worker=True)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, gateway.request_stop)
        try:
            async with status_server(gateway, host, port):
                await gateway.wait_worker()
        finally:
            await gateway.stop()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:  # pragma: no cover - uvloop is not on every platform
        asyncio.run(main())


@asynccontextmanager
async def status_server(gateway: Gateway, host: str, port: int) -> AsyncIterator[None]:
    """Serve the worker's health, readiness and metrics on ``host:port`` (nothing if port 0)."""
    if not port:
        yield
        return

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_request: web.Request) -> web.Response:
        ready, body = await gateway.operations.readiness_report()
        return web.json_response(body, status=200 if ready else 503)

    async def prometheus_metrics(_request: web.Request) -> web.Response:
        return web.Response(
            body=await gateway.operations.metrics_exposition(),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", prometheus_metrics)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        log.info("worker.status_listening", host=host, port=port)
        yield
    finally:
        await runner.cleanup()
