"""Conversations both ways, end to end: what users send reaches the customer, every type is
sent, and sends keep to the number's rate.

Real processes on 127.0.0.1: ``wagate serve``, ``wagate sandbox`` as Meta (its
signed webhooks go to the gateway) and the test receiver as the customer.
NUMBER_B has an incoming callback profile and a ``webhook_url``; NUMBER_A sends.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.e2e.callbacks import api, create_profile
from tests.e2e.conftest import GatewayFactory
from tests.e2e.messaging import (
    NUMBER_A,
    NUMBER_B,
    PNID_B,
    TEMPLATE,
    USER,
    TenantTemplate,
    messaging_world,
    patch_number,
    send,
    to_path,
    wait_for,
    wait_settled,
)
from tests.e2e.sandbox import Sandbox
from tests.support import RunningProcess, local_http, wait_until

PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 64
INCOMING_BODY = {
    name: f"<{name}>"
    for name in ("id", "from", "name", "type", "body", "mime_type", "media_url", "error",
                 "reply_to", "wanumber", "created_at")
}  # fmt: skip
BURST = 400
RATE = 80


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
    directory = tmp_path_factory.mktemp("conversations")
    with messaging_world(
        start_module_gateway, messaging_tenant, directory, WAGATE_SEND_RATE_PER_NUMBER=str(RATE)
    ) as (gateway, meta, receiver):
        profile = create_profile(
            gateway, "SID1", "KEY1", title="incoming messages", http_method="POST",
            url=f"{receiver.url}/ok/incoming", body=INCOMING_BODY,
        )  # fmt: skip
        attached = patch_number(
            gateway,
            NUMBER_B,
            webhook_url=f"{receiver.url}/ok/push",
            incoming_callback_profile_id=profile["profile_id"],
        )
        assert attached["incoming_callback_profile_id"] == profile["profile_id"]
        yield World(gateway, meta, receiver)


@pytest.fixture
def sandbox(world: World) -> Iterator[Sandbox]:
    world.sandbox.reset()
    yield world.sandbox
    world.sandbox.reset()


def user_sends(sandbox: Sandbox, **order: Any) -> dict[str, Any]:
    """A user's message to NUMBER_B, as Meta's webhook; its message object."""
    answer = sandbox.control("inbound", {"phone_number_id": PNID_B, "from": USER, **order})
    assert all(code == 200 for code in answer["responses"]), answer
    message: dict[str, Any] = answer["body"]["entry"][0]["changes"][0]["value"]["messages"][0]
    return message


def incoming_about(world: World, wamid: str) -> list[dict[str, Any]]:
    bodies = [json.loads(r["body"]) for r in to_path(world.receiver, "/ok/incoming")]
    return [b for b in bodies if b.get("id") == wamid]


def pushes_about(world: World, wamid: str) -> list[dict[str, Any]]:
    bodies = [json.loads(r["body"]) for r in to_path(world.receiver, "/ok/push")]
    return [b for b in bodies if any(m.get("id") == wamid for m in b.get("messages", []))]


def store_photo(sandbox: Sandbox) -> str:
    """A user's photo held by Meta; its media id."""
    response = local_http.post(
        f"{sandbox.url}/_sandbox/media",
        content=PHOTO,
        headers={"Content-Type": "image/jpeg"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    media_id: str = response.json()["id"]
    return media_id


# --- incoming ---------------------------------------------------------------------------------


def test_inbound_text_reaches_the_webhook_url_in_seed_003s_shape(
    world: World, sandbox: Sandbox
) -> None:
    message = user_sends(sandbox, type="text", name="Ana", text={"body": "Where is my order?"})
    wait_until(lambda: pushes_about(world, message["id"]), 20, "the push")
    (push,) = pushes_about(world, message["id"])
    assert push == {
        "business_phone": NUMBER_B,
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": USER}],
        "messages": [message],
        "messaging_product": "whatsapp",
    }
    (callback,) = wait_until(lambda: incoming_about(world, message["id"]), 20, "the callback")
    assert callback == {
        "id": message["id"], "from": USER, "name": "Ana", "type": "text",
        "body": "Where is my order?", "wanumber": NUMBER_B, "created_at": message["timestamp"],
    }  # fmt: skip


def test_a_duplicate_inbound_webhook_yields_one_callback(world: World, sandbox: Sandbox) -> None:
    message = user_sends(sandbox, type="text", text={"body": "twice"}, duplicate=2)
    wait_until(lambda: incoming_about(world, message["id"]), 20, "the callback")
    wait_settled(world.gateway)
    assert len(incoming_about(world, message["id"])) == 1
    assert len(pushes_about(world, message["id"])) == 1


def test_an_inbound_image_reaches_the_profile_with_a_media_url_of_the_same_bytes(
    world: World, sandbox: Sandbox
) -> None:
    media_id = store_photo(sandbox)
    message = user_sends(sandbox, type="image", image={"id": media_id, "caption": "broken"})
    (callback,) = wait_until(lambda: incoming_about(world, message["id"]), 30, "the callback")
    assert callback["mime_type"] == "image/jpeg"
    assert callback["body"] == "broken"
    assert "error" not in callback
    served = local_http.get(callback["media_url"], timeout=10)
    assert served.status_code == 200
    assert served.content == PHOTO
    assert served.headers["content-type"] == "image/jpeg"
    (push,) = wait_until(lambda: pushes_about(world, message["id"]), 20, "the push")
    assert push["messages"][0]["image"]["link"] == callback["media_url"]
    looked_up = api(world.gateway, "GET", f"/v2/SID1/whatsapp/{NUMBER_B}/incoming",
                    params={"id": message["id"]})  # fmt: skip
    assert looked_up.json()["data"]["media_status"] == "stored"


def test_a_download_that_fails_twice_then_succeeds_still_delivers_once(
    world: World, sandbox: Sandbox
) -> None:
    media_id = store_photo(sandbox)
    sandbox.arm(fail_next=2)
    message = user_sends(sandbox, type="image", image={"id": media_id})
    (callback,) = wait_until(lambda: incoming_about(world, message["id"]), 30, "the callback")
    assert local_http.get(callback["media_url"], timeout=10).content == PHOTO
    assert sandbox.arm()["fail_next"] == 0, "both failures were Meta's answers to the download"
    wait_settled(world.gateway)
    assert len(incoming_about(world, message["id"])) == 1


# --- sending ---------------------------------------------------------------------------------


def upload_media(world: World, data: bytes, media_type: str, name: str) -> str:
    response = api(
        world.gateway, "POST", f"/v2/SID1/whatsapp/{NUMBER_A}/media",
        files={"file": (name, data, media_type)}, data={"type": media_type},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    media_id: str = response.json()["data"]["id"]
    return media_id


def test_sends_of_each_type_reach_meta_as_sent(world: World, sandbox: Sandbox) -> None:
    image_id = upload_media(world, PHOTO, "image/jpeg", "photo.jpg")
    sticker_id = upload_media(world, b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 64,
                              "image/webp", "smile.webp")  # fmt: skip
    reply_to = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
    objects: list[dict[str, Any]] = [
        {"type": "text", "text": {"body": "Hello"}, "context": {"message_id": reply_to}},
        TEMPLATE,
        {"type": "image", "image": {"id": image_id, "caption": "receipt"}},
        {"type": "video", "video": {"link": "https://cdn.example/v.mp4"}},
        {"type": "audio", "audio": {"link": "https://cdn.example/a.ogg"}},
        {"type": "document", "document": {"link": "https://cdn.example/i.pdf",
                                          "filename": "invoice.pdf"}},
        {"type": "sticker", "sticker": {"id": sticker_id}},
        {"type": "interactive", "interactive": {
            "type": "button", "body": {"text": "Deliver tomorrow?"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "y", "title": "Yes"}}]}}},
        {"type": "interactive", "interactive": {
            "type": "list", "body": {"text": "Shipping?"},
            "action": {"button": "Options", "sections": [
                {"title": "All", "rows": [{"id": "x", "title": "Express"}]}]}}},
        {"type": "interactive", "interactive": {
            "type": "cta_url", "body": {"text": "Your order"},
            "action": {"name": "cta_url",
                       "parameters": {"display_text": "Open", "url": "https://shop.example/o"}}}},
        {"type": "location", "location": {"latitude": 37.44, "longitude": -122.16}},
        {"type": "contacts", "contacts": [{"name": {"formatted_name": "Kerry Fisher"}}]},
        {"type": "reaction", "reaction": {"message_id": reply_to, "emoji": "\U0001f44d"}},
    ]  # fmt: skip
    wamids = []
    for body in objects:
        response = send(world.gateway, NUMBER_A, {"to": USER, **body})
        assert response.status_code == 200, response.text
        wamids.append(response.json()["data"]["wamid"])
    accepted = {m["id"]: m for m in sandbox.messages()}
    assert [accepted[w]["type"] for w in wamids] == [o["type"] for o in objects]
    assert accepted[wamids[0]]["request"]["context"] == {"message_id": reply_to}

    wrong = send(world.gateway, NUMBER_A, {"to": USER, "type": "image", "image": {}})
    assert wrong.status_code == 400
    assert "messaging_object.image" in wrong.json()["error"]


def test_an_idempotency_key_retry_sends_once(world: World, sandbox: Sandbox) -> None:
    body = {"messaging_object": {"to": USER, "type": "text", "text": {"body": "once"}}}
    path = f"/v2/SID1/whatsapp/{NUMBER_A}/messages"
    headers = {"api-key": "KEY1", "Idempotency-Key": "e2e-once-1"}
    before = len(sandbox.messages())
    first = local_http.post(world.gateway.url + path, json=body, headers=headers, timeout=30)
    again = local_http.post(world.gateway.url + path, json=body, headers=headers, timeout=30)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert len(sandbox.messages()) == before + 1


def test_a_burst_over_metas_rate_is_paced_and_every_message_sent_once(
    world: World, sandbox: Sandbox
) -> None:
    sandbox.control("limits", {"messages_per_second": RATE})
    before = {m["id"] for m in sandbox.messages()}
    prefix = world.receiver.url + "/ok/burst"

    async def burst() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=32)
        async with httpx.AsyncClient(base_url=world.gateway.url, timeout=60,
                                     limits=limits) as client:  # fmt: skip
            return list(
                await asyncio.gather(
                    *(
                        client.post(
                            f"/v2/SID1/whatsapp/{NUMBER_A}/messages",
                            headers={"api-key": "KEY1"},
                            json={
                                "messaging_object": {
                                    "to": USER,
                                    "type": "text",
                                    "text": {"body": f"burst-{i}"},
                                },
                                "extra_info": {"callback_url": prefix, "ref": f"b{i}"},
                            },
                        )
                        for i in range(BURST)
                    )
                )
            )

    answers = asyncio.run(burst())
    codes = Counter(a.status_code for a in answers)
    assert set(codes) <= {200, 202}, codes
    # How many are queued depends on how fast the burst arrives; each one queued says so.
    queued = [a.json()["data"] for a in answers if a.status_code == 202]
    assert all(q["status"] == "queued" for q in queued)

    def all_sent() -> list[dict[str, Any]] | None:
        sent = [m for m in sandbox.messages() if m["id"] not in before]
        return sent if len(sent) >= BURST else None

    sent = wait_until(all_sent, 120, f"{BURST} messages at Meta")
    bodies = Counter(m["request"]["text"]["body"] for m in sent)
    assert len(sent) == BURST
    assert set(bodies) == {f"burst-{i}" for i in range(BURST)}, "every message, none twice"
    assert sandbox.control("limits", {"messages_per_second": None})["throttled"] < BURST

    # A queued message has its status callbacks as usual, once Meta has it.
    late = next(m for m in sent if m["request"]["text"]["body"] == f"burst-{BURST - 1}")
    sandbox.status(late["id"], "delivered")
    (callback,) = wait_for(world.receiver, "/ok/burst", 1)
    assert "status=delivered" in callback["target"]
    assert f"ref=b{BURST - 1}" in callback["target"]
