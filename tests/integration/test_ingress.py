"""Meta's webhooks through the ingress on a real database: verify, store, process, forward."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.integration.deliveries import queued_deliveries
from tests.integration.meta_posts import post_webhook
from wagate.delivery.ssrf import AddressPolicy
from wagate.domain import errors
from wagate.domain.callbacks import DeliveryStatus
from wagate.domain.clock import utcnow
from wagate.domain.inbox import InboxKind, SentRecord, sent_entries
from wagate.domain.messages import Message
from wagate.services.inbox_processing import InboxProcessor
from wagate.services.ingress import IngressService
from wagate.services.profiles import ProfileService
from wagate.services.tenancy import TenancyService
from wagate.store import Database
from wagate.store import inbox as inbox_rows
from wagate.store import messages as message_rows
from wagate.store import tenancy as tenancy_rows

SECRET = "app-secret-for-tests"
WAMID = "wamid.HBgNODYxNzYwNjA1MDgxORUCABEYEjI4RTcyNzFGRDVGQTQwQkQ1RAA="
COMPONENTS = [{"type": "body", "parameters": [{"type": "text", "text": "xxxx"}]}]


def meta_envelope(value: dict[str, Any]) -> dict[str, Any]:
    """Meta's webhook envelope around one change value (as in Meta's samples)."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": "PNID1",
                            },
                            **value,
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def status(name: str, wamid: str = WAMID, **extra: Any) -> dict[str, Any]:
    return meta_envelope(
        {
            "statuses": [
                {
                    "id": wamid,
                    "status": name,
                    "timestamp": "1660019986",
                    "recipient_id": "8617600000819",
                    **extra,
                }
            ]
        }
    )


CONVERSATION = {
    "id": "72569257438b471cae074da84bed1b83",
    "expiration_timestamp": "1660106400",
    "origin": {"type": "marketing"},
}
PRICING = {"billable": True, "pricing_model": "CBP", "category": "marketing"}
FAILURE = [
    {
        "code": 131050,
        "title": "Unable to deliver the message. This recipient has chosen to stop receiving "
        "marketing messages on WhatsApp from your business",
        "message": "Unable to deliver the message.",
        "error_data": {"details": "stopped marketing messages"},
    }
]
BUTTON = meta_envelope(
    {
        "contacts": [{"profile": {"name": "Kerry Fisher"}, "wa_id": "8617600000819"}],
        "messages": [
            {
                "context": {"from": "15550783881", "id": WAMID},
                "from": "8617600000819",
                "id": "wamid.HBgNODYxMzYwMzAxOTc1ORUCABIYFjNFQjA0NUJBNDczOTIzQUZBOUQ0OUEA",
                "timestamp": "1692266760",
                "type": "button",
                "button": {"payload": "Button ID", "text": "Template Button Name"},
            }
        ],
    }
)


def signed(document: dict[str, Any]) -> tuple[bytes, str]:
    body = json.dumps(document).encode()
    return body, "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class World:
    database: Database
    ingress: IngressService
    processor: InboxProcessor
    profile_id: str


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    database = Database(database_url)
    await database.upgrade_schema()
    tenancy = TenancyService(database)
    await tenancy.create_account("SID1", "CID1", api_key="K", rate_card={"marketing": "0.0107"})
    await tenancy.create_waba("SID1", "WABA1")
    await tenancy.create_number("SID1", "WABA1", "15550783881", "PNID1")
    profiles = ProfileService(database, pod="stage", addresses=AddressPolicy(["127.0.0.0/8"]))
    profile = await profiles.create(
        "SID1",
        title="status",
        http_method="POST",
        url="http://127.0.0.1:9/status",
        body=None,
        headers={},
    )
    await profiles.attach_to_number(
        "SID1", "WABA1", "15550783881", profile_id=profile.id, webhook_url="http://127.0.0.1:9/push"
    )
    message = Message(
        id="ad97e000-c923-4000-b3a3-0b1000000d97:0", sid="SID1", waba_id="WABA1",
        number="15550783881", phone_number_id="PNID1", recipient="8617600000819", wamid=WAMID,
        type="template", template_id="233", template_name="Template Name",
        template_components=COMPONENTS, ref="r0", ref1="r1", ref2=None, callback_url=None,
        callback_profile_id=None, tag_name="Tag Name", forwarded_rank=0,
    )  # fmt: skip
    async with database.transaction() as connection:
        await message_rows.insert_message(connection, message, utcnow())
    try:
        yield World(
            database,
            IngressService(database, app_secret=SECRET, verify_token="v"),
            InboxProcessor(database),
            profile.id,
        )
    finally:
        await database.close()


async def process_all(world: World) -> int:
    """Process the inbox until nothing is left; how many entries there were."""
    total = 0
    while processed := (await world.processor.process_next()).processed:
        total += processed
    return total


async def feed(world: World, *documents: dict[str, Any]) -> None:
    for document in documents:
        body, signature = signed(document)
        await post_webhook(world.ingress, body, signature)
    await process_all(world)


async def outcomes(world: World) -> dict[str, int]:
    async with world.database.transaction() as connection:
        return await inbox_rows.count_by_outcome(connection, InboxKind.META_WEBHOOK)


async def sent_requests(world: World) -> list[tuple[str, dict[str, Any]]]:
    """Every request queued to the customer, in the order they were written."""
    written = await queued_deliveries(world.database)
    assert all(d.status in (DeliveryStatus.PENDING, DeliveryStatus.QUEUED) for d in written)
    out = []
    for delivery in written:
        kind = "push" if delivery.url.endswith("/push") else "status"
        if delivery.method == "GET":
            out.append((kind, dict(parse_qsl(urlsplit(delivery.url).query))))
        else:
            out.append((kind, json.loads(delivery.body or "{}")))
    return out


async def test_a_wrong_or_missing_signature_stores_nothing(world: World) -> None:
    body, signature = signed(status("sent"))
    for bad in (None, "", "sha256=" + "0" * 64, signature.replace("sha256=", "sha1=")):
        with pytest.raises(errors.SignatureInvalid):
            await post_webhook(world.ingress, body, bad)
    reserialised = json.dumps(json.loads(body), indent=2).encode()
    with pytest.raises(errors.SignatureInvalid):
        await post_webhook(world.ingress, reserialised, signature)
    assert await outcomes(world) == {}


async def test_statuses_become_seed_002_callbacks_and_seed_003_pushes(world: World) -> None:
    await feed(world, status("sent", conversation=CONVERSATION, pricing=PRICING))
    await feed(world, status("delivered", conversation=CONVERSATION, pricing=PRICING))
    await feed(world, status("read"))
    requests = await sent_requests(world)
    callbacks = [body for kind, body in requests if kind == "status"]
    pushes = [body for kind, body in requests if kind == "push"]
    assert [c["status"] for c in callbacks] == ["sent", "delivered", "read"]
    delivered = callbacks[1]
    assert delivered == {
        "id": "ad97e000-c923-4000-b3a3-0b1000000d97:0",
        "custom_response": "false",
        "timestamp": "1660019986",
        "mobile": "8617600000819",
        "message": "Message delivered",
        "status": "delivered",
        "phone_number": "8617600000819",
        "whatsapp_number": "15550783881",
        "ref": "r0",
        "ref1": "r1",
        "price": "0.0107",
        "callback_profile_id": world.profile_id,
    }
    assert "price" not in callbacks[0]
    assert "price" not in callbacks[2]
    assert pushes[0] == {
        "statuses": [
            {
                "id": WAMID,
                "status": "sent",
                "timestamp": "1660019986",
                "recipient_id": "8617600000819",
                "conversation": {
                    "id": "72569257438b471cae074da84bed1b83",
                    "expiration_timestamp": "1660106400",
                    "origin": {"type": "marketing"},
                },
                # Meta's pricing passes through (issue 23: it was dropped).
                "pricing": PRICING,
            }
        ],
        "business_phone": "15550783881",
        "messaging_product": "whatsapp",
    }
    assert pushes[2]["statuses"][0] == {
        "id": WAMID, "status": "read", "timestamp": "1660019986", "recipient_id": "8617600000819",
    }  # fmt: skip


async def test_duplicates_and_late_statuses_are_recorded_not_forwarded(world: World) -> None:
    await feed(world, status("sent"), status("sent"))
    await feed(world, status("read"), status("read"))
    await feed(world, status("delivered"))  # Meta sent it after read
    requests = await sent_requests(world)
    assert [b["status"] for k, b in requests if k == "status"] == ["sent", "read"]
    async with world.database.transaction() as connection:
        assert await message_rows.status_sequence(connection, WAMID) == [
            "sent",
            "read",
            "delivered",
        ]


async def test_a_failure_carries_meta_s_first_error(world: World) -> None:
    await feed(world, status("failed", errors=FAILURE))
    (callback,) = [b for k, b in await sent_requests(world) if k == "status"]
    assert callback["status"] == "failed"
    assert callback["error_code"] == "131050"
    assert callback["error"].startswith("Unable to deliver the message.")
    (push,) = [b for k, b in await sent_requests(world) if k == "push"]
    assert push["statuses"][0]["errors"] == [{"code": 131050, "title": FAILURE[0]["title"]}]


async def test_deleted_has_the_seed_shape(world: World) -> None:
    await feed(world, status("deleted"))
    (push,) = [b for k, b in await sent_requests(world) if k == "push"]
    assert push["statuses"][0] == {
        "id": WAMID, "status": "deleted", "timestamp": "1660019986",
        "recipient_id": "8617600000819", "type": "message",
        "message": {"recipient_id": "8617600000819"},
    }  # fmt: skip


async def test_a_quick_reply_click_is_pushed_with_wa_ext(world: World) -> None:
    await feed(world, BUTTON, BUTTON)
    (push,) = [b for k, b in await sent_requests(world) if k == "push"]
    assert push == {
        "business_phone": "15550783881",
        "contacts": [{"profile": {"name": "Kerry Fisher"}, "wa_id": "8617600000819"}],
        "messages": [
            {
                "button": {"payload": "Button ID", "text": "Template Button Name"},
                "from": "8617600000819",
                "id": "wamid.HBgNODYxMzYwMzAxOTc1ORUCABIYFjNFQjA0NUJBNDczOTIzQUZBOUQ0OUEA",
                "timestamp": "1692266760",
                "type": "button",
                "context": {"from": "15550783881", "id": WAMID},
                "tag_name": "Tag Name",
                "wa_ext": json.dumps(
                    {"templateId": 233, "templateName": "Template Name", "components": COMPONENTS},
                    separators=(",", ":"),
                ),
            }
        ],
        "messaging_product": "whatsapp",
    }


async def test_unknown_numbers_are_counted_and_unknown_messages_held(world: World) -> None:
    other = status("sent")
    other["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "UNKNOWN"
    await feed(world, other, status("sent", wamid="wamid.unknown"))
    assert await sent_requests(world) == []
    assert await outcomes(world) == {"unknown": 1, "processed": 1}
    async with world.database.transaction() as connection:
        (held,) = await message_rows.statuses_of(connection, ["wamid.unknown"])
    assert held.message_id is None, "the status waits for its message"


async def record_sent(world: World, message: Message) -> None:
    """What a send does: the message written ahead, then its wamid through the inbox."""
    assert message.wamid is not None
    async with world.database.transaction() as connection:
        await message_rows.insert_messages(
            connection, [dataclasses.replace(message, wamid=None)], utcnow()
        )
    async with world.database.transaction() as connection:
        record = SentRecord(message.phone_number_id, message.id, message.wamid)
        await inbox_rows.append(connection, sent_entries([record]), utcnow())


async def test_statuses_that_overtake_their_message_are_held_then_forwarded_in_order(
    world: World,
) -> None:
    early = "wamid.early"
    await feed(world, status("sent", wamid=early), status("delivered", wamid=early))
    assert await sent_requests(world) == []
    assert await process_all(world) == 0, "they wait for the message, not for a timer"

    message = dataclasses.replace(await stored_message(world), id="m-early", wamid=early)
    await record_sent(world, message)
    assert await process_all(world) == 1
    await feed(world, status("read", wamid=early))
    callbacks = [b["status"] for k, b in await sent_requests(world) if k == "status"]
    assert callbacks == ["sent", "delivered", "read"]
    async with world.database.transaction() as connection:
        assert await message_rows.status_sequence(connection, early) == [
            "sent",
            "delivered",
            "read",
        ]
    assert await outcomes(world) == {"processed": 3}


async def test_a_batch_applies_a_message_s_statuses_in_the_order_they_were_acknowledged(
    world: World,
) -> None:
    for name in ("sent", "delivered", "read"):
        body, signature = signed(status(name))
        await post_webhook(world.ingress, body, signature)
    assert await process_all(world) == 3
    callbacks = [b["status"] for k, b in await sent_requests(world) if k == "status"]
    assert callbacks == ["sent", "delivered", "read"]
    by_seq = await queued_deliveries(world.database, profile_id=world.profile_id)
    assert [d.status for d in by_seq] == [
        DeliveryStatus.PENDING,
        DeliveryStatus.QUEUED,
        DeliveryStatus.QUEUED,
    ], "one at a time to the customer"


async def stored_message(world: World) -> Message:
    async with world.database.transaction() as connection:
        message = await message_rows.get_by_wamid(connection, WAMID)
    assert message is not None
    return message


async def test_tech_provider_accounts_never_see_a_price(world: World) -> None:
    async with world.database.transaction() as connection:
        await tenancy_rows.set_billing(connection, "SID1", "tech_provider", {"marketing": "0.01"})
    await feed(world, status("delivered", conversation=CONVERSATION, pricing=PRICING))
    (callback,) = [b for k, b in await sent_requests(world) if k == "status"]
    assert "price" not in callback


def test_verification_echoes_the_challenge_only_for_our_token(world: World) -> None:
    assert world.ingress.verify_subscription("subscribe", "v", "1158201444") == "1158201444"
    with pytest.raises(errors.Forbidden):
        world.ingress.verify_subscription("subscribe", "wrong", "1158201444")
    with pytest.raises(errors.Forbidden):
        world.ingress.verify_subscription("unsubscribe", "v", "1")
