"""A burst of Meta statuses, posted many at a time: every callback arrives, in order.

Each message's sent, delivered and read are posted as Meta posts them: one
webhook per status, the next only once the one before was acknowledged,
while many other messages' webhooks are in flight. The receiver must get one
callback per message and status, each message's first in the order sent →
delivered → read. A second run SIGKILLs the whole gateway part-way through and
starts it again while the client keeps retrying what was not acknowledged, as
Meta retries: nothing is lost and the order holds, though a callback in flight
at the kill may come twice. A third SIGKILLs only the worker child that sends
callbacks; the gateway starts another. Counts only, no timings.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.callbacks import receiver_process
from tests.e2e.conftest import GatewayFactory
from tests.e2e.messaging import (
    META_ENV,
    NUMBER_A,
    PNID_A,
    USER,
    WABA,
    TenantTemplate,
    create_tenant_with_number_a,
    messages_env,
    meta_signature,
    query_of,
    send_messages,
    to_path,
)
from tests.e2e.sandbox import sandbox_process
from tests.support import (
    PATIENCE,
    RunningProcess,
    temporary_postgres_database,
    wait_until,
    worker_children,
)

MESSAGES = 120
STATUSES = ("sent", "delivered", "read")
IN_FLIGHT = 48


@pytest.fixture(scope="module")
def meta_and_receiver(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Any, RunningProcess]]:
    directory = tmp_path_factory.mktemp("order")
    with receiver_process(directory) as receiver, sandbox_process(directory, env=META_ENV) as meta:
        yield meta, receiver


def status_body(wamid: str, status: str) -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": NUMBER_A, "phone_number_id": PNID_A},
        "statuses": [
            {"id": wamid, "status": status, "timestamp": "1700000000", "recipient_id": USER}
        ],
    }
    document = {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA, "changes": [{"value": value, "field": "messages"}]}],
    }
    return json.dumps(document).encode()


async def post_in_order(url: str, wamids: list[str], kill_after: int | None, kill: Any) -> int:
    """Post every message's statuses, each message's in order, ``IN_FLIGHT`` at a time,
    retrying until each is acknowledged; call ``kill`` once ``kill_after`` were. The number of
    posts that failed and were retried."""
    retried = 0
    acknowledged = 0
    gate = asyncio.Semaphore(IN_FLIGHT)
    limits = httpx.Limits(max_connections=IN_FLIGHT)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def post(body: bytes) -> None:
            nonlocal retried, acknowledged
            while True:
                try:
                    async with gate:
                        answer = await client.post(
                            "/webhooks/meta",
                            content=body,
                            headers={
                                "Content-Type": "application/json",
                                "X-Hub-Signature-256": meta_signature(body),
                            },
                        )
                    if answer.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                retried += 1
                await asyncio.sleep(0.2)
            acknowledged += 1
            if kill_after is not None and acknowledged == kill_after:
                await asyncio.to_thread(kill)

        async def message(wamid: str) -> None:
            for status in STATUSES:
                await post(status_body(wamid, status))

        await asyncio.gather(*(message(wamid) for wamid in wamids))
    return retried


def callback_sender(gateway_pid: int) -> int | None:
    """The pid of the gateway's worker child that runs the deliveries lane, if it runs."""
    senders = [pid for pid, lanes in worker_children(gateway_pid).items() if lanes == "deliveries"]
    return senders[0] if senders else None


@pytest.mark.parametrize(
    "crash", ["none", "gateway", "callback-sender"], ids=lambda crash: f"sigkill-{crash}"
)
@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_every_callback_arrives_in_each_message_s_order(
    database: str,
    crash: str,
    meta_and_receiver: tuple[Any, RunningProcess],
    start_gateway: GatewayFactory,
    messaging_tenant: TenantTemplate,
    tmp_path: Path,
) -> None:
    meta, receiver = meta_and_receiver
    with temporary_postgres_database() if database == "postgresql" else nullcontext() as url:
        env = messages_env(meta, WAGATE_LOG_LEVEL="WARNING", WAGATE_DATA_DIR=str(tmp_path / "data"))
        if url is None:
            messaging_tenant.copy_to(tmp_path)
        else:
            env["WAGATE_DATABASE_URL"] = url
            create_tenant_with_number_a(env)
        gateway = start_gateway(env=env, data_dir=tmp_path / "data")
        prefix = f"/ok/order-{database}-{crash}"
        messages = asyncio.run(send_messages(gateway, MESSAGES, receiver.url + prefix))
        wamids = [wamid for _, wamid in messages]
        restarted: list[RunningProcess] = []
        lock = threading.Lock()

        killed_sender: list[int] = []

        def kill_and_restart() -> None:
            with lock:
                gateway.kill()
                port = int(gateway.url.rsplit(":", 1)[1])
                restarted.append(start_gateway(env=env, data_dir=tmp_path / "data", port=port))

        def kill_the_callback_sender() -> None:
            sender = wait_until(lambda: callback_sender(gateway.pid), PATIENCE, "the sender")
            os.kill(sender, signal.SIGKILL)
            killed_sender.append(sender)

        total = MESSAGES * len(STATUSES)
        kill = kill_and_restart if crash == "gateway" else kill_the_callback_sender
        retried = asyncio.run(
            post_in_order(gateway.url, wamids, None if crash == "none" else total * 2 // 5, kill)
        )
        expected = {(message_id, status) for message_id, _ in messages for status in STATUSES}

        def everything() -> list[dict[str, Any]] | None:
            got = to_path(receiver, prefix)
            keys = {(q["id"], q["status"]) for q in map(query_of, got)}
            return got if keys >= expected else None

        records = wait_until(everything, PATIENCE, f"{len(expected)} callbacks")

    firsts: dict[str, list[str]] = {}
    seen: set[tuple[str, str]] = set()
    for query in map(query_of, records):
        key = (query["id"], query["status"])
        if key not in seen:
            seen.add(key)
            firsts.setdefault(query["id"], []).append(query["status"])
    assert seen == expected, "every status of every message, nothing else"
    assert all(order == list(STATUSES) for order in firsts.values()), "each message's order"
    if crash == "gateway":
        assert restarted, "the gateway was killed and started again"
        assert retried > 0, "posts failed while it was down, as they would for Meta"
    elif crash == "callback-sender":
        assert killed_sender, "the callback sender was killed"
        replacement = wait_until(lambda: callback_sender(gateway.pid), PATIENCE, "a new sender")
        assert replacement != killed_sender[0]
        assert retried == 0, "the API went on acknowledging"
    else:
        assert len(records) == len(expected), "nothing twice without a crash"
