"""Incoming messages through the inbox, on a real database: once each, to the incoming
profile and the webhook URL; media waits for its download; a webhook that makes
processing raise is set aside, and taken again on request."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from tests.integration.deliveries import queued_deliveries
from tests.integration.meta_posts import (
    feed_signed,
    meta_signature,
    signature_matches,
)
from tests.meta_samples import (
    BUTTON,
    IMAGE,
    PHONE_NUMBER_ID,
    REPLIED_TO,
    SAMPLES,
    TEXT,
    TEXT_REPLY,
    UNKNOWN,
    USER,
    WAMID,
    message_of,
    with_id,
)
from wagate.delivery.ssrf import AddressPolicy
from wagate.domain import errors
from wagate.domain.clock import utcnow
from wagate.domain.inbox import InboxKind
from wagate.domain.jobs import JobKind
from wagate.domain.messages import Message
from wagate.services.inbox_processing import InboxProcessor
from wagate.services.ingress import IngressService
from wagate.services.profiles import ProfileService
from wagate.services.stored_webhooks import StoredWebhooks
from wagate.services.tenancy import TenancyService
from wagate.store import Database, queue
from wagate.store import inbound as inbound_rows
from wagate.store import inbox as inbox_rows
from wagate.store import messages as message_rows

SECRET = "integration-secret"
NUMBER = "15550783881"
INCOMING_BODY = {
    "id": "<id>", "from": "<from>", "name": "<name>", "type": "<type>", "body": "<body>",
    "reply_to": "<reply_to>", "ref": "<ref>", "wanumber": "<wanumber>",
    "media_url": "<media_url>", "message": "<message>",
}  # fmt: skip


@dataclass
class World:
    database: Database
    ingress: IngressService
    processor: InboxProcessor
    profiles: ProfileService
    profile_id: str


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    database = Database(database_url)
    await database.upgrade_schema()
    tenancy = TenancyService(database)
    await tenancy.create_account("SID1", "CID1", api_key="K")
    await tenancy.create_waba("SID1", "WABA1")
    await tenancy.create_number("SID1", "WABA1", NUMBER, PHONE_NUMBER_ID)
    profiles = ProfileService(database, pod="stage", addresses=AddressPolicy(["127.0.0.0/8"]))
    profile = await profiles.create(
        "SID1",
        title="incoming",
        http_method="POST",
        url="http://127.0.0.1:9/incoming",
        body=json.dumps(INCOMING_BODY),
        headers={},
    )
    await profiles.attach_to_number(
        "SID1",
        "WABA1",
        NUMBER,
        profile_id=None,
        webhook_url="http://127.0.0.1:9/push",
        incoming_profile_id=profile.id,
    )
    try:
        yield World(
            database,
            IngressService(database, app_secret=SECRET, verify_token="v"),
            InboxProcessor(database),
            profiles,
            profile.id,
        )
    finally:
        await database.close()


async def feed(world: World, *documents: dict[str, Any] | bytes) -> None:
    """Receive each webhook as Meta sends it, then process the inbox until it is empty."""
    bodies = [d if isinstance(d, bytes) else json.dumps(d).encode() for d in documents]
    for body in bodies:
        assert signature_matches(SECRET, body, meta_signature(SECRET, body))
    await feed_signed(world.ingress, world.processor, SECRET, bodies)


async def requests(world: World) -> list[tuple[str, dict[str, Any]]]:
    """Every request queued to the customer: (incoming or push, its JSON body)."""
    return [
        ("push" if d.url.endswith("/push") else "incoming", json.loads(d.body or "{}"))
        for d in await queued_deliveries(world.database)
    ]


async def outcomes(world: World) -> dict[str, int]:
    async with world.database.transaction() as connection:
        return await inbox_rows.count_by_outcome(connection, InboxKind.META_WEBHOOK)


async def test_a_text_reaches_the_incoming_profile_and_the_webhook_url(world: World) -> None:
    await feed(world, TEXT)
    (incoming, push) = await requests(world)
    assert incoming == (
        "incoming",
        {
            "id": WAMID, "from": USER, "name": "Sheena Nelson", "type": "text",
            "body": "Does it come in another color?", "wanumber": NUMBER,
            "message": json.dumps(message_of(TEXT), separators=(",", ":")),
        },
    )  # fmt: skip
    assert push == (
        "push",
        {
            "business_phone": NUMBER,
            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": USER}],
            "messages": [message_of(TEXT)],
            "messaging_product": "whatsapp",
        },
    )
    assert await outcomes(world) == {"processed": 1}


async def test_a_duplicate_webhook_yields_one_message_and_one_callback(world: World) -> None:
    await feed(world, TEXT, TEXT)
    await feed(world, TEXT)
    assert [kind for kind, _ in await requests(world)] == ["incoming", "push"]
    async with world.database.transaction() as connection:
        assert await inbound_rows.known_wamids(connection, [WAMID]) == {WAMID}


@pytest.mark.parametrize("name", list(SAMPLES))
async def test_every_type_is_recorded_and_forwarded(world: World, name: str) -> None:
    await feed(world, SAMPLES[name])
    async with world.database.transaction() as connection:
        stored = await inbound_rows.get_by_wamid(connection, NUMBER, WAMID)
        jobs = await queue.count_by_kind(connection)
    assert stored is not None
    assert stored.message.raw == message_of(SAMPLES[name])
    sent = await requests(world)
    if stored.media is None:
        assert [kind for kind, _ in sent] == ["incoming", "push"]
        assert sent[0][1]["type"] == message_of(SAMPLES[name])["type"]
    else:
        assert sent == [], "the customer hears of it once its media is stored"
        assert stored.media.state == inbound_rows.MediaState.PENDING
        assert jobs == {JobKind.DOWNLOAD_MEDIA.value: 1}


async def test_a_reply_to_our_message_carries_our_id_and_refs(world: World) -> None:
    ours = Message(
        id="ad97e000-c923-4000-b3a3-0b1000000d97:0", sid="SID1", waba_id="WABA1",
        number=NUMBER, phone_number_id=PHONE_NUMBER_ID, recipient=USER, wamid=REPLIED_TO,
        type="template", template_id="233", template_name="promo", template_components=[],
        ref="order-42", ref1=None, ref2=None, callback_url=None, callback_profile_id=None,
        tag_name="spring-sale", forwarded_rank=1,
    )  # fmt: skip
    async with world.database.transaction() as connection:
        await message_rows.insert_message(connection, ours, utcnow())
    await feed(world, TEXT_REPLY, with_id(BUTTON, "wamid.button"))
    (reply, _, click, click_push) = await requests(world)
    assert reply[1]["reply_to"] == REPLIED_TO
    assert reply[1]["ref"] == "order-42"
    assert click[1]["type"] == "button"
    assert click_push[1]["messages"][0]["tag_name"] == "spring-sale"


async def test_an_incoming_profile_must_use_incoming_placeholders(world: World) -> None:
    status_profile = await world.profiles.create(
        "SID1",
        title="status",
        http_method="GET",
        url="http://127.0.0.1:9/s?status=<status>&price=<price>",
        body=None,
        headers={},
    )
    with pytest.raises(errors.InvalidPayload) as refused:
        await world.profiles.attach_to_number(
            "SID1", "WABA1", NUMBER, profile_id=None, webhook_url=None,
            incoming_profile_id=status_profile.id,
        )  # fmt: skip
    assert "<price>, <status>" in refused.value.details["incoming_callback_profile_id"]


async def test_a_webhook_that_makes_processing_raise_is_set_aside_and_others_go_on(
    world: World,
) -> None:
    # A lone surrogate in a user's text: valid JSON, but no text a database or UTF-8 holds.
    broken = json.dumps(with_id(TEXT, "wamid.broken")).replace(
        "another color", "another color \\ud800"
    )
    await feed(world, with_id(UNKNOWN, "wamid.before"), broken.encode(), TEXT)
    assert await outcomes(world) == {"processed": 2, "failed": 1}
    kinds = [body.get("id") for kind, body in await requests(world) if kind == "incoming"]
    assert kinds == ["wamid.before", WAMID], "the entries before and after went through"
    stored = StoredWebhooks(world.database)
    (failed,), total = await stored.list()
    assert total == 1
    assert failed.outcome == "failed"
    assert "Error" in json.loads(failed.detail or "{}")["error"]
    assert (await stored.show(failed.seq)).body == broken

    since = utcnow() - timedelta(hours=1)
    assert await stored.reprocess(since) == 1
    await feed(world)
    assert await outcomes(world) == {"processed": 2, "failed": 1, "reprocessed": 1}
    assert await stored.reprocess(utcnow() + timedelta(hours=1)) == 0


async def test_an_unparsable_body_is_stored_invalid_and_reprocessable(world: World) -> None:
    await feed(world, b'{"object": "whatsapp_business_account", "entry": [')
    assert await outcomes(world) == {"invalid": 1}
    (entry,), _ = await StoredWebhooks(world.database).list(outcomes=("invalid",))
    assert entry.scope is None
    assert await StoredWebhooks(world.database).reprocess(utcnow() - timedelta(minutes=5)) == 1
    await feed(world)
    assert await outcomes(world) == {"invalid": 1, "reprocessed": 1}


async def test_an_image_waits_for_its_download_job(world: World) -> None:
    await feed(world, IMAGE)
    async with world.database.transaction() as connection:
        jobs = await queue.claim(
            connection, kinds=[JobKind.DOWNLOAD_MEDIA], worker="w", limit=5,
            lease=timedelta(seconds=30), now=utcnow(),
        )  # fmt: skip
        (job,) = jobs
        stored = await inbound_rows.get_inbound(connection, job.subject_id)
    assert stored is not None
    assert stored.media is not None
    assert stored.media.media_id == "1003383421387256"
