"""Endpoints that accept connections and never answer, for fairness tests.

Any number of ports on 127.0.0.1, served by one asyncio loop in a thread:
each connection is read and held open until the test ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def black_holes(count: int) -> Iterator[list[int]]:
    """``count`` ports on 127.0.0.1 that take requests and never answer; closed on exit."""
    loop = asyncio.new_event_loop()
    ports: list[int] = []
    servers: list[asyncio.Server] = []
    held: list[asyncio.StreamWriter] = []
    ready = threading.Event()

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        with contextlib.suppress(Exception):
            while await reader.read(65536):
                pass
        writer.close()

    async def open_ports() -> None:
        for _ in range(count):
            server = await asyncio.start_server(swallow, "127.0.0.1", 0)
            servers.append(server)
            ports.append(server.sockets[0].getsockname()[1])
        ready.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(open_ports())
        loop.run_forever()

    thread = threading.Thread(target=run, name="black-holes", daemon=True)
    thread.start()
    ready.wait(30)
    try:
        yield ports
    finally:

        async def close() -> None:
            for server in servers:
                server.close()
            for writer in held:
                writer.close()
            await asyncio.sleep(0)
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
