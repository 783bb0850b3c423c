"""Sends that respect limits, on a real database with the sandbox as Meta (in-process, on
127.0.0.1): the number's bucket, Meta's throttling, the queue and its deadline,
Idempotency-Key, and callback targets on private addresses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from wagate.delivery.ssrf import AddressPolicy
from wagate.domain import errors
from wagate.domain.clock import utcnow
from wagate.domain.send_limits import SendRate
from wagate.sandbox import SandboxSettings, create_sandbox_app
from wagate.services.inbox_processing import InboxProcessor
from wagate.services.messages import MessageService
from wagate.services.queued_sends import QueuedSendService
from wagate.services.send_ledger import SendPolicy
from wagate.services.tenancy import TenancyService
from wagate.settings import Settings
from wagate.store import Database, send_queue
from wagate.store import deliveries as delivery_rows
from wagate.store import messages as message_rows
from wagate.upstream.graph import GraphClient

TOKEN = "integration-token"
SETTINGS = Settings(meta_access_token=TOKEN, meta_app_id="APP1", meta_app_secret="s")
NUMBER, PNID = "15550783881", "PNID1"
USER, OTHER_USER = "15550100100", "15550100200"
LOOPBACK = AddressPolicy(["127.0.0.0/8"])


def text(to: str = USER, body: str = "hello") -> dict[str, Any]:
    return {"to": to, "type": "text", "text": {"body": body}}


@dataclass
class World:
    database: Database
    graph: GraphClient
    http: aiohttp.ClientSession
    sandbox_url: str

    def services(self, policy: SendPolicy) -> tuple[MessageService, QueuedSendService]:
        return (
            MessageService(self.database, self.graph, policy),
            QueuedSendService(self.database, self.graph, policy),
        )

    async def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        method = self.http.post if body is not None else self.http.get
        async with method(f"{self.sandbox_url}/_sandbox/{path}", json=body) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def accepted_by_meta(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = (await self.control("messages"))["data"]
        return data


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    database = Database(database_url)
    await database.upgrade_schema()
    tenancy = TenancyService(database)
    await tenancy.create_account("SID1", "C1", api_key="K1")
    await tenancy.create_waba("SID1", "WABA1")
    await tenancy.create_number("SID1", "WABA1", NUMBER, PNID)
    server = TestServer(create_sandbox_app(SandboxSettings.of(SETTINGS)), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            url = str(server.make_url("")).rstrip("/")
            graph = GraphClient(http, base_url=url, version="v21.0", app_id="APP1",
                                access_token=TOKEN)  # fmt: skip
            yield World(database, graph, http, url)
    finally:
        await server.close()
        await database.close()


async def drain(
    queued: QueuedSendService, done: Callable[[], Awaitable[bool]], timeout: float = 30.0
) -> None:
    """Claim and send queued sends, as the send lane does, until ``done``."""
    deadline = time.monotonic() + timeout
    while not await done():
        assert time.monotonic() < deadline, "the queue did not drain in time"
        claimed = await queued.claim("integration-worker", 32, timedelta(minutes=1))
        await asyncio.gather(*(queued.send(item) for item in claimed.sends))
        await asyncio.sleep(0.05)
    await queued.close()


async def test_sends_over_the_rate_are_queued_and_sent_when_allowed(world: World) -> None:
    policy = SendPolicy(rate=SendRate(5.0), addresses=LOOPBACK)
    frozen = utcnow()
    # The API's clock stands still: however slow the machine, the bucket does not refill.
    messages = MessageService(world.database, world.graph, policy, clock=lambda: frozen)
    queued = QueuedSendService(world.database, world.graph, policy)
    phone = await messages.number_of("SID1", NUMBER)
    outcomes = await asyncio.gather(
        *(messages.send(phone, text(body=f"m{i}"), {"ref": f"r{i}"}) for i in range(12))
    )
    assert sum(o.queued for o in outcomes) == 7, "one second's worth went at once"
    assert len(await world.accepted_by_meta()) == 5

    async def all_sent() -> bool:
        return len(await world.accepted_by_meta()) == 12

    await drain(queued, all_sent)
    bodies = sorted(m["request"]["text"]["body"] for m in await world.accepted_by_meta())
    assert bodies == sorted(f"m{i}" for i in range(12)), "every message once, none twice"
    while (await InboxProcessor(world.database).process_next()).processed:
        pass
    async with world.database.transaction() as connection:
        stored = await message_rows.by_ids(connection, [o.id for o in outcomes])
        assert await send_queue.waiting_count(connection) == 0
    assert all(m.wamid for m in stored.values()), "each wamid came through the inbox"


async def test_a_send_meta_throttles_is_queued_then_sent(world: World) -> None:
    await world.control("limits", {"messages_per_second": 0.5})
    messages, queued = world.services(SendPolicy(rate=SendRate(0), addresses=LOOPBACK))
    phone = await messages.number_of("SID1", NUMBER)
    outcomes = [await messages.send(phone, text(body=f"t{i}"), None) for i in range(2)]
    assert [o.queued for o in outcomes] == [False, True], "Meta takes one per two seconds"

    async def all_sent() -> bool:
        return len(await world.accepted_by_meta()) == 2

    await drain(queued, all_sent)
    assert (await world.control("limits"))["throttled"] >= 1


async def test_a_user_who_asks_to_be_paced_waits_and_others_do_not(world: World) -> None:
    await world.control("limits", {"pair_interval_ms": 60_000})
    messages, _ = world.services(SendPolicy(rate=SendRate(0), addresses=LOOPBACK))
    phone = await messages.number_of("SID1", NUMBER)
    first = await messages.send(phone, text(), None)
    paced = await messages.send(phone, text(body="again"), None)
    later = await messages.send(phone, text(body="and again"), None)
    other = await messages.send(phone, text(to=OTHER_USER), None)
    assert (first.queued, paced.queued, later.queued, other.queued) == (False, True, True, False)
    assert (await world.control("limits"))["pair_throttled"] == 1, "the third waited unasked"
    async with world.database.transaction() as connection:
        due = await send_queue.due_counts(connection, utcnow())
    assert due == {}, "both wait for the user's pause"


async def test_an_idempotency_key_answers_the_first_result_and_sends_once(world: World) -> None:
    messages, _ = world.services(SendPolicy(rate=SendRate(0), addresses=LOOPBACK))
    phone = await messages.number_of("SID1", NUMBER)
    first = await messages.send(phone, text(), None, "order-42")
    again = await messages.send(phone, text(), None, "order-42")
    assert again == first
    together = await asyncio.gather(
        *(messages.send(phone, text(body="twice"), None, "order-43") for _ in range(3))
    )
    assert len(set(together)) == 1
    other = await messages.send(phone, text(), None, "order-44")
    assert other.id != first.id
    assert len(await world.accepted_by_meta()) == 3

    bad = {"to": USER, "type": "image", "image": {"id": "404404404"}}
    with pytest.raises(errors.MetaError) as refused:
        await messages.send(phone, bad, None, "order-45")
    with pytest.raises(errors.MetaError) as replayed:
        await messages.send(phone, bad, None, "order-45")
    assert (replayed.value.status, replayed.value.code) == (400, refused.value.code)


async def test_after_meta_failed_a_retry_with_the_key_sends(world: World) -> None:
    messages, _ = world.services(SendPolicy(rate=SendRate(0), addresses=LOOPBACK))
    phone = await messages.number_of("SID1", NUMBER)
    await world.control("faults", {"fail_next": 1, "fail_status": 503})
    with pytest.raises(errors.MetaTransientError):
        await messages.send(phone, text(), None, "order-46")
    retried = await messages.send(phone, text(), None, "order-46")
    assert retried.wamid is not None
    assert [m["id"] for m in await world.accepted_by_meta()] == [retried.wamid]
    assert await messages.send(phone, text(), None, "order-46") == retried


async def test_a_queued_send_past_its_time_gets_a_failed_callback(world: World) -> None:
    policy = SendPolicy(rate=SendRate(1.0), queue_ttl=timedelta(milliseconds=200),
                        addresses=LOOPBACK)  # fmt: skip
    frozen = utcnow()
    messages = MessageService(world.database, world.graph, policy, clock=lambda: frozen)
    queued = QueuedSendService(world.database, world.graph, policy)
    phone = await messages.number_of("SID1", NUMBER)
    callback = {"callback_url": "http://127.0.0.1:9/status", "ref": "late"}
    sent = await messages.send(phone, text(), callback)
    late = await messages.send(phone, text(body="late"), callback)
    assert (sent.queued, late.queued) == (False, True)
    await asyncio.sleep(0.3)
    claimed = await queued.claim("integration-worker", 32, timedelta(minutes=1))
    assert claimed.sends == []
    async with world.database.transaction() as connection:
        page, _ = await delivery_rows.list_deliveries(
            connection, "SID1", profile_id=None, status=None,
            since=None, until=None, limit=10, offset=0,
        )  # fmt: skip
        state = (await message_rows.by_ids(connection, [late.id]))[late.id]
        assert await send_queue.waiting_count(connection) == 0
    (failed,) = page
    assert failed.subject_id == late.id
    assert "status=failed" in failed.url
    assert "ref=late" in failed.url
    assert "not%20sent%20within" in failed.url
    assert state.wamid is None
    assert len(await world.accepted_by_meta()) == 1


async def test_a_callback_url_on_a_private_address_is_refused(world: World) -> None:
    messages, _ = world.services(SendPolicy(rate=SendRate(0), addresses=LOOPBACK))
    phone = await messages.number_of("SID1", NUMBER)
    for url in ("http://10.1.2.3/cb", "http://169.254.169.254/latest", "http://[::1]:8080/x"):
        with pytest.raises(errors.InvalidPayload) as refused:
            await messages.send(phone, text(), {"callback_url": url})
        assert "refused by policy" in refused.value.details["extra_info.callback_url"]
    await messages.send(phone, text(), {"callback_url": "http://127.0.0.1:9/cb"})
    assert len(await world.accepted_by_meta()) == 1, "only the allowed one reached Meta"
