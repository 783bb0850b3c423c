"""Users known by business-scoped user id (BSUID), and per-message prices, end to end.

Real processes on 127.0.0.1: ``wagate serve``, ``wagate sandbox`` as Meta and
the test receiver as the customer. NUMBER_B has an incoming callback profile,
a status callback profile and a ``webhook_url``; the account is postpaid with
a marketing rate, so a billed template's delivered callback shows its price.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.callbacks import create_profile
from tests.e2e.conftest import GatewayFactory
from tests.e2e.messaging import (
    NUMBER_B,
    PNID_B,
    SEED_002_BODY,
    TEMPLATE,
    USER,
    TenantTemplate,
    messaging_world,
    patch_number,
    send,
    to_path,
    wait_settled,
)
from tests.e2e.sandbox import Sandbox
from tests.support import PATIENCE, RunningProcess, wait_until

BSUID = "US.13491208655302741918"
PARENT = "US.ENT.11815799212886844830"
EXTENSION = {name: f"<{name}>" for name in ("user_id", "parent_user_id", "username")}
INCOMING_BODY = {
    **{name: f"<{name}>" for name in ("id", "from", "mobile", "name", "type", "body")},
    **EXTENSION,
}


@dataclass(frozen=True)
class World:
    gateway: RunningProcess
    sandbox: Sandbox
    receiver: RunningProcess


@pytest.fixture(scope="module")
def world(
    start_module_gateway: GatewayFactory,
    messaging_tenant: TenantTemplate,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    directory = tmp_path_factory.mktemp("business-users")
    with messaging_world(start_module_gateway, messaging_tenant, directory) as (
        gateway,
        meta,
        receiver,
    ):
        incoming = create_profile(
            gateway, "SID1", "KEY1", title="incoming", http_method="POST",
            url=f"{receiver.url}/ok/incoming", body=INCOMING_BODY,
        )  # fmt: skip
        statuses = create_profile(
            gateway, "SID1", "KEY1", title="statuses", http_method="POST",
            url=f"{receiver.url}/ok/status", body={**SEED_002_BODY, **EXTENSION},
        )  # fmt: skip
        patch_number(
            gateway,
            NUMBER_B,
            webhook_url=f"{receiver.url}/ok/push",
            incoming_callback_profile_id=incoming["profile_id"],
            callback_profile_id=statuses["profile_id"],
        )
        yield World(gateway, meta, receiver)


def bodies(world: World, prefix: str) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) for r in to_path(world.receiver, prefix)]


def test_a_bsuid_only_message_reaches_the_profile_and_the_push_with_the_users_id(
    world: World,
) -> None:
    answer = world.sandbox.control(
        "inbound",
        {"phone_number_id": PNID_B, "user_id": BSUID, "parent_user_id": PARENT,
         "username": "@ana", "name": "Ana", "type": "text", "text": {"body": "Hello"}},
    )  # fmt: skip
    assert all(code == 200 for code in answer["responses"]), answer
    message = answer["body"]["entry"][0]["changes"][0]["value"]["messages"][0]
    assert "from" not in message

    def about(prefix: str) -> list[dict[str, Any]]:
        found = bodies(world, prefix)
        return [b for b in found if b.get("id") == message["id"] or any(
            m.get("id") == message["id"] for m in b.get("messages", []))]  # fmt: skip

    (callback,) = wait_until(lambda: about("/ok/incoming"), PATIENCE, "the incoming callback")
    assert callback == {
        "id": message["id"], "name": "Ana", "type": "text", "body": "Hello",
        "user_id": BSUID, "parent_user_id": PARENT, "username": "@ana",
    }  # fmt: skip
    (push,) = wait_until(lambda: about("/ok/push"), PATIENCE, "the push")
    assert push["contacts"] == [
        {"profile": {"name": "Ana", "username": "@ana"}, "user_id": BSUID,
         "parent_user_id": PARENT}
    ]  # fmt: skip
    assert push["messages"] == [message]


def test_a_send_to_a_bsuid_reaches_meta_and_its_statuses_name_the_user(world: World) -> None:
    text = {"recipient": BSUID, "type": "text", "text": {"body": "Your order shipped"}}
    response = send(world.gateway, NUMBER_B, text, ref="bsuid-1")
    assert response.status_code == 200, response.text
    wamid = response.json()["data"]["wamid"]
    (accepted,) = [m for m in world.sandbox.messages() if m["id"] == wamid]
    assert (accepted["to"], accepted["user_id"]) == ("", BSUID)
    world.sandbox.status(wamid, "sent")
    world.sandbox.status(wamid, "delivered")

    def callbacks() -> list[dict[str, Any]]:
        return [b for b in bodies(world, "/ok/status") if b.get("ref") == "bsuid-1"]

    def both() -> list[dict[str, Any]] | None:
        found = callbacks()
        return found if len(found) >= 2 else None

    got = wait_until(both, PATIENCE, "the sent and delivered callbacks")
    assert [(c["status"], c["user_id"], c.get("mobile")) for c in got] == [
        ("sent", BSUID, None),
        ("delivered", BSUID, None),
    ]


def test_a_bsuid_where_meta_needs_a_number_is_answered_clearly(world: World) -> None:
    otp = {
        "recipient": BSUID,
        "type": "template",
        "template": {"name": "auth_code", "language": {"code": "en_US"}},
    }
    response = send(world.gateway, NUMBER_B, otp)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert "phone number" in answer["message"]
    assert answer["error"]["code"] == 131062
    refused = send(world.gateway, NUMBER_B, {**otp, "recipient": "not-a-bsuid"})
    assert refused.status_code == 400
    assert "messaging_object.recipient" in refused.text


def test_the_price_appears_once_per_billed_message(world: World) -> None:
    response = send(world.gateway, NUMBER_B, {**TEMPLATE, "to": USER}, ref="priced-1")
    assert response.status_code == 200, response.text
    wamid = response.json()["data"]["wamid"]
    for status in ("sent", "delivered", "read"):
        world.sandbox.status(wamid, status)
    wait_settled(world.gateway)
    got = [b for b in bodies(world, "/ok/status") if b.get("ref") == "priced-1"]
    assert [(c["status"], c.get("price")) for c in got] == [
        ("sent", None),
        ("delivered", "0.0107"),
        ("read", None),
    ]
    pushes = [b for b in bodies(world, "/ok/push") if b.get("statuses", [{}])[0].get("id") == wamid]
    assert [p["statuses"][0].get("pricing", {}).get("pricing_model") for p in pushes] == [
        "PMP",
        "PMP",
        None,
    ]


def test_a_reply_in_the_customer_service_window_is_free_and_shows_no_price(
    world: World,
) -> None:
    writer = "919876543299"
    answer = world.sandbox.control(
        "inbound",
        {"phone_number_id": PNID_B, "from": writer, "type": "text", "text": {"body": "Hi"}},
    )
    assert all(code == 200 for code in answer["responses"]), answer
    reply = {"to": writer, "type": "text", "text": {"body": "How can we help?"}}
    response = send(world.gateway, NUMBER_B, reply, ref="in-window-1")
    assert response.status_code == 200, response.text
    wamid = response.json()["data"]["wamid"]
    world.sandbox.status(wamid, "sent")
    world.sandbox.status(wamid, "delivered")
    wait_settled(world.gateway)
    got = [b for b in bodies(world, "/ok/status") if b.get("ref") == "in-window-1"]
    assert [(c["status"], c.get("price")) for c in got] == [("sent", None), ("delivered", None)]
    pushes = [b for b in bodies(world, "/ok/push") if b.get("statuses", [{}])[0].get("id") == wamid]
    assert [p["statuses"][0]["pricing"]["type"] for p in pushes] == [
        "free_customer_service",
        "free_customer_service",
    ]
