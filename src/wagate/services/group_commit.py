"""Group commit: requests that arrive together are made durable in one transaction.

Each caller waits until its own item is committed, so "stored before
acknowledged" holds for every one of them, but a burst of N items costs one
commit (one fsync, one round trip) instead of N. The writing runs in a task of
its own, so a caller that goes away never strands the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["MAX_BATCH", "GroupCommit"]

Item = TypeVar("Item")
Result = TypeVar("Result")

#: The most items written in one transaction.
MAX_BATCH = 256


class GroupCommit(Generic[Item, Result]):
    """Batches items for ``write``, which stores a list in one transaction and returns
    one result per item, in order."""

    def __init__(
        self, write: Callable[[list[Item]], Awaitable[list[Result]]], *, linger: float = 0.0
    ) -> None:
        """``linger``: how long the writer waits, once woken, for more items to join the
        first (0: it writes at once what is there)."""
        self._write = write
        self._linger = linger
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        """Store ``item`` with whatever else is waiting; its result once committed."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        if self._linger:
            await asyncio.sleep(self._linger)
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                results = await self._write([item for item, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def close(self) -> None:
        """Wait for what is being written."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
