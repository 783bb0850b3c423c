"""Messages end to end: send through the gateway, Meta's webhooks back, the customer's callbacks.

Real processes on 127.0.0.1: ``wagate serve`` (API and worker), ``wagate
sandbox`` as Meta (its signed webhooks go to the gateway's ``/webhooks/meta``)
and the test receiver as the customer's endpoints. The gateway and the sandbox
share Meta's app secret, access token and app id.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.callbacks import (
    assert_signed,
    create_profile,
    deliveries,
)
from tests.e2e.conftest import GatewayFactory
from tests.e2e.messaging import (
    COMPONENTS,
    NUMBER_A,
    NUMBER_B,
    PNID_A,
    SEED_002_BODY,
    SEED_002_FIELDS,
    TEMPLATE,
    USER,
    WABA,
    TenantTemplate,
    create_tenant_with_number_a,
    messages_env,
    messaging_world,
    meta_signature,
    meta_status,
    patch_number,
    pushes_about,
    query_of,
    send,
    send_messages,
    sent,
    to_path,
    wait_for,
    wait_settled,
)
from tests.e2e.sandbox import Sandbox
from tests.support import (
    PATIENCE,
    RunningProcess,
    local_http,
    temporary_postgres_database,
    wait_until,
)

BURST_MESSAGES = 160
BURST_WEBHOOKS = 200  # one status for each message, then duplicates of some
BURST_STATUSES = ("sent", "delivered", "read", "failed")


@dataclass(frozen=True)
class World:
    """The module's gateway, sandbox and receiver, and the secrets that sign its callbacks."""

    gateway: RunningProcess
    sandbox: Sandbox
    receiver: RunningProcess
    secret_b: str
    profile: dict[str, Any]


def wait_for_pushes(world: World, wamid: str, count: int) -> None:
    def enough() -> bool:
        return len(pushes_about(world.receiver, "/ok/push-b", wamid)) >= count

    wait_until(enough, PATIENCE, f"{count} pushes about {wamid}")


@pytest.fixture(scope="module")
def world(
    start_module_gateway: GatewayFactory,
    messaging_tenant: TenantTemplate,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    directory = tmp_path_factory.mktemp("messages")
    with messaging_world(start_module_gateway, messaging_tenant, directory) as (
        gateway,
        meta,
        receiver,
    ):
        profile = create_profile(
            gateway, "SID1", "KEY1", title="message status", http_method="POST",
            url=f"{receiver.url}/ok/profile-b", body=SEED_002_BODY,
        )  # fmt: skip
        attached = patch_number(
            gateway,
            NUMBER_B,
            webhook_url=f"{receiver.url}/ok/push-b",
            callback_profile_id=profile["profile_id"],
        )
        assert attached["webhook_url"] == f"{receiver.url}/ok/push-b"
        assert attached["callback_profile_id"] == profile["profile_id"]
        yield World(gateway, meta, receiver, attached["webhook_secret"], profile)


@pytest.fixture
def sandbox(world: World) -> Iterator[Sandbox]:
    world.sandbox.reset()
    yield world.sandbox
    world.sandbox.reset()
    world.sandbox.auto(enabled=False)


# --- seed 002 by callback_url ---------------------------------------------------------------


def test_a_template_message_gets_seed_002_callbacks_at_its_callback_url(
    world: World, sandbox: Sandbox
) -> None:
    prefix = "/ok/seed-002"
    message_id, wamid = sent(
        world.gateway, NUMBER_A, to="+91 98765 43210",  # mobile is USER's digits all the same
        callback_url=world.receiver.url + prefix, ref="order-42", ref1="shop-7", ref2="campaign-3",
    )  # fmt: skip
    at_meta = local_http.get(f"{sandbox.url}/_sandbox/messages/{wamid}", timeout=10).json()
    assert at_meta["phone_number_id"] == PNID_A
    assert at_meta["request"]["template"] == TEMPLATE["template"]
    assert at_meta["wa_id"] == USER

    timestamps = {}
    for count, status in enumerate(("sent", "delivered", "read"), start=1):
        at_meta = meta_status(sandbox.status(wamid, status)["body"])
        timestamps[status] = at_meta["timestamp"]
        if status == "delivered":
            assert at_meta["pricing"]["billable"] is True
        wait_for(world.receiver, prefix, count)
    wait_settled(world.gateway)
    callbacks = to_path(world.receiver, prefix)
    assert len(callbacks) == 3
    common = {
        "id": message_id, "custom_response": "false", "mobile": USER, "phone_number": USER,
        "whatsapp_number": NUMBER_A, "ref": "order-42", "ref1": "shop-7", "ref2": "campaign-3",
    }  # fmt: skip
    assert [query_of(c) for c in callbacks] == [
        {**common, "status": "sent", "message": "Message sent", "timestamp": timestamps["sent"]},
        {
            **common,
            "status": "delivered",
            "message": "Message delivered",
            "timestamp": timestamps["delivered"],
            "price": "0.0107",
        },
        {**common, "status": "read", "message": "Message read", "timestamp": timestamps["read"]},
    ]
    # Signed from the start with the number's secret, which PATCH hands out.
    secret = patch_number(world.gateway, NUMBER_A)["webhook_secret"]
    for callback in callbacks:
        assert callback["method"] == "GET"
        assert urlsplit(callback["target"]).path == prefix
        assert set(query_of(callback)) <= set(SEED_002_FIELDS)
        assert_signed(callback, secret)
    assert len({c["headers"]["webhook-id"] for c in callbacks}) == 3


# --- seed 003 webhook push, and seed 002 through the number's profile ------------------------


def test_a_number_with_a_webhook_url_gets_seed_003_pushes(world: World, sandbox: Sandbox) -> None:
    message_id, wamid = sent(
        world.gateway, NUMBER_B, ref="order-43", tag_name="spring-sale", template_id="233"
    )
    bodies = {}
    for count, status in enumerate(("sent", "delivered", "read"), start=1):
        bodies[status] = sandbox.status(wamid, status)["body"]
        wait_for_pushes(world, wamid, count)
    click = sandbox.click(wamid, payload="TRACK", text="Track my order", name="Ana")["body"]
    failed_id, failed_wamid = sent(world.gateway, NUMBER_B)
    failed = sandbox.status(failed_wamid, "failed")["body"]
    wait_settled(world.gateway)

    conversation = meta_status(bodies["sent"])["conversation"]
    assert conversation["origin"] == {"type": "marketing"}

    def push(status: dict[str, Any]) -> dict[str, Any]:
        return {"statuses": [status], "business_phone": NUMBER_B, "messaging_product": "whatsapp"}

    base = {"id": wamid, "recipient_id": USER}
    expected = [
        push(
            {**base, "status": "sent", "timestamp": meta_status(bodies["sent"])["timestamp"],
             "conversation": conversation, "pricing": meta_status(bodies["sent"])["pricing"]}
        ),
        push(
            {**base, "status": "delivered",
             "timestamp": meta_status(bodies["delivered"])["timestamp"],
             "conversation": {"id": conversation["id"], "origin": {"type": "marketing"}},
             "pricing": meta_status(bodies["delivered"])["pricing"]}
        ),
        push({**base, "status": "read", "timestamp": meta_status(bodies["read"])["timestamp"]}),
    ]  # fmt: skip
    reply = click["entry"][0]["changes"][0]["value"]["messages"][0]
    expected.append(
        {
            "business_phone": NUMBER_B,
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": USER}],
            "messages": [
                {
                    "button": {"payload": "TRACK", "text": "Track my order"},
                    "from": USER,
                    "id": reply["id"],
                    "timestamp": reply["timestamp"],
                    "type": "button",
                    "context": {"from": NUMBER_B, "id": wamid},
                    "tag_name": "spring-sale",
                    "wa_ext": json.dumps(
                        {
                            "templateId": 233,
                            "templateName": "order_update",
                            "components": COMPONENTS,
                        },
                        separators=(",", ":"),
                    ),
                }
            ],
            "messaging_product": "whatsapp",
        }
    )
    pushes = to_path(world.receiver, "/ok/push-b")
    about = pushes_about(world.receiver, "/ok/push-b", wamid)
    assert about == expected
    assert json.loads(about[3]["messages"][0]["wa_ext"]) == {
        "templateId": 233, "templateName": "order_update", "components": COMPONENTS,
    }  # fmt: skip
    assert pushes_about(world.receiver, "/ok/push-b", failed_wamid) == [
        push(
            {"id": failed_wamid, "status": "failed", "timestamp": meta_status(failed)["timestamp"],
             "recipient_id": USER,
             "errors": [{"code": 131026, "title": "Message undeliverable"}]}
        )
    ]  # fmt: skip
    for record in pushes:
        assert record["method"] == "POST"
        assert record["headers"]["Content-Type"] == "application/json"
        assert_signed(record, world.secret_b)

    # The number's profile gets seed 002 as its POST body template says.
    profile_bodies = [json.loads(r["body"]) for r in to_path(world.receiver, "/ok/profile-b")]
    mine = [b for b in profile_bodies if b["id"] == message_id]
    assert [(b["status"], b.get("price")) for b in mine] == [
        ("sent", None),
        ("delivered", "0.0107"),
        ("read", None),
    ]
    assert mine[1] == {
        "id": message_id, "custom_response": "false",
        "timestamp": meta_status(bodies["delivered"])["timestamp"], "mobile": USER,
        "message": "Message delivered", "status": "delivered", "phone_number": USER,
        "whatsapp_number": NUMBER_B, "ref": "order-43", "price": "0.0107",
    }  # fmt: skip
    [failure] = [b for b in profile_bodies if b["id"] == failed_id]
    assert failure["status"] == "failed"
    assert (failure["error_code"], failure["error"]) == ("131026", "Message undeliverable")
    for record in to_path(world.receiver, "/ok/profile-b"):
        assert_signed(record, world.profile["secret"])


# --- Meta's duplicates and reordering ---------------------------------------------------------


def statuses_at_profile(world: World, message_id: str) -> list[str]:
    bodies = [json.loads(r["body"]) for r in to_path(world.receiver, "/ok/profile-b")]
    return [b["status"] for b in bodies if b["id"] == message_id]


def statuses_pushed(world: World, wamid: str) -> list[str]:
    return [
        s["status"]
        for b in pushes_about(world.receiver, "/ok/push-b", wamid)
        for s in b.get("statuses", [])
    ]


def wait_for_statuses(world: World, message_id: str, seen: list[str]) -> None:
    def check() -> bool:
        return statuses_at_profile(world, message_id) == seen

    wait_until(check, PATIENCE, f"callbacks {seen} of {message_id}")


def test_duplicates_reach_the_customer_once_and_a_late_delivered_not_at_all(
    world: World, sandbox: Sandbox
) -> None:
    message_id, wamid = sent(world.gateway, NUMBER_B)
    for status, seen in (("sent", ["sent"]), ("read", ["sent", "read"])):
        assert len(sandbox.status(wamid, status, duplicate=1)["responses"]) == 2
        wait_for_statuses(world, message_id, seen)
    assert len(sandbox.status(wamid, "delivered", duplicate=2)["responses"]) == 3
    wait_settled(world.gateway)

    assert statuses_at_profile(world, message_id) == ["sent", "read"]
    assert statuses_pushed(world, wamid) == ["sent", "read"]
    assert re.search(
        rf"message\.status_not_forwarded\b.*message_id={re.escape(message_id)}.*status=delivered",
        world.gateway.log(),
    ), "the late delivered is recorded"

    # Meta's own pace: each status twice, read before delivered; whatever the processing
    # order, the customer sees each status at most once and never a step back.
    sandbox.auto(enabled=True, delays_ms=[0, 150, 300], duplicates=True, out_of_order=True)
    auto_id, auto_wamid = sent(world.gateway, NUMBER_B)
    wait_until(
        lambda: len(sandbox.webhooks(auto_wamid)) == 6,
        PATIENCE,
        "six status webhooks",
    )
    wait_settled(world.gateway)
    order = ["sent", "delivered", "read"]
    for seen in (statuses_at_profile(world, auto_id), statuses_pushed(world, auto_wamid)):
        assert seen[-1] == "read", seen
        assert seen == sorted(set(seen), key=order.index), seen


# --- Meta's errors on send --------------------------------------------------------------------


def assert_meta_error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    assert answer["code"] == f"WA{status}"
    assert answer["data"] == {}
    error: dict[str, Any] = answer["error"]
    assert set(error) == {"code", "type", "message", "fbtrace_id"}
    assert error["code"] == code
    assert answer["message"] == error["message"]
    assert error["fbtrace_id"]
    return error


def test_metas_errors_on_send_come_back_in_our_envelope_with_metas_code(
    world: World,
    sandbox: Sandbox,
    start_gateway: GatewayFactory,
    messaging_tenant: TenantTemplate,
    tmp_path: Path,
) -> None:
    before = len(sandbox.messages())
    bad_recipient = send(world.gateway, NUMBER_A, {**TEMPLATE, "to": "12"})
    assert assert_meta_error(bad_recipient, 400, 100)["type"] == "OAuthException"

    sandbox.arm(fail_next=1, fail_status=503)
    assert assert_meta_error(send(world.gateway, NUMBER_A, TEMPLATE), 502, 2)["message"]
    assert len(sandbox.messages()) == before, "Meta took nothing"

    # A gateway whose token Meta does not take (mistyped, expired, another app's).
    gateway = start_gateway(
        env=messages_env(sandbox, WAGATE_META_ACCESS_TOKEN="not-metas-token"),
        data_dir=messaging_tenant.copy_to(tmp_path),
    )
    error = assert_meta_error(send(gateway, NUMBER_A, TEMPLATE), 401, 190)
    assert error["type"] == "OAuthException"
    assert error["message"] == "Invalid OAuth access token - Cannot parse access token"
    assert len(sandbox.messages()) == before, "Meta took nothing"


# --- kill -9 right after a burst of webhooks was acknowledged ---------------------------------


def burst_bodies(wamids: list[str]) -> tuple[list[bytes], dict[str, str]]:
    """One status webhook per message, then repeats of some: the bodies and each wamid's status."""
    statuses = {wamid: BURST_STATUSES[i % len(BURST_STATUSES)] for i, wamid in enumerate(wamids)}
    bodies = []
    for wamid, status in statuses.items():
        entry: dict[str, Any] = {
            "id": wamid, "status": status, "timestamp": "1700000000", "recipient_id": USER,
        }  # fmt: skip
        if status == "failed":
            entry["errors"] = [{"code": 131026, "title": "Message undeliverable"}]
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": NUMBER_A, "phone_number_id": PNID_A},
            "statuses": [entry],
        }
        document = {
            "object": "whatsapp_business_account",
            "entry": [{"id": WABA, "changes": [{"value": value, "field": "messages"}]}],
        }
        bodies.append(json.dumps(document).encode())
    every = len(bodies) // (BURST_WEBHOOKS - len(bodies))
    burst = []
    for index, body in enumerate(bodies):
        burst.append(body)
        if index % every == every - 1:  # Meta's retries, mixed in with the rest
            burst.append(bodies[index - 1])
    assert len(burst) == BURST_WEBHOOKS
    return burst, statuses


async def fire_then_kill(gateway: RunningProcess, bodies: list[bytes]) -> None:
    """POST the signed webhooks as fast as they are taken, and SIGKILL once the last 200 is read."""
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30, limits=limits) as client:
        gate = asyncio.Semaphore(32)

        async def post(body: bytes) -> int:
            async with gate:
                response = await client.post(
                    "/webhooks/meta",
                    content=body,
                    headers={
                        "Content-Type": "application/json",
                        "X-Hub-Signature-256": meta_signature(body),
                    },
                )
                return response.status_code

        codes = await asyncio.gather(*(post(body) for body in bodies))
        gateway.kill()
    assert codes == [200] * len(bodies)


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_kill_9_after_acknowledging_a_burst_loses_no_status(
    database: str,
    world: World,
    start_gateway: GatewayFactory,
    messaging_tenant: TenantTemplate,
    tmp_path: Path,
) -> None:
    with temporary_postgres_database() if database == "postgresql" else nullcontext() as url:
        env = messages_env(
            world.sandbox,
            WAGATE_JOB_LEASE_SECONDS="3",  # what the killed process held is free again soon
            WAGATE_LOG_LEVEL="WARNING",
            WAGATE_DATA_DIR=str(tmp_path / "data"),
        )
        if url is None:
            messaging_tenant.copy_to(tmp_path)
        else:
            env["WAGATE_DATABASE_URL"] = url
        with ThreadPoolExecutor(1) as pool:
            # On PostgreSQL the CLI makes the tenant while the gateway starts.
            tenant = pool.submit(create_tenant_with_number_a, env) if url else None
            gateway = start_gateway(env=env, data_dir=tmp_path / "data")
            if tenant is not None:
                tenant.result()
        prefix = f"/ok/burst-{database}"
        messages = asyncio.run(send_messages(gateway, BURST_MESSAGES, world.receiver.url + prefix))
        bodies, statuses = burst_bodies([wamid for _, wamid in messages])
        asyncio.run(fire_then_kill(gateway, bodies))
        at_kill = len(to_path(world.receiver, prefix))

        restarted = start_gateway(env=env, data_dir=tmp_path / "data")
        expected = {(message_id, statuses[wamid]) for message_id, wamid in messages}

        def every_status() -> list[dict[str, Any]] | None:
            got = to_path(world.receiver, prefix)
            keys = {(q["id"], q["status"]) for q in map(query_of, got)}
            return got if keys >= expected else None

        wait_until(every_status, PATIENCE, f"{len(expected)} callbacks")
        wait_settled(restarted)
        records = to_path(world.receiver, prefix)
        listed = deliveries(restarted)
        secret = patch_number(restarted, NUMBER_A)["webhook_secret"]

    ids_per_status: dict[tuple[str, str], set[str]] = defaultdict(set)
    for record in records:
        query = query_of(record)
        ids_per_status[(query["id"], query["status"])].add(record["headers"]["webhook-id"])
    resent = len(records) - sum(len(ids) for ids in ids_per_status.values())
    print(
        f"\n[{database}] {len(bodies)} webhooks acknowledged, {at_kill} callbacks received "
        f"before the kill, {len(records)} requests in all ({resent} resent with the same id)"
    )
    assert set(ids_per_status) == expected, "every status forwarded, nothing else"
    assert all(len(ids) == 1 for ids in ids_per_status.values()), "one delivery per status"
    assert len(listed) == len(expected)
    assert {d["id"] for d in listed} == {r["headers"]["webhook-id"] for r in records}
    assert all(d["status"] == "succeeded" for d in listed)
    for record in records[:5]:
        assert_signed(record, secret)
    failed = next(q for q in map(query_of, records) if q["status"] == "failed")
    assert (failed["error_code"], failed["error"]) == ("131026", "Message undeliverable")
