"""Users by BSUID and prices from per-message pricing, through the inbox on a real database.

Meta's payloads are the fixtures' (tests/fixtures/meta), about this test's number.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.meta_fixtures import notification, with_phone_number_id
from wagate.delivery.ssrf import AddressPolicy
from wagate.domain.clock import utcnow
from wagate.domain.inbox import SentRecord, sent_entries
from wagate.domain.messages import Message
from wagate.domain.pricing import parse_rate_card
from wagate.domain.status_plan import HELD_CONTACT_KEY
from wagate.services.activity import ActivityService
from wagate.services.inbox_processing import InboxProcessor
from wagate.services.ingress import IngressService
from wagate.services.profiles import ProfileService
from wagate.services.tenancy import TenancyService
from wagate.store import Database
from wagate.store import deliveries as delivery_rows
from wagate.store import inbox as inbox_rows
from wagate.store import messages as message_rows
from wagate.store.tables import inbound_messages, message_statuses, messages, user_identities

NUMBER = "15550783881"
PNID = "PNID-BSUID"
BSUID = "US.13491208655302741918"
NEW_BSUID = "US.57240081357714530312"
PMP_WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3NjY0QjI4MzdFQ0Y0RkQ0NkEA"
BSUID_WAMID = "wamid.HBgLVVMuMTM0OTEyMDg2NTUzMDI3NDE5MTgVAgARGBJCU1VJRFNFTlQwMDAwMDAwMDAA"


@dataclass
class World:
    database: Database
    ingress: IngressService
    processor: InboxProcessor


def _message(message_id: str, wamid: str, recipient: str, user_id: str | None) -> Message:
    return Message(
        id=message_id, sid="SID1", waba_id="WABA1", number=NUMBER, phone_number_id=PNID,
        recipient=recipient, wamid=wamid, type="template", template_id=None,
        template_name="offer", template_components=None, ref="order-1", ref1=None, ref2=None,
        callback_url=None, callback_profile_id=None, tag_name=None, forwarded_rank=0,
        recipient_user_id=user_id,
    )  # fmt: skip


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    database = Database(database_url)
    await database.upgrade_schema()
    tenancy = TenancyService(database)
    await tenancy.create_account("SID1", "CID1", api_key="K")
    await tenancy.create_waba("SID1", "WABA1")
    await tenancy.create_number("SID1", "WABA1", NUMBER, PNID)
    profiles = ProfileService(database, pod="stage", addresses=AddressPolicy(["127.0.0.0/8"]))
    status_profile = await profiles.create(
        "SID1", title="status", http_method="POST", url="http://127.0.0.1:9/status",
        body=None, headers={},
    )  # fmt: skip
    incoming = await profiles.create(
        "SID1", title="incoming", http_method="POST", url="http://127.0.0.1:9/incoming",
        body=json.dumps({"from": "<from>", "user_id": "<user_id>", "username": "<username>"}),
        headers={},
    )  # fmt: skip
    await profiles.attach_to_number(
        "SID1", "WABA1", NUMBER, profile_id=status_profile.id,
        webhook_url="http://127.0.0.1:9/push", incoming_profile_id=incoming.id,
    )  # fmt: skip
    async with database.transaction() as connection:
        now = utcnow()
        await message_rows.insert_message(
            connection, _message("m-pmp:0", PMP_WAMID, "16505551234", None), now
        )
        await message_rows.insert_message(
            connection, _message("m-bsuid:0", BSUID_WAMID, "", BSUID), now
        )
    card = parse_rate_card({"marketing": {"US": "0.025"}, "utility": {"*": "0.004"}})
    try:
        yield World(
            database,
            IngressService(database, app_secret="s", verify_token="v"),
            InboxProcessor(database, rate_card=card),
        )
    finally:
        await database.close()


async def feed(world: World, *cases: tuple[str, str]) -> None:
    for name, case in cases:
        document = with_phone_number_id(notification(name, case), PNID)
        await world.ingress.store(json.dumps(document).encode())
    while (await world.processor.process_next()).processed:
        pass


async def sent(world: World) -> list[tuple[str, dict[str, Any]]]:
    async with world.database.transaction() as connection:
        page, _ = await delivery_rows.list_deliveries(
            connection, "SID1", profile_id=None, status=None,
            since=None, until=None, limit=100, offset=0,
        )  # fmt: skip
    return [
        (d.url.rsplit("/", 1)[-1], json.loads(d.body or "{}"))
        for d in sorted(page, key=lambda d: d.seq)
    ]


async def test_a_bsuid_only_user_is_recorded_and_reaches_the_customer_by_bsuid(
    world: World,
) -> None:
    await feed(world, ("bsuid_inbound", "text_without_phone"))
    [(_, incoming), (_, push)] = [r for r in await sent(world) if r[0] in ("incoming", "push")]
    assert incoming == {"user_id": BSUID, "username": "@sheena.nelson"}  # no "from"
    assert push["contacts"][0]["user_id"] == BSUID
    assert "wa_id" not in push["contacts"][0]
    async with world.database.transaction() as connection:
        row = (await connection.execute(select(inbound_messages))).one()
        known = (await connection.execute(select(user_identities))).all()
    assert (row.sender, row.sender_user_id) == ("", BSUID)
    assert [(k.waba_id, k.user_id, k.phone, k.username) for k in known] == [
        ("WABA1", BSUID, None, "@sheena.nelson")
    ]


async def test_a_changed_bsuid_or_number_updates_the_mapping(world: World) -> None:
    await feed(world, ("bsuid_inbound", "text_with_phone_and_bsuid"))
    await feed(world, ("user_id_changes", "user_changed_number"))
    async with world.database.transaction() as connection:
        rows = (await connection.execute(select(user_identities))).all()
    assert [(r.user_id, r.phone) for r in rows] == [(BSUID, "16505559876")]
    await feed(world, ("user_id_changes", "user_changed_user_id"))
    async with world.database.transaction() as connection:
        rows = (await connection.execute(select(user_identities))).all()
    assert [r.user_id for r in rows] == [NEW_BSUID]


async def test_the_price_is_decided_once_and_shown_once_per_billable_message(
    world: World,
) -> None:
    await feed(
        world,
        ("statuses_pmp", "sent_marketing"),
        ("statuses_pmp", "delivered_marketing"),
        ("statuses_pmp", "read_marketing"),
    )
    callbacks = [body for kind, body in await sent(world) if kind == "status"]
    assert [(c["status"], c.get("price")) for c in callbacks] == [
        ("sent", None),
        ("delivered", "0.025"),
        ("read", None),
    ]
    pushes = [body for kind, body in await sent(world) if kind == "push"]
    assert pushes[0]["statuses"][0]["pricing"]["pricing_model"] == "PMP"
    async with world.database.transaction() as connection:
        [message] = (await message_rows.by_wamid(connection, {PMP_WAMID})).values()
    assert message.price == "0.025"
    async with world.database.transaction() as connection:
        known = (await connection.execute(select(user_identities))).all()
    assert [(k.user_id, k.phone) for k in known] == [(BSUID, "16505551234")], "from the contacts"
    view = await ActivityService(world.database).messages("SID1", search=None, limit=10, offset=0)
    assert {v.message.id: v.price for v in view.items}["m-pmp:0"] == "0.025"


async def test_statuses_of_a_message_sent_to_a_bsuid_name_the_user(world: World) -> None:
    await feed(world, ("statuses_pmp", "sent_to_bsuid"), ("statuses_pmp", "delivered_to_bsuid"))
    callbacks = [body for kind, body in await sent(world) if kind == "status"]
    assert [c.get("user_id") for c in callbacks] == [BSUID, BSUID]
    assert all("mobile" not in c for c in callbacks)
    assert callbacks[1]["username"] == "@sheena.nelson"
    assert callbacks[1]["price"] == "0.004"


async def test_statuses_held_for_their_message_keep_the_user_they_named(world: World) -> None:
    async with world.database.transaction() as connection:
        await connection.execute(
            update(messages).where(messages.c.id == "m-bsuid:0").values(wamid=None)
        )
    await feed(world, ("statuses_pmp", "sent_to_bsuid"), ("statuses_pmp", "delivered_to_bsuid"))
    assert await sent(world) == [], "held: the message has no wamid yet"
    async with world.database.transaction() as connection:
        await inbox_rows.append(
            connection, sent_entries([SentRecord(PNID, "m-bsuid:0", BSUID_WAMID)]), utcnow()
        )
    await feed(world)
    callbacks = [body for kind, body in await sent(world) if kind == "status"]
    assert [c.get("user_id") for c in callbacks] == [BSUID, BSUID]
    assert callbacks[1]["username"] == "@sheena.nelson"
    pushes = [body for kind, body in await sent(world) if kind == "push"]
    assert [p["contacts"][0]["user_id"] for p in pushes] == [BSUID, BSUID]
    async with world.database.transaction() as connection:
        payloads = (
            await connection.execute(
                select(message_statuses.c.payload).where(message_statuses.c.wamid == BSUID_WAMID)
            )
        ).scalars()
        assert all(HELD_CONTACT_KEY not in json.loads(p) for p in payloads), "Meta's object"


async def test_the_portal_finds_a_users_messages_by_bsuid(world: World) -> None:
    await feed(world, ("bsuid_inbound", "text_with_phone_and_bsuid"))
    activity = ActivityService(world.database)
    page = await activity.messages("SID1", search=BSUID, limit=10, offset=0)
    assert sorted(v.message.id for v in page.items) == ["m-bsuid:0", "m-pmp:0"]


async def test_a_number_change_without_a_bsuid_moves_the_users_known_number(
    world: World,
) -> None:
    await feed(world, ("inbound_messages", "text"))  # pywa's: wa_id and user_id
    await feed(world, ("system_messages", "phone_number_change"))  # from, no from_user_id
    async with world.database.transaction() as connection:
        rows = (await connection.execute(select(user_identities))).all()
    assert [(r.user_id, r.phone) for r in rows] == [(BSUID, "972912345678")]
