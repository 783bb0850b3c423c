"""Waiting on the worker's events: the first of several, or a pause cut short by a stop."""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["first_of", "sleep_unless"]


async def first_of(*events: asyncio.Event, within: float) -> None:
    """Return when any of ``events`` is set, or after ``within`` seconds."""
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


async def sleep_unless(stopping: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less when ``stopping`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)
