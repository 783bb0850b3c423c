"""``wagate worker``: the worker without the API."""

from __future__ import annotations

import asyncio
import signal

from wagate.api.gateway import Gateway
from wagate.logs import configure_logging
from wagate.settings import Settings


def run_worker_process(settings: Settings) -> None:
    """Run jobs until SIGINT or SIGTERM, then wind down and exit 0."""
    configure_logging(settings)

    async def main() -> None:
        gateway = await Gateway.start(settings, run_worker=True)
        assert gateway.worker is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, gateway.worker.stop)
        try:
            await gateway.wait_worker()
        finally:
            await gateway.stop()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:  # pragma: no cover - uvloop is not on every platform
        asyncio.run(main())
