"""Traffic spread over several API processes: messages sent through them, Meta's webhooks.

Messages go out through ``POST /v2/SID1/whatsapp/{PHONE}/messages`` (to the
Meta sandbox), and Meta's status webhooks about them come back as Meta sends
them: signed with the app secret, POSTed to ``/webhooks/meta``. Each request
goes to the next API in turn, a few at a time.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from tests.support import RunningProcess, local_http

T = TypeVar("T")

APP_SECRET = "e2e-traffic-app-secret"
PHONE, PHONE_NUMBER_ID, USER = "15550107777", "PNID-SCALE-OUT", "15550100100"
STATUSES = ("sent", "delivered", "read")
CONCURRENCY = 8

Request = Callable[[httpx.AsyncClient, RunningProcess, int], Awaitable[T]]


def signed(document: dict[str, Any], secret: str = APP_SECRET) -> tuple[bytes, dict[str, str]]:
    """A Meta webhook body and its headers, signed with ``secret`` as Meta signs."""
    body = json.dumps(document).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": signature}


def meta_webhook(api: RunningProcess, document: dict[str, Any], secret: str = APP_SECRET) -> int:
    """POST a Meta webhook signed with ``secret`` to the API's ingress; the status code."""
    body, headers = signed(document, secret)
    return local_http.post(api.url + "/webhooks/meta", content=body, headers=headers).status_code


def status_webhook(wamid: str) -> dict[str, Any]:
    """Meta's notification of a message's sent, delivered and read, in one change."""
    statuses = [
        {"id": wamid, "status": name, "timestamp": str(1_700_000_000 + n), "recipient_id": USER}
        for n, name in enumerate(STATUSES)
    ]
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": PHONE, "phone_number_id": PHONE_NUMBER_ID},
        "statuses": statuses,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA1", "changes": [{"value": value, "field": "messages"}]}],
    }


async def spread(apis: list[RunningProcess], count: int, request: Request[T]) -> list[T]:
    """``request(client, api, index)`` for each index, round-robin over the APIs, a few at once."""
    slots = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(timeout=30) as client:

        async def one(index: int) -> T:
            async with slots:
                return await request(client, apis[index % len(apis)], index)

        return list(await asyncio.gather(*(one(index) for index in range(count))))


def send_messages(apis: list[RunningProcess], count: int) -> list[str]:
    """Send ``count`` text messages through the APIs in turn; their wamids."""

    async def send(client: httpx.AsyncClient, api: RunningProcess, index: int) -> str:
        response = await client.post(
            f"{api.url}/v2/SID1/whatsapp/{PHONE}/messages",
            headers={"api-key": "KEY1"},
            json={
                "messaging_object": {"to": f"+{USER}", "type": "text", "text": {"body": "hi"}},
                "extra_info": {"ref": f"ref-{index}"},
            },
        )
        assert response.status_code == 200, response.text
        wamid: str = response.json()["data"]["wamid"]
        return wamid

    return asyncio.run(spread(apis, count, send))


def post_statuses(apis: list[RunningProcess], wamids: list[str]) -> None:
    """Each message's statuses as one signed webhook, to the APIs in turn."""

    async def post(client: httpx.AsyncClient, api: RunningProcess, index: int) -> None:
        body, headers = signed(status_webhook(wamids[index]))
        response = await client.post(api.url + "/webhooks/meta", content=body, headers=headers)
        assert response.status_code == 200, response.text

    asyncio.run(spread(apis, len(wamids), post))
