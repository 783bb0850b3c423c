"""The sandbox's messaging half as a real process, its webhooks caught in-process.

``wagate sandbox --webhook-url …`` runs on 127.0.0.1; an aiohttp receiver in
the test plays the gateway's Meta ingress and records every raw body, so the
signatures are checked on the exact bytes, independently of the sandbox's code.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from aiohttp import web

from tests.e2e.sandbox import start_sandbox
from tests.support import PATIENCE, RunningProcess, free_port, start_process

SECRET = "e2e-app-secret"
TOKEN = "e2e-token"
ENV = {
    "WAGATE_META_APP_SECRET": SECRET,
    "WAGATE_META_ACCESS_TOKEN": TOKEN,
    "WAGATE_META_APP_ID": "APP-E2E",
    "WAGATE_LOG_FORMAT": "console",
}
PHONE_NUMBER_ID = "106540352242922"
USER = "15550100100"
TEMPLATE = {
    "messaging_product": "whatsapp",
    "recipient_type": "individual",
    "to": f"+{USER}",
    "type": "template",
    "template": {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "A/42"}]}],
    },
}
SANDBOX_MAIN = "import typer; from wagate.cli.sandbox_command import sandbox; typer.run(sandbox)"
T = TypeVar("T")


@dataclass
class Hit:
    """One webhook as the receiver got it."""

    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.raw)
        return parsed

    @property
    def value(self) -> dict[str, Any]:
        value: dict[str, Any] = self.body["entry"][0]["changes"][0]["value"]
        return value


@dataclass
class Receiver:
    """The gateway's Meta ingress, played in-process: ``/fail/N/…`` fails N times first."""

    port: int
    hits: list[Hit] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.hits.append(Hit(request.path, dict(request.headers), raw))
        self.counts[request.path] = self.counts.get(request.path, 0) + 1
        parts = request.path.strip("/").split("/")
        if parts[0] == "fail" and self.counts[request.path] <= int(parts[1]):
            return web.Response(status=500, text="failing on purpose")
        return web.Response(status=200, text="EVENT_RECEIVED")

    def statuses(self, wamid: str) -> list[Hit]:
        return [
            h for h in self.hits if "statuses" in h.value and h.value["statuses"][0]["id"] == wamid
        ]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver(free_port())
    app = web.Application()
    app.router.add_post("/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", receiver.port).start()
    try:
        yield receiver
    finally:
        await runner.cleanup()


async def start(
    tmp_path: Path, receiver: Receiver, *flags: str, cli: bool = False
) -> RunningProcess:
    """The sandbox command sending webhooks to ``receiver``.

    With ``cli`` it is started as ``python -m wagate sandbox`` (the whole CLI,
    slower to import); otherwise the same command function is run directly.
    """
    log = tmp_path / f"sandbox-{free_port()}.log"
    flags = ("--webhook-url", receiver.url("/meta"), *flags)
    if cli:
        return await asyncio.to_thread(start_sandbox, log, *flags, env=ENV)
    port = free_port()
    command = [sys.executable, "-c", SANDBOX_MAIN, "--host", "127.0.0.1", "--port", str(port)]
    return await asyncio.to_thread(
        start_process,
        [*command, *flags],
        env=ENV,
        port=port,
        log_path=log,
        ready_path="/_sandbox/config",
    )


@pytest.fixture
async def sandbox(tmp_path: Path, receiver: Receiver) -> AsyncIterator[RunningProcess]:
    process = await start(tmp_path, receiver)
    try:
        yield process
    finally:
        await asyncio.to_thread(process.stop)


@pytest.fixture
async def http(sandbox: RunningProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=15) as client:
        yield client


async def eventually(check: Callable[[], T | None], what: str, timeout: float = PATIENCE) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


def at_least(receiver: Receiver, wamid: str, count: int) -> Callable[[], list[Hit] | None]:
    """A check for ``eventually``: the status webhooks of ``wamid`` once there are ``count``."""

    def check() -> list[Hit] | None:
        hits = receiver.statuses(wamid)
        return hits if len(hits) >= count else None

    return check


async def send(http: httpx.AsyncClient, body: dict[str, Any]) -> str:
    response = await http.post(
        f"/v21.0/{PHONE_NUMBER_ID}/messages",
        json=body,
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 200, response.text
    wamid: str = response.json()["messages"][0]["id"]
    return wamid


async def control(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post(path, json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def assert_signed(hit: Hit) -> None:
    expected = hmac.new(SECRET.encode(), hit.raw, hashlib.sha256).hexdigest()
    assert hit.headers["X-Hub-Signature-256"] == f"sha256={expected}"
    assert hit.headers["Content-Type"] == "application/json"
    assert hit.body["object"] == "whatsapp_business_account"
    assert hit.body["entry"][0]["id"] == "WABA-E2E"
    assert hit.body["entry"][0]["changes"][0]["field"] == "messages"
    assert hit.value["messaging_product"] == "whatsapp"
    assert hit.value["metadata"] == {
        "display_phone_number": "15550783881",
        "phone_number_id": PHONE_NUMBER_ID,
    }


async def register_number(http: httpx.AsyncClient) -> None:
    await control(
        http,
        "/_sandbox/numbers",
        {
            "phone_number_id": PHONE_NUMBER_ID,
            "display_phone_number": "+1 555-078-3881",
            "waba_id": "WABA-E2E",
        },
    )


async def test_statuses_and_a_button_click_reach_the_gateway_signed_in_metas_format(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await register_number(http)
    wamid = await send(http, TEMPLATE)

    sent = await control(http, f"/_sandbox/messages/{wamid}/statuses", {"status": "sent"})
    delivered = await control(
        http, f"/_sandbox/messages/{wamid}/statuses", {"status": "delivered", "duplicate": 1}
    )
    read = await control(
        http, f"/_sandbox/messages/{wamid}/statuses", {"status": "read", "timestamp": 1700000300}
    )
    click = await control(
        http,
        f"/_sandbox/messages/{wamid}/button",
        {"payload": "TRACK", "text": "Track my order", "name": "Ana"},
    )
    assert [a["responses"] for a in (sent, delivered, read, click)] == [
        [200],
        [200, 200],
        [200],
        [200],
    ]

    assert len(receiver.hits) == 5
    for hit in receiver.hits:
        assert hit.path == "/meta"
        assert_signed(hit)
    statuses = [h.value["statuses"] for h in receiver.statuses(wamid)]
    assert [s[0]["status"] for s in statuses] == ["sent", "delivered", "delivered", "read"]
    assert receiver.hits[1].raw == receiver.hits[2].raw
    first = statuses[0][0]
    assert first["recipient_id"] == USER
    assert first["timestamp"].isdigit()
    assert first["conversation"]["origin"] == {"type": "marketing"}
    assert int(first["conversation"]["expiration_timestamp"]) > int(first["timestamp"])
    assert first["pricing"] == {
        "billable": True, "pricing_model": "PMP", "category": "marketing", "type": "regular",
    }  # fmt: skip
    assert statuses[1][0]["conversation"]["id"] == first["conversation"]["id"]
    assert statuses[3] == [
        {"id": wamid, "status": "read", "timestamp": "1700000300", "recipient_id": USER}
    ]
    button = receiver.hits[4].value
    assert button["contacts"] == [{"profile": {"name": "Ana"}, "wa_id": USER}]
    [reply] = button["messages"]
    assert reply["context"] == {"from": "15550783881", "id": wamid}
    assert reply["from"] == USER
    assert reply["type"] == "button"
    assert reply["button"] == {"payload": "TRACK", "text": "Track my order"}
    assert reply["id"].startswith("wamid.")
    assert reply["id"] != wamid

    recorded = (await http.get("/_sandbox/webhooks", params={"wamid": wamid})).json()["data"]
    assert [r["body"].encode() for r in recorded] == [h.raw for h in receiver.hits]
    assert [r["kind"] for r in recorded] == ["status"] * 4 + ["button"]
    assert all(r["status"] == 200 and r["delivered"] for r in recorded)
    message = (await http.get(f"/_sandbox/messages/{wamid}")).json()
    assert message["template_name"] == "order_update"
    assert message["statuses"] == ["sent", "delivered", "read"]


async def test_a_failed_status_carries_metas_error(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await register_number(http)
    wamid = await send(http, TEMPLATE)
    await control(http, f"/_sandbox/messages/{wamid}/statuses", {"status": "failed"})
    [hit] = receiver.statuses(wamid)
    assert_signed(hit)
    [status] = hit.value["statuses"]
    assert status["status"] == "failed"
    assert status["errors"][0]["code"] == 131026
    assert status["errors"][0]["title"] == "Message undeliverable"
    assert "conversation" not in status
    assert "pricing" not in status


async def test_a_failing_gateway_gets_the_webhook_again(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await register_number(http)
    config = await control(http, "/_sandbox/config", {"webhook_url": receiver.url("/fail/2/meta")})
    assert config == {"webhook_url": receiver.url("/fail/2/meta")}
    wamid = await send(http, TEMPLATE)
    answer = await control(http, f"/_sandbox/messages/{wamid}/statuses", {"status": "sent"})
    [webhook] = answer["webhooks"]
    assert [a["status"] for a in webhook["attempts"]] == [500, 500, 200]
    assert answer["responses"] == [200]
    assert len(receiver.hits) == 3
    assert len({h.raw for h in receiver.hits}) == 1
    for hit in receiver.hits:
        assert_signed(hit)


async def test_auto_progression_with_duplicates_and_out_of_order(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await register_number(http)
    auto = await control(
        http,
        "/_sandbox/auto",
        {"enabled": True, "delays_ms": [20, 120, 240], "duplicates": True, "out_of_order": True},
    )
    assert auto["enabled"] is True
    first = await send(http, TEMPLATE)
    second = await send(
        http, {"messaging_product": "whatsapp", "to": USER, "text": {"body": "https://x.y/z"}}
    )
    for wamid in (first, second):
        hits = await eventually(at_least(receiver, wamid, 6), f"six status webhooks of {wamid}")
        order = [h.value["statuses"][0]["status"] for h in hits]
        assert order == ["sent", "sent", "read", "read", "delivered", "delivered"]
        assert hits[0].raw == hits[1].raw
        assert hits[2].raw == hits[3].raw
        assert hits[4].raw == hits[5].raw
        stamps = {
            h.value["statuses"][0]["status"]: int(h.value["statuses"][0]["timestamp"]) for h in hits
        }
        assert stamps["sent"] <= stamps["delivered"] <= stamps["read"]
        for hit in hits:
            assert_signed(hit)
    await asyncio.sleep(0.3)
    assert len(receiver.hits) == 12, "each message gets exactly three statuses, twice each"


async def test_the_auto_flag_progresses_every_message_and_shutdown_cancels_the_rest(
    tmp_path: Path, receiver: Receiver
) -> None:
    process = await start(tmp_path, receiver, "--auto", cli=True)
    try:
        async with httpx.AsyncClient(base_url=process.url, timeout=15) as http:
            wamid = await send(http, TEMPLATE)
            hits = await eventually(at_least(receiver, wamid, 3), "sent, delivered, read")
            assert [h.value["statuses"][0]["status"] for h in hits] == ["sent", "delivered", "read"]
            for hit in hits:
                expected = hmac.new(SECRET.encode(), hit.raw, hashlib.sha256).hexdigest()
                assert hit.headers["X-Hub-Signature-256"] == f"sha256={expected}"

            await control(http, "/_sandbox/auto", {"delays_ms": [0, 60_000, 60_000]})
            pending = await send(http, TEMPLATE)
            await eventually(at_least(receiver, pending, 1), "the first status")
            assert (await http.get("/_sandbox/auto")).json()["pending"] == 1
        assert await asyncio.to_thread(process.stop) == 0, "a graceful stop, not a SIGKILL"
    finally:
        await asyncio.to_thread(process.kill)
    assert [h.value["statuses"][0]["status"] for h in receiver.statuses(pending)] == ["sent"]
