"""Retention: how fast the purge deletes a backlog past its period, and how long it holds the
database at a time.

A database is filled, directly through the store's tables, with a day of
data four days old: uploads (with a file each, an idempotency key and their
jobs) and messages with what a message brings (three statuses, their
events, a callback each with one attempt, Meta's webhooks and the record
of the send in the inbox). The worker's own :class:`RetentionService` then
purges it with the default batch size, timed, every transaction timed too
(the longest is what the API may wait for its turn at SQLite's one writer).
The baseline deletes the same rows with one unbounded ``DELETE … WHERE``
(the row's age) per table, each in one transaction: as fast as the database
goes, holding it for the whole table. Every run ends with no row
of the data left.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, event, func, select

from bench.processes import databases, scratch_directory
from bench.report import table
from bench.upload import BenchmarkFailed
from wagate.blobs import LocalBlobStore
from wagate.services.retention import RetentionService
from wagate.services.tenancy import TenancyService
from wagate.settings import Settings
from wagate.store import Database
from wagate.store.tables import (
    accounts,
    deliveries,
    delivery_attempts,
    events,
    idempotency_keys,
    inbox,
    jobs,
    message_statuses,
    messages,
    uploads,
    wabas,
)

NAME = "retention"
FULL_MESSAGES, QUICK_MESSAGES = 20_000, 2_000
#: Uploads per message of the data (each has a file).
UPLOADS_PER_MESSAGE = 0.01
STATUSES = ("sent", "delivered", "read")
RETENTION = timedelta(days=3)
INSERT_CHUNK = 2_000
DATA_TABLES = (
    uploads, idempotency_keys, jobs, messages, message_statuses, events, deliveries,
    delivery_attempts, inbox,
)  # fmt: skip
#: Each table of the data with the column that tells its age, children first.
AGE_COLUMNS = (
    (delivery_attempts, "created_at"), (deliveries, "created_at"), (events, "created_at"),
    (message_statuses, "created_at"), (messages, "created_at"), (inbox, "received_at"),
    (jobs, "created_at"), (idempotency_keys, "created_at"), (uploads, "purge_at"),
)  # fmt: skip
COLUMNS = ["run", "database", "rows", "seconds", "rows per second", "transactions",
           "longest transaction"]  # fmt: skip


@dataclass(frozen=True)
class Purge:
    """One purge of the data: what it deleted, how long it took and held the database."""

    label: str
    database: str
    rows: int
    seconds: float
    transactions: int
    longest: float


def run(workdir: Path, quick: bool) -> str:
    """Fill each database with old data and purge it, by the service and by the baseline."""
    count = QUICK_MESSAGES if quick else FULL_MESSAGES
    results: list[Purge] = []
    with scratch_directory(workdir, NAME) as directory, databases() as (choices, skipped):
        for name, env in choices.items():
            for label, purge in (("retention pass", _by_service), ("baseline", _by_baseline)):
                place = directory / f"{name}-{label.replace(' ', '-')}"
                url = env.get("WAGATE_DATABASE_URL") or f"sqlite+aiosqlite:///{place / 'w.db'}"
                results.append(asyncio.run(_measure(place, url, name, label, count, purge)))
                if "WAGATE_DATABASE_URL" in env:
                    asyncio.run(_empty_configuration(url))
    return _section(results, count, skipped)


async def _measure(
    directory: Path, url: str, database_name: str, label: str, count: int, purge: Any
) -> Purge:
    directory.mkdir(parents=True, exist_ok=True)
    database = Database(url)
    blobs = LocalBlobStore(directory / "media")
    try:
        await database.upgrade_schema()
        rows = await _fill(database, blobs, count)
        with _transactions(database) as timings:
            started = time.perf_counter()
            await purge(database, blobs)
            seconds = time.perf_counter() - started
        left = await _rows(database)
        if left:
            raise BenchmarkFailed(f"{label} on {database_name} left {left} rows")
        if any(path.is_file() for path in (directory / "media").rglob("*")):
            raise BenchmarkFailed(f"{label} on {database_name} left files")
        return Purge(label, database_name, rows, seconds, len(timings), max(timings, default=0))
    finally:
        await database.close()


async def _by_service(database: Database, blobs: LocalBlobStore) -> None:
    service = RetentionService(
        database,
        blobs,
        retention=RETENTION,
        batch_size=Settings.model_fields["retention_batch_size"].default,
    )
    await service.purge()


async def _by_baseline(database: Database, blobs: LocalBlobStore) -> None:
    cutoff = datetime.now(UTC) - RETENTION
    async with database.transaction() as connection:
        keys = list((await connection.execute(select(uploads.c.blob_key))).scalars())
    for key in keys:
        await blobs.delete(key)
    for data, written in AGE_COLUMNS:
        # An upload's purge time is its end already; every other row is past it once older.
        limit = cutoff + RETENTION if data is uploads else cutoff
        async with database.transaction() as connection:
            await connection.execute(delete(data).where(data.c[written] < limit))


async def _rows(database: Database) -> int:
    async with database.transaction() as connection:
        counts = [
            (await connection.execute(select(func.count()).select_from(data))).scalar_one()
            for data in DATA_TABLES
        ]
    return int(sum(counts))


@contextmanager
def _transactions(database: Database) -> Iterator[list[float]]:
    """The duration of every transaction the database runs meanwhile, in seconds."""
    timings: list[float] = []
    begun: list[float] = []

    def on_begin(_connection: Any) -> None:
        begun.append(time.perf_counter())

    def on_end(_connection: Any) -> None:
        if begun:
            timings.append(time.perf_counter() - begun.pop())

    engine = database.engine.sync_engine
    for name, listener in (("begin", on_begin), ("commit", on_end), ("rollback", on_end)):
        event.listen(engine, name, listener)
    try:
        yield timings
    finally:
        for name, listener in (("begin", on_begin), ("commit", on_end), ("rollback", on_end)):
            event.remove(engine, name, listener)


async def _fill(database: Database, blobs: LocalBlobStore, count: int) -> int:
    """``count`` messages and a few uploads, all four days old; how many rows in all."""
    await TenancyService(database).create_account("BENCHSID", "C1")
    await TenancyService(database).create_waba("BENCHSID", "BENCHWABA")
    old = datetime.now(UTC) - RETENTION - timedelta(days=1)
    rows: dict[Any, list[dict[str, Any]]] = {data: [] for data in DATA_TABLES}
    for index in range(count):
        _message(rows, index, old + timedelta(seconds=index * 86400 / count))
    for index in range(max(1, int(count * UPLOADS_PER_MESSAGE))):
        key = f"uploads/bench/{uuid.uuid4().hex}"
        writer = blobs.create(key)
        await writer.write(b"\x89PNG\r\n\x1a\n" + bytes(1000))
        await writer.commit()
        _upload(rows, index, key, old + timedelta(seconds=index))
    for data in DATA_TABLES:
        batch = rows[data]
        for start in range(0, len(batch), INSERT_CHUNK):
            async with database.transaction() as connection:
                await connection.execute(data.insert(), batch[start : start + INSERT_CHUNK])
    return sum(len(batch) for batch in rows.values())


def _message(rows: dict[Any, list[dict[str, Any]]], index: int, at: datetime) -> None:
    message_id, wamid = f"bench-{index}:0", f"wamid.bench.{index}"
    rows[messages].append(
        {"id": message_id, "sid": "BENCHSID", "waba_id": "BENCHWABA", "number": "15550001234",
         "phone_number_id": "BENCHPNID", "recipient": f"9198765{index:05d}", "wamid": wamid,
         "state": "sent", "type": "text", "forwarded_rank": 3, "created_at": at,
         "updated_at": at}
    )  # fmt: skip
    rows[inbox].append(_entry("sent", f'{{"wamid":"{wamid}"}}', at))
    for rank, status in enumerate(STATUSES):
        later = at + timedelta(seconds=rank)
        entry = _entry("webhook", f'{{"statuses":[{{"id":"{wamid}","status":"{status}"}}]}}', later)
        rows[inbox].append(entry)
        rows[message_statuses].append(
            {"id": str(uuid.uuid4()), "wamid": wamid, "status": status, "message_id": message_id,
             "forwarded": True, "outcome": "forwarded", "seq": None, "payload": "{}",
             "created_at": later}
        )  # fmt: skip
        event_id, delivery_id = str(uuid.uuid4()), f"msg_{uuid.uuid4().hex}"
        rows[events].append(
            {"id": event_id, "kind": "message_status", "sid": "BENCHSID", "waba_id": "BENCHWABA",
             "subject_id": message_id, "status": status, "payload": "{}", "created_at": later}
        )  # fmt: skip
        rows[deliveries].append(
            {"id": delivery_id, "sid": "BENCHSID", "event_id": event_id,
             "subject_id": message_id, "method": "POST", "url": "https://example.com/status",
             "body": "{}", "endpoint": "https://example.com:443",
             "order_key": f"{message_id}|https://example.com:443|direct", "seq": index * 3 + rank,
             "status": "succeeded", "attempts": 1, "run_at": later, "created_at": later,
             "updated_at": later, "delivered_at": later}
        )  # fmt: skip
        rows[delivery_attempts].append(
            {"id": str(uuid.uuid4()), "delivery_id": delivery_id, "number": 1,
             "trigger": "scheduled", "method": "POST", "url": "https://example.com/status",
             "request_headers": "{}", "response_status": 200, "response_body": "ok",
             "duration_ms": 12, "created_at": later}
        )  # fmt: skip


def _entry(kind: str, body: str, at: datetime) -> dict[str, Any]:
    return {"kind": kind, "partition": 1, "scope": "BENCHPNID", "item_count": 1, "body": body,
            "received_at": at, "processed_at": at, "outcome": "processed"}  # fmt: skip


def _upload(rows: dict[Any, list[dict[str, Any]]], index: int, key: str, at: datetime) -> None:
    upload_id = str(uuid.uuid4())
    rows[uploads].append(
        {"id": upload_id, "sid": "BENCHSID", "waba_id": "BENCHWABA", "file_name": f"f{index}.png",
         "media_type": "image/png", "size": 1008, "sha256": "0" * 64, "blob_key": key,
         "status": "EXPIRED", "created_at": at, "updated_at": at, "expires_at": at,
         "purge_at": at + RETENTION}
    )  # fmt: skip
    rows[idempotency_keys].append(
        {"waba_id": "BENCHWABA", "key": f"k{index}", "upload_id": upload_id, "created_at": at}
    )
    rows[jobs].append(
        {"id": str(uuid.uuid4()), "kind": "purge_upload", "subject_id": upload_id,
         "run_at": at + RETENTION, "created_at": at}
    )  # fmt: skip


async def _empty_configuration(url: str) -> None:
    """Drop the account and WABA the run made, so the next run on this database starts empty."""
    database = Database(url)
    try:
        async with database.transaction() as connection:
            await connection.execute(delete(wabas))
            await connection.execute(delete(accounts))
    finally:
        await database.close()


def _section(results: list[Purge], count: int, skipped: str | None) -> str:
    rows = [
        [
            purge.label,
            purge.database,
            f"{purge.rows:,}",
            f"{purge.seconds:.2f}",
            f"{purge.rows / purge.seconds:,.0f}",
            purge.transactions,
            f"{purge.longest * 1000:.1f} ms",
        ]
        for purge in results
    ]
    parts = [
        "## Retention purge",
        f"{count:,} messages four days old, each with its record in the inbox, three statuses "
        "(each with Meta's webhook in the inbox, an event, a succeeded callback and its "
        f"attempt), and {max(1, int(count * UPLOADS_PER_MESSAGE)):,} uploads (a 1 kB file, an "
        "idempotency key and a job each), purged by the worker's retention pass with the "
        "default batch size; beside it the baseline, one unbounded `DELETE … WHERE` (older than "
        "the period) per table. "
        "*Longest transaction* is the longest the database was held at once: on SQLite, the "
        "longest an API request could wait for its turn to write.",
        table(COLUMNS, rows),
    ]
    if skipped:
        parts.append(f"Not measured: {skipped}.")
    return "\n\n".join(parts)
