"""``wagate worker``: the worker without the API.

A worker serves no API, but what it does (transfers, callback attempts,
bytes sent to Meta) is counted in its own process: given a port, it answers
``/healthz``, ``/readyz`` and ``/metrics`` there, as the API does, so
Prometheus can scrape every process of a scaled-out deployment. As the child
of ``wagate serve`` it answers on a Unix socket instead, is woken through a
pipe, and stops when that pipe closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from wagate import metrics
from wagate.logs import configure_logging
from wagate.settings import Settings
from wagate.wiring.app_context import AppContext
from wagate.wiring.heap import settle_after_start
from wagate.wiring.lanes import LANES, WorkerRun
from wagate.wiring.open_files import raise_open_files_limit
from wagate.wiring.wake_pipes import read_channels, write_channels

log = structlog.get_logger("wagate.worker")


def run_worker_process(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    status_socket: str | None = None,
    wake_fd: int | None = None,
    report_fd: int | None = None,
    lanes: Collection[str] | None = None,
) -> None:
    """Run jobs (of the named ``lanes`` only, when given) until SIGINT or SIGTERM, then
    wind down and exit 0.

    With a ``port`` (or a ``status_socket`` path), also serve ``/healthz``,
    ``/readyz`` and ``/metrics`` there. With a ``wake_fd``, wake on the channel
    names read from it, and stop when it reaches its end. With a ``report_fd``,
    write there the channels of the work this process adds, for the parent to
    wake its other children.
    """
    configure_logging(settings)

    async def main() -> None:
        raise_open_files_limit()
        context = await AppContext.open(settings, statements_in_loop=True)
        try:
            run = await WorkerRun.start(context, LANES if lanes is None else lanes)
        except BaseException:
            await context.close()
            raise
        settle_after_start()
        if report_fd is not None:
            os.set_blocking(report_fd, False)
            context.database.on_work_added(lambda channels: write_channels(report_fd, channels))
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, run.request_stop)
        if wake_fd is None:  # a child of `wagate serve` ignores SIGINT: its parent stops it
            loop.add_signal_handler(signal.SIGINT, run.request_stop)
        try:
            if wake_fd is not None:
                _listen_for_wakeups(loop, wake_fd, run)
            async with status_server(context, host, port, status_socket):
                await run.wait()
        finally:
            if wake_fd is not None:
                loop.remove_reader(wake_fd)
            await run.stop()
            await context.close()
            if status_socket:
                _remove_socket(status_socket)

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:  # pragma: no cover - uvloop is not on every platform
        asyncio.run(main())


def _remove_socket(path: str) -> None:
    """Remove the status socket, and its directory when nothing else is in it: a parent
    killed outright leaves nothing behind."""
    with contextlib.suppress(OSError):
        os.unlink(path)
        os.rmdir(os.path.dirname(path))


def _listen_for_wakeups(loop: asyncio.AbstractEventLoop, fd: int, run: WorkerRun) -> None:
    """Wake the worker's lanes on the channels the parent writes; stop when it is gone."""

    def parent_gone() -> None:
        log.info("worker.parent_gone")
        run.request_stop()

    read_channels(loop, fd, run.wake, parent_gone)


@asynccontextmanager
async def status_server(
    context: AppContext, host: str, port: int, socket_path: str | None = None
) -> AsyncIterator[None]:
    """Serve the worker's health, readiness and metrics on ``host:port`` or a Unix socket
    (nothing if neither is given)."""
    if not port and not socket_path:
        yield
        return

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_request: web.Request) -> web.Response:
        ready, body = await context.operations.readiness_report()
        return web.json_response(body, status=200 if ready else 503)

    async def prometheus_metrics(request: web.Request) -> web.Response:
        if request.query.get("counters_only"):
            body = metrics.own_counters()
        else:
            body = await context.operations.metrics_exposition()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", prometheus_metrics)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        if socket_path:
            await web.UnixSite(runner, socket_path).start()
            log.info("worker.status_listening", socket=socket_path)
        else:
            await web.TCPSite(runner, host, port).start()
            log.info("worker.status_listening", host=host, port=port)
        yield
    finally:
        await runner.cleanup()
