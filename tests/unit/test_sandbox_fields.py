"""The sandbox emits Meta's non-message fields as Meta sends them: each parses into the
event of its type, for the number or the WABA it names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from wagate.domain.field_events import field_events
from wagate.domain.marketing import preferences_of, template_category_of
from wagate.domain.webhook_events import CATALOGUE, EventScope
from wagate.sandbox import create_sandbox_app
from wagate.sandbox.field_emissions import field_webhook
from wagate.sandbox.numbers import BusinessNumber
from wagate.sandbox.settings import SandboxSettings

NUMBER = BusinessNumber("106540352242922", "+1 555-078-3881", "102290129340398")
ORDERS: dict[str, dict[str, Any]] = {
    "smb_message_echoes": {"to": "16505551234", "text": {"body": "from the app"}},
    "message_echoes": {"to": "16505551234"},
    "user_preferences": {"wa_id": "16505551234", "value": "stop"},
    "message_template_status_update": {"name": "promo", "language": "en", "category": "MARKETING"},
    "message_template_quality_update": {"name": "promo"},
    "template_category_update": {"name": "promo", "new_category": "MARKETING"},
    "account_update": {"event": "ACCOUNT_VIOLATION"},
    "played": {"wamid": "wamid.x", "recipient_id": "16505551234"},
    "errors": {},
}


@pytest.mark.parametrize("field", list(ORDERS))
def test_every_field_parses_into_its_event(field: str) -> None:
    notification = field_webhook(field, NUMBER, NUMBER.waba_id, ORDERS[field], 1765099091)
    scope = NUMBER.phone_number_id if CATALOGUE[field].scope is EventScope.NUMBER else None
    [event] = field_events(notification, scope)
    assert event.type == field
    assert event.waba_id == NUMBER.waba_id
    assert event.time == 1765099091


def test_an_opt_out_and_a_marketing_template_are_what_the_gateway_keeps() -> None:
    stop = field_webhook("user_preferences", NUMBER, NUMBER.waba_id, ORDERS["user_preferences"], 5)
    [event] = field_events(stop, NUMBER.phone_number_id)
    [preference] = preferences_of(event)
    assert (preference.user, preference.opted_out, preference.reported_at) == (
        "16505551234", True, 5,
    )  # fmt: skip
    approved = field_webhook(
        "message_template_status_update", NUMBER, NUMBER.waba_id,
        ORDERS["message_template_status_update"], 5,
    )  # fmt: skip
    [event] = field_events(approved, None)
    category = template_category_of(event)
    assert category is not None
    assert (category.name, category.language, category.category) == ("promo", "en", "MARKETING")


def test_a_wrong_order_is_refused() -> None:
    with pytest.raises(ValueError, match="value must be stop or resume"):
        field_webhook("user_preferences", NUMBER, "W", {"wa_id": "1", "value": "maybe"}, 1)
    with pytest.raises(ValueError, match="raw must be an object"):
        field_webhook("account_update", NUMBER, "W", {"raw": 1}, 1)


@pytest.fixture
async def sandbox() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    settings = SandboxSettings(app_secret="s", webhook_url="http://127.0.0.1:9/unused")
    async with TestClient(TestServer(create_sandbox_app(settings), host="127.0.0.1")) as client:
        yield client


async def test_the_control_endpoint_sends_the_webhook(
    sandbox: TestClient[web.Request, web.Application],
) -> None:
    answer = await sandbox.post(
        "/_sandbox/fields/account_update", json={"waba_id": "W1", "event": "ACCOUNT_DELETED"}
    )
    assert answer.status == 200, await answer.text()
    body = (await answer.json())["body"]
    assert body["entry"][0]["id"] == "W1"
    assert body["entry"][0]["changes"][0]["value"] == {"event": "ACCOUNT_DELETED"}
    refused = await sandbox.post("/_sandbox/fields/user_preferences", json={"wa_id": "1"})
    assert refused.status == 400
