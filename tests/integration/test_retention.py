"""Retention on SQLite and PostgreSQL: once past the period, nothing of an upload or a message
is left in any table, and what is younger is kept.

Everything is written by the real services at a test clock's time: an upload
(with its idempotency key, jobs, event and callback), and a message (its
record in the inbox, Meta's webhook of its statuses, the statuses, events,
callbacks to a profile and pushes to a webhook URL, with failed attempts).
Then the purge runs at later times, with batches of two rows so that every
step takes several.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.e2e.black_hole import black_holes
from tests.integration.conftest import POLICY
from tests.integration.meta_posts import post_webhook
from wagate.blobs import LocalBlobStore
from wagate.delivery.sender import CallbackSender
from wagate.delivery.ssrf import AddressPolicy
from wagate.domain.callbacks import Attempt, AttemptTrigger, DeliveryStatus
from wagate.domain.inbox import SentRecord, sent_entries
from wagate.domain.messages import Message
from wagate.domain.tenancy import ApiVersion
from wagate.domain.uploads import ReceivedFile, Upload
from wagate.services.delivery_runs import DeliveryPolicy, DeliveryRunner
from wagate.services.inbox_processing import InboxProcessor
from wagate.services.ingress import IngressService
from wagate.services.profiles import ProfileService
from wagate.services.retention import RetentionService
from wagate.services.tenancy import TenancyService, WabaAccess
from wagate.services.upload_events import record_upload_event
from wagate.services.uploads import UploadService
from wagate.store import Database, delivery_outcomes, delivery_queue
from wagate.store import inbox as inbox_rows
from wagate.store import messages as message_rows
from wagate.store.delivery_outcomes import Outcome
from wagate.store.tables import metadata

T0 = datetime(2026, 3, 1, tzinfo=UTC)
RETENTION = timedelta(days=3)
SECRET = "retention-app-secret"
NUMBER, PNID = "15550009001", "PNID-RETENTION"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
#: Tables of configuration, kept until deleted: accounts, WABAs, numbers, profiles.
# The ingress spool's position is one row of bookkeeping, not data about anyone.
CONFIGURATION = {
    "accounts",
    "wabas",
    "numbers",
    "callback_profiles",
    "alembic_version",
    "ingress_spool",
}


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    database: Database
    blobs: LocalBlobStore
    clock: Clock
    access: WabaAccess
    uploads: UploadService
    ingress: IngressService
    inbox: InboxProcessor

    def retention(self) -> RetentionService:
        return RetentionService(
            self.database, self.blobs, retention=RETENTION, batch_size=2, clock=self.clock
        )


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    database = Database(database_url)
    await database.upgrade_schema()
    clock = Clock()
    tenancy = TenancyService(database, clock=clock)
    key = await tenancy.create_account("SID1", "C1")
    await tenancy.create_waba("SID1", "WABA1")
    await tenancy.create_number("SID1", "WABA1", NUMBER, PNID)
    profiles = ProfileService(
        database, pod="stage", addresses=AddressPolicy(["127.0.0.0/8"]), clock=clock
    )
    profile = await profiles.create(
        "SID1", title="status", http_method="POST", url="http://127.0.0.1:9/s", body=None,
        headers={"Authorization": "Bearer retention-test"},
    )  # fmt: skip
    await profiles.attach_to_waba("SID1", "WABA1", profile.id)
    await profiles.attach_to_number(
        "SID1", "WABA1", NUMBER, profile_id=profile.id, webhook_url="http://127.0.0.1:9/push"
    )
    access = await tenancy.authorize_waba("SID1", key, "WABA1", api_version=ApiVersion.V2)
    blobs = LocalBlobStore(tmp_path / "media")
    ingress = IngressService(database, app_secret=SECRET, verify_token="v", clock=clock)
    try:
        yield World(
            database, blobs, clock, access, UploadService(database, blobs, POLICY, clock=clock),
            ingress, InboxProcessor(database, clock=clock),
        )  # fmt: skip
    finally:
        await ingress.close()
        await database.close()


async def upload(world: World, name: str) -> Upload:
    """An accepted upload with an idempotency key, and an event and callback about it."""
    writer = world.uploads.open_blob()
    await writer.write(PNG)
    await writer.commit()
    received = ReceivedFile(writer.key, name, len(PNG), hashlib.sha256(PNG).hexdigest(), PNG)
    accepted = await world.uploads.accept(world.access, received, "image/png", f"key-{name}")
    async with world.database.transaction() as connection:
        await record_upload_event(connection, accepted, None, world.clock())
    return accepted


def statuses_webhook(wamid: str, *names: str) -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": NUMBER, "phone_number_id": PNID},
        "statuses": [
            {"id": wamid, "status": name, "timestamp": "1700000000", "recipient_id": "15550100100"}
            for name in names
        ],
    }
    document = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA1", "changes": [{"value": value, "field": "messages"}]}],
    }
    return json.dumps(document).encode()


async def message(world: World, index: int, callback_url: str | None = None) -> Message:
    """A message sent, its wamid recorded, and Meta's sent and delivered statuses applied."""
    sent = Message(
        id=f"msg-{index}", sid="SID1", waba_id="WABA1", number=NUMBER, phone_number_id=PNID,
        recipient="15550100100", wamid=f"wamid.retention.{index}", type="text",
        template_id=None, template_name=None, template_components=None, ref=f"ref-{index}",
        ref1=None, ref2=None, callback_url=callback_url, callback_profile_id=None, tag_name=None,
        forwarded_rank=0,
    )  # fmt: skip
    assert sent.wamid is not None
    async with world.database.transaction() as connection:
        await message_rows.insert_messages(
            connection, [dataclasses.replace(sent, wamid=None)], world.clock()
        )
        record = SentRecord(PNID, sent.id, sent.wamid)
        await inbox_rows.append(connection, sent_entries([record]), world.clock())
    await report(world, sent.wamid, "sent", "delivered")
    return sent


async def report(world: World, wamid: str, *statuses: str) -> None:
    """Meta's signed webhook of these statuses, received and processed."""
    body = statuses_webhook(wamid, *statuses)
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    await post_webhook(world.ingress, body, signature)
    while (await world.inbox.process_next()).processed:
        pass


async def fail_every_due_delivery(world: World) -> None:
    """Claim what is due and record a failed attempt of each, to be retried later."""
    now = world.clock()
    async with world.database.transaction() as connection:
        claimed = await delivery_queue.claim(
            connection, worker="w1", limit=100, lease=timedelta(seconds=30), now=now,
            per_endpoint=100,
        )  # fmt: skip
        outcomes = [
            Outcome(
                delivery,
                Attempt(
                    id=str(uuid.uuid4()), delivery_id=delivery.id, number=delivery.attempts + 1,
                    trigger=AttemptTrigger.SCHEDULED, method=delivery.method, url=delivery.url,
                    request_headers={"Authorization": "[redacted]"}, response_status=503,
                    response_body="down", duration_ms=3, error_class="http_status",
                    error="HTTP 503", next_attempt_at=now + timedelta(hours=1), created_at=now,
                ),
                DeliveryStatus.PENDING,
            )
            for delivery in claimed
        ]  # fmt: skip
        await delivery_outcomes.record_outcomes(
            connection, delivery_outcomes.outcome_rows(outcomes)
        )
    assert outcomes, "there were deliveries to attempt"


async def rows(world: World) -> dict[str, list[str]]:
    """Every row of every table but the configuration's, each as text."""
    found: dict[str, list[str]] = {}
    async with world.database.transaction() as connection:
        for table in metadata.sorted_tables:
            if table.name not in CONFIGURATION:
                result = await connection.execute(select(table))
                found[table.name] = [repr(tuple(row)) for row in result]
    return found


def mentioning(found: dict[str, list[str]], *names: str) -> dict[str, list[str]]:
    """The rows, by table, that mention any of ``names``."""
    return {
        table: hits
        for table, listed in found.items()
        if (hits := [row for row in listed if any(name in row for name in names)])
    }


def identities(item: Upload | Message) -> tuple[str, ...]:
    if isinstance(item, Upload):
        return (item.id, item.blob_key, item.file_link_token or item.id)
    return (item.id, item.wamid or item.id)


async def test_past_the_period_nothing_of_an_upload_or_a_message_is_left(world: World) -> None:
    old_upload, old_message = await upload(world, "old.png"), await message(world, 1)
    await fail_every_due_delivery(world)
    world.clock.now = T0 + timedelta(days=2)
    new_upload, new_message = await upload(world, "new.png"), await message(world, 2)
    assert old_message.wamid is not None
    await report(world, old_message.wamid, "read")  # written late, it goes with its message
    await fail_every_due_delivery(world)
    before = await rows(world)
    for item in (old_upload, old_message, new_upload, new_message):
        assert mentioning(before, *identities(item)), f"{item.id} was written"
    for table in ("delivery_attempts", "delivery_heads", "inbox", "message_statuses", "jobs"):
        assert before[table], f"{table} has rows to purge"

    world.clock.now = T0 + RETENTION - timedelta(minutes=1)
    assert await world.retention().purge() == {}
    assert await rows(world) == before

    world.clock.now = T0 + RETENTION + timedelta(minutes=1)
    purged = await world.retention().purge()
    assert purged["uploads"] == 1
    assert purged["messages"] == 1
    after = await rows(world)
    assert mentioning(after, *identities(old_upload)) == {}
    assert mentioning(after, *identities(old_message)) == {}
    assert not world.blobs.path_of(old_upload.blob_key).exists()
    assert mentioning(after, *identities(new_upload)) == mentioning(before, *identities(new_upload))
    assert mentioning(after, *identities(new_message)) == mentioning(
        before, *identities(new_message)
    )
    assert world.blobs.path_of(new_upload.blob_key).exists()

    world.clock.now = T0 + timedelta(days=2) + RETENTION + timedelta(minutes=1)
    await world.retention().purge()
    assert {table: listed for table, listed in (await rows(world)).items() if listed} == {}
    assert not world.blobs.path_of(new_upload.blob_key).exists()


async def test_past_the_period_callbacks_to_endpoints_that_never_answer_go_with_their_message(
    world: World,
) -> None:
    with black_holes(3) as ports:
        holes = [f"http://127.0.0.1:{port}" for port in ports]
        sent = [await message(world, 10 + i, f"{hole}/cb") for i, hole in enumerate(holes)]
        world.clock.now = T0 + RETENTION + timedelta(minutes=1)
        sender = CallbackSender(
            AddressPolicy(["127.0.0.0/8"]), connect_timeout=5.0, total_timeout=2.0
        )
        runner = DeliveryRunner(
            world.database, sender, DeliveryPolicy(schedule=[60.0], disable_after_seconds=1e6),
            clock=world.clock,
        )  # fmt: skip
        try:
            claimed = await runner.claim("w1", 100, timedelta(seconds=30), per_endpoint=100)
            hanging = [c for c in claimed if c.delivery.url.startswith(tuple(holes))]
            assert len(hanging) == len(holes), "each message's callback is being sent"
            in_flight = [asyncio.create_task(runner.send(c)) for c in hanging]

            await world.retention().purge()
            await world.retention().purge()
            assert mentioning(await rows(world), *(i for m in sent for i in identities(m))) == {}

            # The endpoints never answer: each attempt times out, and the worker records it,
            # to be retried. Nothing of the purged messages comes back.
            outcomes = await asyncio.gather(*in_flight)
            for outcome in outcomes:
                assert outcome is not None
                assert outcome.status is DeliveryStatus.PENDING
                await runner.record(outcome)
        finally:
            await runner.close()
            await sender.close()
        ids = [i for m in sent for i in identities(m)] + [c.delivery.id for c in hanging]
        assert mentioning(await rows(world), *ids) == {}


def inbound_webhook(wamid: str, text: str) -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": NUMBER, "phone_number_id": PNID},
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": "15550100100"}],
        "messages": [
            {"from": "15550100100", "id": wamid, "timestamp": "1700000000", "type": "text",
             "text": {"body": text}}
        ],
    }  # fmt: skip
    document = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA1", "changes": [{"value": value, "field": "messages"}]}],
    }
    return json.dumps(document).encode()


async def test_a_message_a_user_sent_is_purged_with_the_period(world: World) -> None:
    body = inbound_webhook("wamid.incoming.retention", "hello, my phone is 555")
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    await post_webhook(world.ingress, body, signature)
    while (await world.inbox.process_next()).processed:
        pass
    assert mentioning(await rows(world), "wamid.incoming.retention").keys() >= {"inbound_messages"}
    world.clock.now = T0 + RETENTION + timedelta(minutes=1)
    purged = await world.retention().purge()
    assert purged["inbound_messages"] == 1
    assert mentioning(await rows(world), "wamid.incoming.retention", "my phone is 555") == {}
