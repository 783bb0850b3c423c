"""Wake-up channels written to a pipe arrive whole, however the writes are split."""

from __future__ import annotations

import asyncio
import os

from wagate.wiring.wake_pipes import read_channels, write_channels


async def test_channels_arrive_and_the_end_of_the_pipe_is_told() -> None:
    loop = asyncio.get_running_loop()
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    heard: list[set[str]] = []
    closed = asyncio.Event()
    read_channels(loop, read_fd, heard.append, closed.set)
    try:
        write_channels(write_fd, {"inbox", "deliveries"})
        write_channels(write_fd, set())  # nothing to say: nothing written
        os.write(write_fd, b"jo")  # a line split across two reads
        await asyncio.sleep(0)
        os.write(write_fd, b"bs\n")
        os.close(write_fd)
        await asyncio.wait_for(closed.wait(), timeout=30)
    finally:
        os.close(read_fd)
    assert set().union(*heard) == {"inbox", "deliveries", "jobs"}
    assert all(heard), "no empty wake-up"


def test_a_full_pipe_drops_the_wake_up_instead_of_blocking() -> None:
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    try:
        for _ in range(200_000):  # far more than a pipe holds
            write_channels(write_fd, {"deliveries"})
    finally:
        os.close(read_fd)
        os.close(write_fd)
