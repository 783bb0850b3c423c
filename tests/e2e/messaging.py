"""Helpers for message tests: Meta's credentials, the messages API, tenants, what arrived.

What the customer's receiver got is read back by path prefix; the gateway has
settled when its metrics show no Meta webhook left to process and no callback
left to send.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import shutil
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from tests.e2e.callbacks import api, received, receiver_process
from tests.e2e.sandbox import Sandbox, sandbox_process
from tests.e2e.uploads import create_number, create_tenant
from tests.support import PATIENCE, RunningProcess, local_http, wait_until

SECRET = "e2e-messages-app-secret"
META_ENV = {
    "WAGATE_META_APP_SECRET": SECRET,
    "WAGATE_META_ACCESS_TOKEN": "e2e-messages-token",
    "WAGATE_META_APP_ID": "APP-MESSAGES",
}
WABA = "WABA1"
NUMBER_A, PNID_A = "15550001001", "106540000000001"  # callbacks by per-message callback_url
NUMBER_B, PNID_B = "15550001002", "106540000000002"  # a webhook_url and a callback profile
NUMBERS = ((NUMBER_A, PNID_A), (NUMBER_B, PNID_B))
USER = "919876543210"
RATE_CARD = {"marketing": "0.0107"}
COMPONENTS = [
    {
        "type": "body",
        "parameters": [{"type": "text", "text": "A/42"}, {"type": "text", "text": "Ana"}],
    }
]
TEMPLATE = {
    "to": USER,
    "type": "template",
    "template": {"name": "order_update", "language": {"code": "en_US"}, "components": COMPONENTS},
}
SEED_002_FIELDS = (
    "id", "custom_response", "timestamp", "mobile", "message", "status", "phone_number",
    "whatsapp_number", "error", "error_code", "ref", "ref1", "ref2", "price",
)  # fmt: skip
SEED_002_BODY = {name: f"<{name}>" for name in SEED_002_FIELDS}
MESSAGE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:0$")


def messages_env(sandbox: Sandbox, **extra: str) -> dict[str, str]:
    """A gateway's environment: Meta is ``sandbox``, callbacks may go to loopback."""
    return {
        **META_ENV,
        "WAGATE_GRAPH_URL": sandbox.url,
        "WAGATE_CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "WAGATE_RETRY_SCHEDULE": "1,1,1,1,1,1",
        "WAGATE_LOG_FORMAT": "console",
        # Bursts here are about order and crashes, not Meta's rate: none is queued for it.
        "WAGATE_SEND_RATE_PER_NUMBER": "0",
        **extra,
    }


def meta_signature(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def meta_status(document: dict[str, Any]) -> dict[str, Any]:
    """The one status of a Meta webhook body."""
    status: dict[str, Any] = document["entry"][0]["changes"][0]["value"]["statuses"][0]
    return status


def send(
    gateway: RunningProcess,
    number: str,
    messaging_object: Mapping[str, Any],
    **extra_info: str,
) -> httpx.Response:
    """``POST /v2/SID1/whatsapp/{number}/messages``, as it answers."""
    body = {"messaging_object": dict(messaging_object), "extra_info": extra_info}
    return api(gateway, "POST", f"/v2/SID1/whatsapp/{number}/messages", json=body)


def sent(
    gateway: RunningProcess, number: str, to: str = USER, **extra_info: str
) -> tuple[str, str]:
    """Send the template message to ``to``; our id and Meta's wamid."""
    response = send(gateway, number, {**TEMPLATE, "to": to}, **extra_info)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["code"] == "WA200"
    assert set(answer["data"]) == {"id", "wamid"}
    assert MESSAGE_ID.match(answer["data"]["id"]), answer
    return answer["data"]["id"], answer["data"]["wamid"]


def patch_number(gateway: RunningProcess, number: str, **fields: Any) -> dict[str, Any]:
    response = api(gateway, "PATCH", f"/v2/SID1/whatsapp/{WABA}/numbers/{number}", json=fields)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def to_path(receiver: RunningProcess, prefix: str) -> list[dict[str, Any]]:
    return [r for r in received(receiver) if r["target"].startswith(prefix)]


def query_of(record: dict[str, Any]) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(record["target"]).query, keep_blank_values=True))


def wait_for(receiver: RunningProcess, prefix: str, count: int) -> list[dict[str, Any]]:
    """The requests to ``prefix`` once there are ``count`` of them."""

    def enough() -> list[dict[str, Any]] | None:
        got = to_path(receiver, prefix)
        return got if len(got) >= count else None

    return wait_until(enough, PATIENCE, f"{count} requests to {prefix}")


def pushes_about(receiver: RunningProcess, prefix: str, wamid: str) -> list[dict[str, Any]]:
    """The bodies of the seed 003 pushes to ``prefix`` about the message ``wamid``."""
    bodies = [json.loads(r["body"]) for r in to_path(receiver, prefix)]
    return [
        b
        for b in bodies
        if any(s["id"] == wamid for s in b.get("statuses", []))
        or any(m.get("context", {}).get("id") == wamid for m in b.get("messages", []))
    ]


def metric(text: str, name: str, label: str) -> float:
    match = re.search(rf'^{name}{{[^}}]*"{label}"}} (\S+)$', text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def settled(gateway: RunningProcess) -> bool:
    """No stored Meta webhook waits to be processed and no callback waits to be sent."""
    text = local_http.get(gateway.url + "/metrics", timeout=10).text
    return (
        metric(text, "wagate_queue_depth", "process_meta_webhook") == 0
        and metric(text, "wagate_deliveries", "pending") == 0
    )


def wait_settled(gateway: RunningProcess) -> None:
    wait_until(lambda: settled(gateway), PATIENCE, "the gateway to process and deliver everything")


def create_tenant_with_number_a(env: dict[str, str]) -> None:
    """Account SID1 (postpaid, with the rate card), WABA1 and NUMBER_A, with the CLI."""
    create_tenant(env, rate_card=RATE_CARD)
    create_number(env, NUMBER_A, PNID_A)


class TenantTemplate:
    """A data directory with account SID1 (postpaid, a rate card), WABA1 and two numbers.

    The CLI makes it in the background (seconds per command) while the module's
    other processes start; :meth:`copy_to` waits for it.
    """

    def __init__(self, directory: Path, pool: ThreadPoolExecutor) -> None:
        self._directory = directory
        self._made = pool.submit(self._make)

    def _make(self) -> None:
        env = {"WAGATE_DATA_DIR": str(self._directory)}
        create_tenant(env, rate_card=RATE_CARD)
        with ThreadPoolExecutor(len(NUMBERS)) as pool:
            list(pool.map(lambda pair: create_number(env, *pair), NUMBERS))

    def copy_to(self, directory: Path) -> Path:
        """A copy of the data directory under ``directory``, for one gateway."""
        self._made.result()
        target = directory / "data"
        shutil.copytree(self._directory, target)
        return target


async def send_messages(
    gateway: RunningProcess, count: int, callback_url: str
) -> list[tuple[str, str]]:
    """Send ``count`` template messages from NUMBER_A; (id, wamid) of each."""
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30, limits=limits) as client:

        async def one(index: int) -> tuple[str, str]:
            response = await client.post(
                f"/v2/SID1/whatsapp/{NUMBER_A}/messages",
                headers={"api-key": "KEY1"},
                json={
                    "messaging_object": TEMPLATE,
                    "extra_info": {"callback_url": callback_url, "ref": f"burst-{index}"},
                },
            )
            assert response.status_code == 200, response.text
            data = response.json()["data"]
            return data["id"], data["wamid"]

        return list(await asyncio.gather(*(one(i) for i in range(count))))


@contextmanager
def messaging_world(
    start_gateway: Callable[..., RunningProcess],
    template: TenantTemplate,
    directory: Path,
    **env: str,
) -> Iterator[tuple[RunningProcess, Sandbox, RunningProcess]]:
    """A callback receiver, the sandbox knowing the tenant's numbers, and a gateway on a
    copy of the tenant (``env`` added to :func:`messages_env`) that gets its webhooks."""
    with receiver_process(directory) as receiver, sandbox_process(directory, env=META_ENV) as meta:
        gateway = start_gateway(env=messages_env(meta, **env), data_dir=template.copy_to(directory))
        meta.send_webhooks_to(f"{gateway.url}/webhooks/meta")
        for number, phone_number_id in NUMBERS:
            meta.register_number(phone_number_id, number, WABA)
        yield gateway, meta, receiver
