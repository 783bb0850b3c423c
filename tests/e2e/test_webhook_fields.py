"""Meta's non-message fields, end to end: every field reaches an opted-in ``webhook_url``,
and an opt-out refuses the next marketing send.

Real processes on 127.0.0.1: ``wagate serve``, ``wagate sandbox`` as Meta (its
signed webhooks go to the gateway) and the test receiver as the customer.
NUMBER_B has a ``webhook_url``; NUMBER_A has none.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.callbacks import api, assert_signed
from tests.e2e.conftest import GatewayFactory
from tests.e2e.messaging import (
    NUMBER_B,
    PNID_B,
    USER,
    WABA,
    TenantTemplate,
    messaging_world,
    patch_number,
    send,
    to_path,
    wait_settled,
)
from tests.e2e.sandbox import Sandbox
from tests.support import RunningProcess, run_wagate, wagate_command, wait_until

#: What the sandbox is told to emit of each field, and the event type it becomes.
ORDERS: dict[str, dict[str, Any]] = {
    "smb_message_echoes": {"phone_number_id": PNID_B, "to": USER, "text": {"body": "from the app"}},
    "message_echoes": {"phone_number_id": PNID_B, "to": USER},
    "user_preferences": {"phone_number_id": PNID_B, "wa_id": "919800000001", "value": "resume"},
    "message_template_status_update": {"waba_id": WABA, "name": "welcome", "category": "UTILITY"},
    "message_template_quality_update": {"waba_id": WABA, "name": "welcome"},
    "template_category_update": {"waba_id": WABA, "name": "welcome", "new_category": "UTILITY"},
    "account_update": {"waba_id": WABA, "event": "ACCOUNT_VIOLATION"},
    "played": {"phone_number_id": PNID_B, "wamid": "wamid.voice", "recipient_id": USER},
    "errors": {"phone_number_id": PNID_B},
}
PROMO = {
    "to": USER,
    "type": "template",
    "template": {"name": "spring_sale", "language": {"code": "en_US"}, "components": []},
}


@dataclass(frozen=True)
class World:
    gateway: RunningProcess
    sandbox: Sandbox
    receiver: RunningProcess
    secret: str


@pytest.fixture(scope="module")
def world(
    start_module_gateway: GatewayFactory,
    messaging_tenant: TenantTemplate,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    directory = tmp_path_factory.mktemp("fields")
    with messaging_world(start_module_gateway, messaging_tenant, directory) as (
        gateway,
        meta,
        receiver,
    ):
        attached = patch_number(gateway, NUMBER_B, webhook_url=f"{receiver.url}/ok/push")
        yield World(gateway, meta, receiver, attached["webhook_secret"])


def emit(world: World, field: str, order: dict[str, Any]) -> None:
    answer = world.sandbox.control(f"fields/{field}", order)
    assert answer["responses"] == [200], answer


def events(world: World) -> dict[str, dict[str, Any]]:
    """The pushes with an ``event``, by event type (the last of each)."""
    found = {}
    for record in to_path(world.receiver, "/ok/push"):
        body = json.loads(record["body"])
        if "event" in body:
            found[body["event"]] = body
    return found


def put(world: World, path: str, event_types: list[str] | None) -> dict[str, Any]:
    answer = api(world.gateway, "PUT", path, json={"event_types": event_types})
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


def test_every_non_message_field_reaches_an_opted_in_webhook_url(world: World) -> None:
    emit(world, "account_update", {"waba_id": WABA, "event": "ACCOUNT_DELETED"})
    wait_settled(world.gateway)
    assert events(world) == {}, "nothing is pushed before the number opts in"
    listed = api(world.gateway, "GET", f"/v2/SID1/whatsapp/{WABA}/webhook_events")
    assert listed.json()["data"] == {"waba_id": WABA, "event_types": None, "effective": []}

    opted = put(world, f"/v2/SID1/whatsapp/{WABA}/webhook_events", ["*"])
    assert opted["effective"] == ["*"]
    for field, order in ORDERS.items():
        emit(world, field, order)

    def every_field() -> dict[str, dict[str, Any]] | None:
        found = events(world)
        return found if set(ORDERS) <= set(found) else None

    got = wait_until(every_field, 30, "a push of every field")
    for field in ORDERS:
        push = got[field]
        assert push["business_phone"] == NUMBER_B, field
        assert push["waba_id"] == WABA, field
    assert got["account_update"]["account_update"] == {"event": "ACCOUNT_VIOLATION"}
    assert got["user_preferences"]["user_preferences"][0]["value"] == "resume"
    assert got["played"]["statuses"][0]["status"] == "played"
    assert got["errors"]["errors"][0]["code"] == 131000
    assert got["smb_message_echoes"]["message_echoes"][0]["text"] == {"body": "from the app"}
    for record in to_path(world.receiver, "/ok/push"):
        assert_signed(record, world.secret)


def test_a_number_s_own_list_replaces_its_waba_s(world: World) -> None:
    path = f"/v2/SID1/whatsapp/numbers/{NUMBER_B}/webhook_events"
    mine = put(world, path, ["played"])
    assert mine == {"number": NUMBER_B, "event_types": ["played"], "effective": ["played"]}
    wrong = api(world.gateway, "PUT", path, json={"event_types": ["nope"]})
    assert wrong.status_code == 400
    assert "nope" in wrong.json()["error"]["event_types"]
    cleared = put(world, path, None)
    assert cleared["event_types"] is None


def test_an_opt_out_blocks_the_next_marketing_send(world: World) -> None:
    marketing = {"name": "spring_sale", "language": "en_US", "category": "MARKETING"}
    emit(world, "message_template_status_update", {"waba_id": WABA, **marketing})
    wait_settled(world.gateway)
    assert send(world.gateway, NUMBER_B, PROMO).status_code == 200, "no opt-out yet"
    emit(world, "user_preferences", {"phone_number_id": PNID_B, "wa_id": USER, "value": "stop"})
    wait_settled(world.gateway)
    refused = send(world.gateway, NUMBER_B, PROMO)
    assert refused.status_code == 400, refused.text
    why = refused.json()["error"]["messaging_object.to"]
    assert USER in why
    assert "131050" in why
    overridden = api(
        world.gateway,
        "POST",
        f"/v2/SID1/whatsapp/{NUMBER_B}/messages",
        json={"messaging_object": PROMO, "extra_info": {"ignore_marketing_opt_out": True}},
    )
    assert overridden.status_code == 200, overridden.text
    text = {"to": USER, "type": "text", "text": {"body": "your order shipped"}}
    assert send(world.gateway, NUMBER_B, text).status_code == 200, "only marketing is refused"


def test_the_command_line_sets_shows_and_clears_what_a_waba_and_its_number_take(
    world: World,
) -> None:
    env = world.gateway.env
    waba_path = f"/v2/SID1/whatsapp/{WABA}/webhook_events"
    number_path = f"/v2/SID1/whatsapp/numbers/{NUMBER_B}/webhook_events"

    def cli(*args: str) -> dict[str, Any]:
        printed: dict[str, Any] = json.loads(run_wagate(*args, "--sid", "SID1", env=env))
        return printed

    def served(path: str) -> dict[str, Any]:
        data: dict[str, Any] = api(world.gateway, "GET", path).json()["data"]
        return data

    waba = ("wabas", "webhook-events", WABA)
    number = ("numbers", "webhook-events", NUMBER_B)
    assert cli(*waba) == served(waba_path)
    assert cli(*number) == served(number_path)

    taken = cli(*waba, "--set", "played, errors")
    assert taken == {"waba_id": WABA, "event_types": ["played", "errors"],
                     "effective": ["played", "errors"]}  # fmt: skip
    assert served(waba_path) == taken
    inherited = {"number": NUMBER_B, "event_types": None, "effective": ["played", "errors"]}
    assert cli(*number, "--clear") == inherited, "a number without a list takes its WABA's"

    own = cli(*number, "--set", "account_update")
    assert own == {"number": NUMBER_B, "event_types": ["account_update"],
                   "effective": ["account_update"]}  # fmt: skip
    assert served(number_path) == own
    assert cli(*number) == own
    none = cli(*number, "--set", "")
    assert none == {"number": NUMBER_B, "event_types": [], "effective": []}
    assert served(number_path) == none

    assert cli(*number, "--clear") == inherited
    cleared = cli(*waba, "--clear")
    assert cleared == {"waba_id": WABA, "event_types": None, "effective": []}
    assert served(waba_path) == cleared
    assert served(number_path) == {"number": NUMBER_B, "event_types": None, "effective": []}

    for args in ((*waba, "--set", "nope"), (*number, "--set", "played", "--clear")):
        refused = subprocess.run(
            wagate_command(*args, "--sid", "SID1"),
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert refused.returncode != 0, args
        assert "Traceback" not in refused.stderr, refused.stderr
    assert served(waba_path) == cleared, "a refused change changes nothing"
