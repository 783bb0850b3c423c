"""A customer reads its own account over the API: WABAs, numbers, a message's statuses.

A real ``wagate serve`` with ``wagate sandbox`` as Meta: a message is sent, Meta
reports it sent, read and (late) delivered, and the customer reads it back by id,
by wamid and by ref.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.e2e.callbacks import api
from tests.e2e.conftest import GatewayFactory
from tests.e2e.messaging import (
    META_ENV,
    NUMBER_A,
    NUMBER_B,
    NUMBERS,
    PNID_A,
    WABA,
    TenantTemplate,
    messages_env,
    sent,
    wait_settled,
)
from tests.e2e.sandbox import Sandbox, sandbox_process
from tests.support import RunningProcess


@pytest.fixture(scope="module")
def world(
    start_module_gateway: GatewayFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningProcess, Sandbox]]:
    directory = tmp_path_factory.mktemp("account-reads")
    with ThreadPoolExecutor(1) as pool, sandbox_process(directory, env=META_ENV) as meta:
        template = TenantTemplate(tmp_path_factory.mktemp("account-reads-tenant"), pool)
        gateway = start_module_gateway(env=messages_env(meta), data_dir=template.copy_to(directory))
        meta.send_webhooks_to(f"{gateway.url}/webhooks/meta")
        for number, phone_number_id in NUMBERS:
            meta.register_number(phone_number_id, number, WABA)
        yield gateway, meta


def data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["code"] == "WA200"
    assert answer["error"] == {}
    return answer["data"]


def test_the_account_lists_its_wabas_and_numbers(world: tuple[RunningProcess, Sandbox]) -> None:
    gateway, _ = world
    wabas = data(api(gateway, "GET", "/v2/SID1/whatsapp/wabas"))
    assert wabas["total"] == 1
    assert wabas["items"][0]["waba_id"] == WABA
    assert wabas["items"][0]["api_version"] == "v2"
    everywhere = data(api(gateway, "GET", "/v2/SID1/whatsapp/numbers"))
    of_waba = data(api(gateway, "GET", f"/v2/SID1/whatsapp/{WABA}/numbers?limit=1"))
    assert [n["number"] for n in everywhere["items"]] == [NUMBER_A, NUMBER_B]
    assert of_waba == {**everywhere, "items": everywhere["items"][:1], "limit": 1}
    assert everywhere["items"][0]["phone_number_id"] == PNID_A
    assert "webhook_secret" not in everywhere["items"][0]

    wrong_key = api(gateway, "GET", "/v2/SID1/whatsapp/wabas", key="nope")
    assert wrong_key.status_code == 401
    assert wrong_key.json()["code"] == "RBC001"
    other_waba = api(gateway, "GET", "/v2/SID1/whatsapp/WABA9/numbers")
    assert other_waba.status_code == 401
    assert other_waba.json()["code"] == "WA401"


def test_a_sent_message_is_read_back_with_its_status_timeline(
    world: tuple[RunningProcess, Sandbox],
) -> None:
    gateway, meta = world
    message_id, wamid = sent(gateway, NUMBER_A, ref="order-77")
    other_id, _ = sent(gateway, NUMBER_A, ref="order-77")
    for status in ("sent", "read", "delivered"):  # delivered late: recorded, not forwarded
        meta.status(wamid, status)
    wait_settled(gateway)
    path = f"/v2/SID1/whatsapp/{NUMBER_A}/messages"

    by_id = data(api(gateway, "GET", path, params={"id": message_id}))
    assert data(api(gateway, "GET", path, params={"id": wamid})) == by_id
    assert by_id["id"] == message_id
    assert by_id["wamid"] == wamid
    assert by_id["ref"] == "order-77"
    assert by_id["status"] == "read"
    assert [(s["status"], s["forwarded"]) for s in by_id["statuses"]] == [
        ("sent", True),
        ("read", True),
        ("delivered", False),
    ]
    assert all(s["timestamp"] and s["recorded_at"].endswith("Z") for s in by_id["statuses"])

    by_ref = data(api(gateway, "GET", path, params={"ref": "order-77"}))
    assert by_ref["total"] == 2
    assert [m["id"] for m in by_ref["items"]] == [other_id, message_id]  # newest first
    assert by_ref["items"][1] == by_id

    missing = api(gateway, "GET", path, params={"id": "nope"})
    assert missing.status_code == 404
    assert missing.json()["code"] == "WA404"
    other_number = api(gateway, "GET", f"/v2/SID1/whatsapp/{NUMBER_B}/messages?id={message_id}")
    assert other_number.status_code == 404
    neither = api(gateway, "GET", path)
    assert neither.status_code == 400
    assert neither.json()["error"]["id"] == "give id (or wamid) or ref"
