"""Many endpoints that never answer do not hold up a healthy one.

Twenty endpoints accept connections and never answer; one receiver answers.
Messages are sent with their ``callback_url`` on each, and Meta's statuses for
all of them arrive together. Every callback to the healthy endpoint must
arrive, in each message's order, while the hanging ones are held to their
share; the deliveries API says how the workers judge the hanging endpoints.
Counts only, no timings (the latency is measured in ``bench/``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.black_hole import black_holes
from tests.e2e.callbacks import receiver_process
from tests.e2e.conftest import GatewayFactory
from tests.e2e.messaging import (
    META_ENV,
    NUMBER_A,
    PNID_A,
    USER,
    WABA,
    TenantTemplate,
    messages_env,
    meta_signature,
    query_of,
    send_messages,
    to_path,
)
from tests.e2e.sandbox import sandbox_process
from tests.support import local_http, wait_until

HANGING = 20
#: More requests to hanging endpoints than the lane's claim capacity (4 × its 64 slots ÷ 2)
#: and its 64 connections: neither may be what keeps the healthy endpoint waiting.
PER_HANGING = 10
HEALTHY_MESSAGES = 40
STATUSES = ("sent", "delivered", "read")


def webhook(statuses: list[tuple[str, str]]) -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": NUMBER_A, "phone_number_id": PNID_A},
        "statuses": [
            {"id": wamid, "status": status, "timestamp": "1700000000", "recipient_id": USER}
            for wamid, status in statuses
        ],
    }
    document = {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA, "changes": [{"value": value, "field": "messages"}]}],
    }
    return json.dumps(document).encode()


def post(gateway_url: str, body: bytes) -> None:
    answer = local_http.post(
        gateway_url + "/webhooks/meta",
        content=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(body)},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text


@pytest.fixture
def tenant(tmp_path: Path) -> Iterator[TenantTemplate]:
    with ThreadPoolExecutor(1) as pool:
        yield TenantTemplate(tmp_path / "tenant", pool)


def test_twenty_hanging_endpoints_do_not_hold_up_a_healthy_one(
    start_gateway: GatewayFactory, tmp_path: Path, tenant: TenantTemplate
) -> None:
    with (
        receiver_process(tmp_path) as receiver,
        sandbox_process(tmp_path, env=META_ENV) as meta,
        black_holes(HANGING) as ports,
    ):
        gateway = start_gateway(
            # The hanging requests outlast the test: what they hold is never given back.
            env=messages_env(meta, WAGATE_CALLBACK_TIMEOUT_SECONDS="600"),
            data_dir=tenant.copy_to(tmp_path),
        )
        healthy = asyncio.run(
            send_messages(gateway, HEALTHY_MESSAGES, f"{receiver.url}/ok/healthy")
        )
        hanging: list[tuple[str, str]] = []
        for port in ports:
            hanging += asyncio.run(
                send_messages(gateway, PER_HANGING, f"http://127.0.0.1:{port}/never")
            )
        # Round the hanging endpoints in turn, so that any page of deliveries names many.
        hanging = [hanging[p * PER_HANGING + i] for i in range(PER_HANGING) for p in range(HANGING)]
        everything = hanging + healthy
        for status in STATUSES:
            post(gateway.url, webhook([(wamid, status) for _, wamid in everything]))
        expected = {(message_id, status) for message_id, _ in healthy for status in STATUSES}

        def arrived() -> list[dict[str, Any]] | None:
            got = to_path(receiver, "/ok/healthy")
            keys = {(q["id"], q["status"]) for q in map(query_of, got)}
            return got if keys >= expected else None

        records = wait_until(arrived, 120, f"{len(expected)} callbacks to the healthy endpoint")

        def judged() -> dict[str, Any] | None:
            page = local_http.get(
                f"{gateway.url}/v1/SID1/callback/deliveries?limit=100",
                headers={"api-key": "KEY1"},
            ).json()["data"]["items"]
            states = {d["endpoint"]: d["endpoint_state"] for d in page}
            bad = {e: s for e, s in states.items() if s != "healthy"}
            return bad if len(bad) >= HANGING // 2 else None

        bad = wait_until(judged, 120, "the hanging endpoints to be judged")

    firsts: dict[str, list[str]] = {}
    for query in map(query_of, records):
        statuses = firsts.setdefault(query["id"], [])
        if query["status"] not in statuses:
            statuses.append(query["status"])
    assert all(order == list(STATUSES) for order in firsts.values())
    assert set(bad.values()) <= {"slow", "open", "probing"}
    assert all(endpoint.startswith("http://127.0.0.1:") for endpoint in bad)
