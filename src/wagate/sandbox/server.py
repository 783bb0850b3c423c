"""Running the sandbox as a process: listen, announce it, stop on SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import structlog
from aiohttp import web

from wagate.sandbox.app import create_sandbox_app
from wagate.sandbox.faults import Faults
from wagate.sandbox.progression import AutoProgression
from wagate.sandbox.settings import SandboxSettings

log = structlog.get_logger("wagate.sandbox")


async def serve_sandbox(
    settings: SandboxSettings,
    *,
    host: str = "127.0.0.1",
    port: int = 8090,
    faults: Faults | None = None,
    storage_dir: Path | None = None,
    webhook_url: str | None = None,
    auto: AutoProgression | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the sandbox until ``stop`` is set, or SIGINT or SIGTERM arrives."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    runner = web.AppRunner(
        create_sandbox_app(
            settings, storage_dir=storage_dir, faults=faults, webhook_url=webhook_url, auto=auto
        ),
        handle_signals=False,
        access_log=None,
    )
    await runner.setup()
    signals = (signal.SIGINT, signal.SIGTERM)
    try:
        await web.TCPSite(runner, host, port).start()
        for signum in signals:
            loop.add_signal_handler(signum, stop.set)
        for address in runner.addresses:
            bound_host, bound_port = address[0], address[1]
            log.info("sandbox.listening", url=f"http://{bound_host}:{bound_port}")
        log.info("sandbox.webhooks", target=webhook_url or settings.webhook_url)
        await stop.wait()
        log.info("sandbox.stopping")
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
        await runner.cleanup()


def run_sandbox(
    settings: SandboxSettings,
    host: str = "127.0.0.1",
    port: int = 8090,
    *,
    cut_after_bytes: int | None = None,
    fail_next: int = 0,
    fail_status: int = 503,
    delay_ms: int = 0,
    storage_dir: Path | None = None,
    webhook_url: str | None = None,
    auto: bool = False,
) -> None:
    """Serve the sandbox on ``host:port`` with these faults armed, until SIGINT or SIGTERM.

    Its webhooks go to ``webhook_url`` (default ``settings.webhook_url``);
    ``auto`` turns the automatic sent → delivered → read progression on.
    """
    faults = Faults(
        cut_after_bytes=cut_after_bytes,
        fail_next=fail_next,
        fail_status=fail_status,
        delay_ms=delay_ms,
    )
    asyncio.run(
        serve_sandbox(
            settings,
            host=host,
            port=port,
            faults=faults,
            storage_dir=storage_dir,
            webhook_url=webhook_url,
            auto=AutoProgression(enabled=auto),
        )
    )
