"""Processing one inbox backlog with several processors at once keeps every message's order.

On PostgreSQL each processor has its own engine, so they truly run side by side
and own partitions in turn; on SQLite they take turns at the one writer. Small
batches make many of them, so a message's statuses are spread over batches and
processors.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import random
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from tests.integration.meta_posts import post_webhook
from wagate.delivery.ssrf import AddressPolicy
from wagate.domain.callbacks import DeliveryStatus
from wagate.domain.clock import utcnow
from wagate.domain.inbox import SentRecord, partition_of, sent_entries
from wagate.domain.messages import Message
from wagate.services.inbox_processing import BatchOutcome, InboxProcessor
from wagate.services.ingress import IngressService
from wagate.services.profiles import ProfileService
from wagate.services.tenancy import TenancyService
from wagate.store import Database
from wagate.store import deliveries as delivery_rows
from wagate.store import inbox as inbox_rows
from wagate.store import messages as message_rows

SECRET = "inbox-order-secret"
NUMBERS = [(f"1555000{n:04d}", f"PNID{n}") for n in range(4)]
MESSAGES_PER_NUMBER = 12
PROGRESSION = ("sent", "delivered", "read")


def webhook(phone_number_id: str, statuses: list[tuple[str, str]]) -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "1", "phone_number_id": phone_number_id},
        "statuses": [
            {"id": wamid, "status": name, "timestamp": "1", "recipient_id": "1"}
            for wamid, name in statuses
        ],
    }
    document = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "W", "changes": [{"value": value, "field": "messages"}]}],
    }
    return json.dumps(document).encode()


def signature(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, statements_in_loop=True)
    await database.upgrade_schema()
    tenancy = TenancyService(database)
    await tenancy.create_account("SID1", "CID1", api_key="K")
    await tenancy.create_waba("SID1", "WABA1")
    profiles = ProfileService(database, pod="stage", addresses=AddressPolicy(["127.0.0.0/8"]))
    profile = await profiles.create(
        "SID1", title="status", http_method="POST", url="http://127.0.0.1:9/s", body=None,
        headers={},
    )  # fmt: skip
    for number, pnid in NUMBERS:
        await tenancy.create_number("SID1", "WABA1", number, pnid, callback_profile_id=profile.id)
    try:
        yield database
    finally:
        await database.close()


def message(index: int, number: str, pnid: str) -> Message:
    return Message(
        id=f"m{index}", sid="SID1", waba_id="WABA1", number=number, phone_number_id=pnid,
        recipient="1", wamid=f"wamid.{index}", type="text", template_id=None, template_name=None,
        template_components=None, ref=None, ref1=None, ref2=None, callback_url=None,
        callback_profile_id=None, tag_name=None, forwarded_rank=0,
    )  # fmt: skip


async def fill_the_inbox(database: Database, rng: random.Random) -> list[Message]:
    """Messages written ahead, and their wamids and statuses in the inbox, interleaved:
    some statuses overtake their message's wamid, all arrive in Meta's order per message."""
    ingress = IngressService(database, app_secret=SECRET, verify_token="v")
    sent: list[Message] = []
    queues: dict[str, list[tuple[str, Any]]] = {}
    for number, pnid in NUMBERS:
        for _ in range(MESSAGES_PER_NUMBER):
            m = message(len(sent), number, pnid)
            sent.append(m)
            steps: list[tuple[str, Any]] = [("status", name) for name in PROGRESSION]
            steps.insert(rng.randint(0, 2), ("wamid", None))
            queues[m.id] = steps
    async with database.transaction() as connection:
        await message_rows.insert_messages(
            connection, [dataclasses.replace(m, wamid=None) for m in sent], utcnow()
        )
    by_id = {m.id: m for m in sent}
    while queues:
        chosen = rng.sample(sorted(queues), k=min(len(queues), rng.randint(1, 5)))
        statuses: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for message_id in chosen:
            kind, name = queues[message_id].pop(0)
            if not queues[message_id]:
                del queues[message_id]
            m = by_id[message_id]
            assert m.wamid is not None
            if kind == "wamid":
                async with database.transaction() as connection:
                    record = SentRecord(m.phone_number_id, m.id, m.wamid)
                    await inbox_rows.append(connection, sent_entries([record]), utcnow())
            else:
                statuses[m.phone_number_id].append((m.wamid, name))
        for pnid, reported in statuses.items():
            body = webhook(pnid, reported)
            await post_webhook(ingress, body, signature(body))
    await ingress.close()
    return sent


async def drain(database_url: str) -> None:
    """One processor, with an engine of its own, working until the inbox is empty."""
    database = Database(database_url, statements_in_loop=True)
    processor = InboxProcessor(database, batch_items=4, batch_entries=3)
    try:
        idle = 0
        while idle < 20:
            if (await processor.process_next()).processed:
                idle = 0
            else:
                idle += 1
                await asyncio.sleep(0.01)
    finally:
        await database.close()


async def test_two_processors_keep_every_message_s_order(
    database: Database, database_url: str
) -> None:
    sent = await fill_the_inbox(database, random.Random(7))
    await asyncio.gather(drain(database_url), drain(database_url))
    async with database.transaction() as connection:
        assert await inbox_rows.pending_count(connection) == 0
        page, total = await delivery_rows.list_deliveries(
            connection, "SID1", profile_id=None, status=None,
            since=None, until=None, limit=10_000, offset=0,
        )  # fmt: skip
        held = [
            s
            for s in await message_rows.statuses_of(connection, [m.wamid or "" for m in sent])
            if s.message_id is None
        ]
    assert held == []
    assert total == len(sent) * len(PROGRESSION)
    by_message: dict[str, list[str]] = defaultdict(list)
    for delivery in sorted(page, key=lambda d: d.seq):
        assert delivery.status in (DeliveryStatus.PENDING, DeliveryStatus.QUEUED)
        by_message[delivery.subject_id].append(json.loads(delivery.body or "{}")["status"])
    assert {m.id: by_message[m.id] for m in sent} == {m.id: list(PROGRESSION) for m in sent}


async def test_a_processor_tells_a_taken_partition_from_an_empty_inbox(
    database: Database, database_url: str
) -> None:
    processor = InboxProcessor(database)
    assert await processor.process_next() == BatchOutcome(0, busy=False)
    await fill_the_inbox(database, random.Random(3))
    if database.is_sqlite:
        # One processor takes every partition's oldest entries: none is ever another's.
        outcome = await processor.process_next()
        assert outcome.processed > 0
        assert not outcome.busy
        return
    other = Database(database_url, statements_in_loop=True)
    try:
        async with other.transaction() as connection:
            # Another processor owns every partition for the length of its transaction.
            for _, pnid in NUMBERS:
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:class_id, :partition)"),
                    {"class_id": 0x7761, "partition": partition_of(pnid)},
                )
            assert await processor.process_next() == BatchOutcome(0, busy=True)
        assert (await processor.process_next()).processed > 0
    finally:
        await other.close()


async def test_claiming_on_sqlite_reads_the_pending_entries_not_every_one_kept(
    tmp_path: Path,
) -> None:
    # PostgreSQL claims within one partition, through ix_inbox_pending.
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'wagate.db'}")
    await database.upgrade_schema()
    seen: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM inbox WHERE inbox.processed_at IS NULL ORDER BY inbox.seq" in " ".join(
            statement.split()
        ):
            seen.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", remember)
    try:
        await InboxProcessor(database).process_next()
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", remember)
    assert seen, "the claim's query was not seen"
    statement, parameters = seen[0]
    try:
        async with database.transaction() as connection:
            plan = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            details = " ".join(str(row[-1]) for row in plan)
    finally:
        await database.close()
    assert "USING INDEX ix_inbox_pending_seq" in details, details
