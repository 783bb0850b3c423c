"""Retention: every record of customer data is deleted once it is older than the period.

A pass purges, in turn, uploads whose purge time has come (their bytes, then
their records), messages older than the period (with their statuses and the
webhooks that reported them), then whatever else is older than the period on
its own: deliveries with their attempts, events, statuses, attempts,
idempotency keys, and the inbox of Meta's webhooks and sent records. A
subject (upload, message) goes with everything about it, whenever that was
written.

Each batch is its own short transaction of at most ``batch_size`` rows (or
subjects), and the pass yields between batches: on SQLite the API shares the
one writer, and waits at most one batch for its turn. On PostgreSQL one
process purges at a time: a batch another process is purging is skipped.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta

import structlog

from wagate import metrics
from wagate.blobs import BlobStore
from wagate.domain.clock import Clock, utcnow
from wagate.store import Connection, Database
from wagate.store import retention as retention_rows

__all__ = ["RetentionService", "Step"]

log = structlog.get_logger("wagate.retention")

Step = Callable[[], Awaitable[tuple[Counter[str], bool]]]


class RetentionService:
    """Purges what is past its retention, in bounded batches."""

    def __init__(
        self,
        database: Database,
        blobs: BlobStore,
        *,
        retention: timedelta,
        batch_size: int,
        clock: Clock = utcnow,
    ) -> None:
        self._db = database
        self._blobs = blobs
        self._retention = retention
        self._batch = batch_size
        self._clock = clock

    async def purge(self, stopping: Callable[[], bool] = lambda: False) -> Counter[str]:
        """One pass over every kind of record; the rows deleted, by table.

        Returns early (with what was done) when ``stopping()`` becomes true.
        """
        purged: Counter[str] = Counter()
        for step in self._steps():
            while not stopping():
                done, more = await step()
                purged.update(done)
                if not more:
                    break
                await asyncio.sleep(0)  # whoever waits for the database goes first
        purged = +purged
        for table, count in purged.items():
            metrics.RETENTION_PURGED.labels(table).inc(count)
        if purged:
            log.info("retention.purged", **dict(sorted(purged.items())))
        else:
            log.debug("retention.nothing_to_purge")
        return purged

    def _steps(self) -> list[Step]:
        steps: list[Step] = [self._uploads, self._messages, self._inbound, self._deliveries]
        steps += [self._aged(table) for table in retention_rows.AGED_TABLES]
        steps += [self._inbox, self._orphaned_heads]
        return steps

    async def _turn(self, batch: Callable[[Connection], Awaitable[Counter[str]]]) -> Counter[str]:
        """Run ``batch`` in a transaction of its own, when it is this process's turn."""
        async with self._db.transaction() as connection:
            if not await retention_rows.take_turn(connection):
                return Counter()
            return await batch(connection)

    async def _uploads(self) -> tuple[Counter[str], bool]:
        now = self._clock()
        due: list[retention_rows.DueUpload] = []

        async def find(connection: Connection) -> Counter[str]:
            due.extend(await retention_rows.uploads_due(connection, now, self._batch))
            return Counter()

        await self._turn(find)
        # Bytes first, outside any transaction: a record left without its bytes is purged
        # on the next pass, while bytes left without a record would never be.
        for upload in due:
            await self._blobs.delete(upload.blob_key)
        ids = [upload.id for upload in due]
        purged = await self._turn(lambda c: retention_rows.purge_uploads(c, ids, now))
        return purged, len(due) == self._batch and purged["uploads"] > 0

    async def _messages(self) -> tuple[Counter[str], bool]:
        now = self._clock()
        found = 0

        async def batch(connection: Connection) -> Counter[str]:
            nonlocal found
            cutoff = now - self._retention
            due = await retention_rows.messages_due(connection, cutoff, self._batch)
            found = len(due)
            return await retention_rows.purge_messages(connection, due, now)

        purged = await self._turn(batch)
        return purged, found == self._batch and purged["messages"] > 0

    async def _inbound(self) -> tuple[Counter[str], bool]:
        cutoff = self._clock() - self._retention
        due: list[retention_rows.DueInbound] = []

        async def find(connection: Connection) -> Counter[str]:
            due.extend(await retention_rows.inbound_due(connection, cutoff, self._batch))
            return Counter()

        await self._turn(find)
        # Bytes first, as for uploads: a record left without its media goes next pass.
        for message in due:
            if message.blob_key:
                await self._blobs.delete(message.blob_key)
        ids = [message.id for message in due]
        purged = await self._turn(lambda c: retention_rows.purge_inbound(c, ids))
        return purged, len(due) == self._batch and purged["inbound_messages"] > 0

    async def _deliveries(self) -> tuple[Counter[str], bool]:
        now = self._clock()
        purged = await self._turn(
            lambda c: retention_rows.purge_deliveries_before(
                c, now - self._retention, self._batch, now
            )
        )
        return purged, purged["deliveries"] == self._batch

    def _aged(self, table: str) -> Step:
        async def step() -> tuple[Counter[str], bool]:
            cutoff = self._clock() - self._retention
            purged = await self._turn(
                lambda c: retention_rows.purge_before(c, table, cutoff, self._batch)
            )
            return purged, purged[table] == self._batch

        return step

    async def _inbox(self) -> tuple[Counter[str], bool]:
        cutoff = self._clock() - self._retention
        purged = await self._turn(
            lambda c: retention_rows.purge_inbox_before(c, cutoff, self._batch)
        )
        return purged, purged["inbox"] == self._batch

    async def _orphaned_heads(self) -> tuple[Counter[str], bool]:
        now = self._clock()
        purged = await self._turn(
            lambda c: retention_rows.repair_orphaned_heads(c, self._batch, now)
        )
        return purged, purged["delivery_heads"] == self._batch
