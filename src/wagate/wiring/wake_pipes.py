"""Wake-up channels over pipes, between ``wagate serve`` and its worker children.

A transaction that adds work names the channels of the lanes that take it
(:mod:`wagate.domain.wakeups`). Within a process, the database calls back; on
PostgreSQL, other processes hear it through NOTIFY. On the embedded SQLite,
the processes of one ``wagate serve`` tell each other through pipes instead:
one channel name per line. A pipe never blocks its writer: a wake-up lost to
a full pipe is made up by the lanes' polling, and a full pipe already holds
wake-ups for the same lanes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Collection

__all__ = ["read_channels", "write_channels"]


def write_channels(fd: int, channels: Collection[str]) -> None:
    """Write ``channels`` to the pipe ``fd`` (set non-blocking), dropping them if it is full."""
    if not channels:
        return
    with contextlib.suppress(BlockingIOError, BrokenPipeError, OSError):
        os.write(fd, ("\n".join(sorted(channels)) + "\n").encode())


def read_channels(
    loop: asyncio.AbstractEventLoop,
    fd: int,
    on_channels: Callable[[set[str]], None],
    on_closed: Callable[[], None],
) -> None:
    """Call ``on_channels`` with the channels read from ``fd`` as they arrive, and
    ``on_closed`` once, when its writer is gone (the reader is then removed)."""
    os.set_blocking(fd, False)
    pending = bytearray()

    def readable() -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
            on_closed()
            return
        pending.extend(data)
        *lines, rest = pending.split(b"\n")
        pending[:] = rest
        channels = {line.decode(errors="replace") for line in lines if line}
        if channels:
            on_channels(channels)

    loop.add_reader(fd, readable)
