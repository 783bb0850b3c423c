"""Reading an account's activity on SQLite and PostgreSQL: messages, statuses, deliveries.

Rows are written as the gateway writes them (the columns the portal reads);
every read is checked to stay inside its account.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import POLICY
from wagate.blobs import LocalBlobStore
from wagate.domain.callbacks import DeliveryStatus
from wagate.domain.errors import NotFound
from wagate.services.activity import ActivityService
from wagate.services.tenancy import TenancyService
from wagate.services.uploads import UploadService
from wagate.store import Database
from wagate.store.tables import deliveries, message_statuses, messages, uploads

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
NUMBERS = {"SID1": "15550000001", "SID2": "15550000002"}
DELIVERED = {"status": "delivered", "pricing": {"billable": True, "category": "marketing"}}


@dataclass
class World:
    database: Database
    activity: ActivityService
    tenancy: TenancyService

    async def message(self, sid: str, index: int, **fields: Any) -> str:
        message_id = f"{uuid.uuid4()}:0"
        values = {
            "id": message_id, "sid": sid, "waba_id": f"WABA-{sid}", "number": NUMBERS[sid],
            "phone_number_id": f"PN-{sid}", "recipient": f"91987654{index:04d}",
            "wamid": f"wamid.{uuid.uuid4().hex}", "type": "template",
            "template_name": "order_update", "forwarded_rank": 0,
            "created_at": T0 + timedelta(seconds=index), "updated_at": T0,
        }  # fmt: skip
        values.update(fields)
        async with self.database.transaction() as connection:
            await connection.execute(messages.insert().values(**values))
        return message_id

    async def status(self, wamid: str, status: str, forwarded: bool, at: int, **extra: Any) -> None:
        async with self.database.transaction() as connection:
            await connection.execute(
                message_statuses.insert().values(
                    id=str(uuid.uuid4()), wamid=wamid, status=status, message_id=None,
                    meta_timestamp=str(1_700_000_000 + at), forwarded=forwarded,
                    payload=json.dumps({"status": status, **extra}),
                    created_at=T0 + timedelta(seconds=at),
                )
            )  # fmt: skip

    async def delivery(self, sid: str, subject_id: str, at: int, **fields: Any) -> str:
        delivery_id = f"msg_{uuid.uuid4().hex}"
        values = {
            "id": delivery_id, "sid": sid, "event_id": str(uuid.uuid4()),
            "subject_id": subject_id, "profile_id": None, "method": "POST",
            "url": "https://receiver.example/hook", "endpoint": "https://receiver.example:443",
            "status": "succeeded", "attempts": 1, "run_at": T0,
            "created_at": T0 + timedelta(seconds=at), "updated_at": T0,
            "last_response_status": 200,
        }  # fmt: skip
        values.update(fields)
        async with self.database.transaction() as connection:
            await connection.execute(deliveries.insert().values(**values))
        return delivery_id


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    database = Database(database_url)
    await database.upgrade_schema()
    tenancy = TenancyService(database)
    for sid in ("SID1", "SID2"):
        await tenancy.create_account(sid, f"C-{sid}", rate_card={"marketing": "0.0107"})
        await tenancy.create_waba(sid, f"WABA-{sid}")
        await tenancy.create_number(sid, f"WABA-{sid}", NUMBERS[sid], f"PN-{sid}")
    try:
        yield World(database, ActivityService(database), tenancy)
    finally:
        await database.close()


async def wamid_of(world: World, message_id: str) -> str:
    return (await world.activity.message("SID1", message_id)).view.message.wamid


async def test_messages_come_newest_first_a_page_at_a_time_within_the_account(
    world: World,
) -> None:
    mine = [await world.message("SID1", index) for index in range(5)]
    await world.message("SID2", 9)
    first = await world.activity.messages("SID1", search=None, limit=3, offset=0)
    assert [v.message.id for v in first.items] == mine[::-1][:3]
    assert first.has_more
    rest = await world.activity.messages("SID1", search=None, limit=3, offset=3)
    assert [v.message.id for v in rest.items] == mine[::-1][3:]
    assert not rest.has_more


async def test_messages_are_found_by_recipient_ref_or_id(world: World) -> None:
    target = await world.message("SID1", 1, ref="order-42", ref1="shop_7", ref2="100%")
    other = await world.message("SID1", 2, ref="order-43")
    await world.message("SID2", 1, ref="order-42")  # another account's
    wamid = await wamid_of(world, target)

    async def found(text: str) -> list[str]:
        page = await world.activity.messages("SID1", search=text, limit=10, offset=0)
        return [view.message.id for view in page.items]

    assert await found("order-42") == [target]
    assert await found("order-4") == [other, target]
    assert await found("shop_7") == [target]
    assert await found("shop%7") == []  # LIKE wildcards are literal
    assert await found("100%") == [target]
    assert await found(target) == [target]
    assert await found(wamid) == [target]
    assert await found("919876540001") == [target]
    assert await found("+91 98765 40001") == [target]  # the digits of a written number
    assert await found("nothing like it") == []


async def test_a_message_has_every_status_in_order_and_the_price_it_was_told(
    world: World,
) -> None:
    message_id = await world.message("SID1", 1, forwarded_rank=3)
    wamid = await wamid_of(world, message_id)
    await world.status(wamid, "sent", True, 1)
    await world.status(wamid, "read", True, 2)
    await world.status(wamid, "delivered", False, 3, pricing=DELIVERED["pricing"])
    history = await world.activity.message("SID1", message_id)
    statuses = [(s.status, s.forwarded) for s in history.view.statuses]
    assert statuses == [("sent", True), ("read", True), ("delivered", False)]
    assert history.view.message.current_status == "read"
    assert history.view.price == "0.0107"
    listed = await world.activity.messages("SID1", search=None, limit=5, offset=0)
    assert listed.items[0].price == "0.0107"
    assert [s.status for s in listed.items[0].statuses] == ["sent", "read", "delivered"]


async def test_a_message_is_not_anothers_accounts(world: World) -> None:
    message_id = await world.message("SID1", 1)
    with pytest.raises(NotFound):
        await world.activity.message("SID2", message_id)
    assert await world.activity.subject_kind("SID2", message_id) is None
    assert await world.activity.subject_kind("SID1", message_id) == "message"


async def test_a_subjects_deliveries_are_its_own_accounts_in_order(world: World) -> None:
    message_id = await world.message("SID1", 1)
    push = await world.delivery("SID1", message_id, 2)
    callback = await world.delivery(
        "SID1", message_id, 1, method="GET", status="dead", last_response_status=500
    )
    await world.delivery("SID2", message_id, 3)  # the same subject id in another account
    await world.delivery("SID1", "another-subject", 0)
    found = await world.activity.deliveries_about("SID1", message_id)
    assert [d.id for d in found] == [callback, push]
    assert found[0].status is DeliveryStatus.DEAD
    assert found[0].kind.value == "callback_url callback"
    assert found[1].kind.value == "webhook push"
    history = await world.activity.message("SID1", message_id)
    assert [d.id for d in history.deliveries] == [callback, push]


async def test_wabas_and_numbers_are_the_accounts(world: World) -> None:
    wabas, numbers = await world.tenancy.wabas_and_numbers("SID2")
    assert [w.waba_id for w in wabas] == ["WABA-SID2"]
    assert [n.number for n in numbers] == [NUMBERS["SID2"]]
    account = await world.tenancy.account("SID2")
    assert account is not None
    assert account.company_id == "C-SID2"
    assert await world.tenancy.account("nobody") is None


async def test_uploads_of_every_waba_of_the_account_newest_first(
    world: World, tmp_path: Path
) -> None:
    await world.tenancy.create_waba("SID1", "WABA-SID1-B")
    ids = []
    for index, (sid, waba) in enumerate(
        [
            ("SID1", "WABA-SID1"),
            ("SID1", "WABA-SID1-B"),
            ("SID2", "WABA-SID2"),
            ("SID1", "WABA-SID1"),
        ]
    ):
        upload_id = str(uuid.uuid4())
        ids.append(upload_id)
        created = T0 + timedelta(minutes=index)
        async with world.database.transaction() as connection:
            await connection.execute(
                uploads.insert().values(
                    id=upload_id, sid=sid, waba_id=waba, file_name=f"f{index}.png",
                    media_type="image/png", size=10, sha256="0" * 64, blob_key=f"k{index}",
                    status="PENDING", created_at=created, updated_at=created,
                    expires_at=created + timedelta(days=1), purge_at=created + timedelta(days=3),
                )
            )  # fmt: skip
    service = UploadService(world.database, LocalBlobStore(tmp_path / "media"), POLICY)
    page, total = await service.list_for_account("SID1", limit=2, offset=0)
    assert ([u.id for u in page], total) == ([ids[3], ids[1]], 3)
    page, total = await service.list_for_account("SID1", limit=2, offset=2)
    assert [u.id for u in page] == [ids[0]]
    assert (await service.get_for_account("SID1", ids[1])).waba_id == "WABA-SID1-B"
    with pytest.raises(NotFound):
        await service.get_for_account("SID1", ids[2])
