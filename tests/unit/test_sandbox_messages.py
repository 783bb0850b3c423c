"""The messaging half of the Meta sandbox: send endpoint, webhook bodies, signatures.

The expected bodies below are written from Meta's webhook reference (status
and quick-reply button notifications of the WhatsApp Cloud API), not from the
sandbox's code.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.support import free_port
from wagate.sandbox import AutoProgression, SandboxSettings, create_sandbox_app
from wagate.sandbox.conversations import Conversation, Conversations
from wagate.sandbox.driver import WebhookDriver
from wagate.sandbox.graph_errors import GraphApiError
from wagate.sandbox.inbound import InboundOrder, inbound_webhook
from wagate.sandbox.messages import SentMessage, new_wamid, wa_id_of
from wagate.sandbox.messaging import Messaging
from wagate.sandbox.numbers import BusinessNumber
from wagate.sandbox.orders import ButtonOrder, StatusOrder
from wagate.sandbox.progression import Progressions
from wagate.sandbox.send import parse_send_request
from wagate.sandbox.webhooks import encode, signature
from wagate.settings import Settings

SECRET = "unit-app-secret"
TOKEN = "unit-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SETTINGS = Settings(
    meta_app_secret=SECRET,
    meta_access_token=TOKEN,
    meta_app_id="APP1",
    sandbox_webhook_url="http://127.0.0.1:9/unused",
)
WAMID = "wamid.HBgLMTU1NTAxMDAxMDAVAgARGBIyNjg0NDY1OUUxN0ZDMjc5OEMA"
TEMPLATE_SEND = {
    "messaging_product": "whatsapp",
    "recipient_type": "individual",
    "to": "+1 555 010 0100",
    "type": "template",
    "template": {"name": "promo", "language": {"code": "en_US"}, "components": []},
}


def hub_signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def template_message(**overrides: Any) -> SentMessage:
    fields: dict[str, Any] = {
        "wamid": WAMID,
        "phone_number_id": "106540352242922",
        "to": "+1 555 010 0100",
        "wa_id": "15550100100",
        "type": "template",
        "request": dict(TEMPLATE_SEND),
        "template_name": "promo",
        "template_language": "en_US",
        "accepted_at": 1_700_000_000.0,
    }
    fields.update(overrides)
    return SentMessage(**fields)


def messaging_with_number() -> Messaging:
    messaging = Messaging(SandboxSettings.of(SETTINGS))
    messaging.numbers.register(
        {
            "phone_number_id": "106540352242922",
            "display_phone_number": "+1 555-078-3881",
            "waba_id": "102290129340398",
        }
    )
    return messaging


# --- signatures and encoding -------------------------------------------------------


def test_the_signature_is_hmac_sha256_of_the_raw_body_with_the_app_secret() -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert signature(body, SECRET) == f"sha256={expected}"
    assert signature(body, "another-secret") != signature(body, SECRET)
    assert signature(body + b" ", SECRET) != signature(body, SECRET)


def test_bodies_are_compact_ascii_json_with_slashes_escaped_as_meta_writes_them() -> None:
    payload = {"text": "café https://x.example/a", "n": [1, True, None]}
    body = encode(payload)
    assert body == b'{"text":"caf\\u00e9 https:\\/\\/x.example\\/a","n":[1,true,null]}'
    assert json.loads(body) == payload


# --- webhook bodies -----------------------------------------------------------------


def test_a_sent_status_of_a_template_has_metas_shape() -> None:
    messaging = messaging_with_number()
    message = template_message(conversation=Conversation("c0ffee", "marketing", 1_700_086_400))
    body = messaging.status_payload(message, StatusOrder(status="sent"), 1_700_000_001)
    assert body == {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": "106540352242922",
                            },
                            "statuses": [
                                {
                                    "id": WAMID,
                                    "status": "sent",
                                    "timestamp": "1700000001",
                                    "recipient_id": "15550100100",
                                    "conversation": {
                                        "id": "c0ffee",
                                        "expiration_timestamp": "1700086400",
                                        "origin": {"type": "marketing"},
                                    },
                                    # Per-message pricing, Meta's since 2025-07-01.
                                    "pricing": {
                                        "billable": True,
                                        "pricing_model": "PMP",
                                        "category": "marketing",
                                        "type": "regular",
                                    },
                                }
                            ],
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def statuses_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    statuses: list[dict[str, Any]] = body["entry"][0]["changes"][0]["value"]["statuses"]
    return statuses


def test_delivered_names_the_conversation_without_expiry_and_read_names_none() -> None:
    messaging = messaging_with_number()
    message = template_message()
    sent = statuses_of(messaging.status_payload(message, StatusOrder("sent"), 1_700_000_001))
    delivered = statuses_of(
        messaging.status_payload(
            message, StatusOrder("delivered", category="utility"), 1_700_000_002
        )
    )
    read = statuses_of(messaging.status_payload(message, StatusOrder("read"), 1_700_000_003))
    conversation = sent[0]["conversation"]
    assert len(conversation["id"]) == 32
    assert conversation["expiration_timestamp"] == str(1_700_000_001 + 24 * 3600)
    assert delivered[0]["conversation"] == {
        "id": conversation["id"],
        "origin": {"type": "marketing"},
    }
    assert delivered[0]["pricing"] == {
        "billable": True,
        "pricing_model": "PMP",
        "category": "marketing",
        "type": "regular",
    }
    assert read == [
        {"id": WAMID, "status": "read", "timestamp": "1700000003", "recipient_id": "15550100100"}
    ]


def test_a_text_message_status_carries_no_conversation_and_overrides_win() -> None:
    messaging = messaging_with_number()
    text = template_message(type="text", template_name=None, template_language=None)
    plain = statuses_of(messaging.status_payload(text, StatusOrder("delivered"), 5))[0]
    assert set(plain) == {"id", "status", "timestamp", "recipient_id"}
    order = StatusOrder.parse({"status": "sent", "pricing": None, "conversation": {"id": "X"}})
    given = statuses_of(messaging.status_payload(template_message(), order, 5))[0]
    assert given["conversation"] == {"id": "X"}
    assert "pricing" not in given


def test_a_failed_status_carries_metas_undeliverable_error_by_default() -> None:
    messaging = messaging_with_number()
    body = messaging.status_payload(template_message(), StatusOrder("failed"), 1_700_000_009)
    assert statuses_of(body) == [
        {
            "id": WAMID,
            "status": "failed",
            "timestamp": "1700000009",
            "recipient_id": "15550100100",
            "errors": [
                {
                    "code": 131026,
                    "title": "Message undeliverable",
                    "message": "Message undeliverable",
                    "error_data": {"details": "Message Undeliverable."},
                }
            ],
        }
    ]
    custom = [{"code": 131049, "title": "This message was not delivered"}]
    order = StatusOrder.parse({"status": "failed", "errors": custom})
    assert (
        statuses_of(messaging.status_payload(template_message(), order, 1))[0]["errors"] == custom
    )


async def test_a_button_click_has_metas_shape() -> None:
    received: list[bytes] = []
    messaging = messaging_with_number()
    messaging.driver = RecordingDriver(received)
    order = ButtonOrder.parse({"payload": "STOP", "text": "Stop promotions", "name": "Ana"})
    body, _ = await messaging.click_button(template_message(), order)
    reply = body["entry"][0]["changes"][0]["value"]["messages"][0]  # type: ignore[index]
    assert reply["id"].startswith("wamid.")
    assert reply["id"] != WAMID
    assert reply["timestamp"].isdigit()
    expected_value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": "15550100100"}],
        "messages": [
            {
                "context": {"from": "15550783881", "id": WAMID},
                "from": "15550100100",
                "id": reply["id"],
                "timestamp": reply["timestamp"],
                "type": "button",
                "button": {"payload": "STOP", "text": "Stop promotions"},
            }
        ],
    }
    assert body == {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [{"value": expected_value, "field": "messages"}],
            }
        ],
    }
    assert received == [encode(body)]


class RecordingDriver(WebhookDriver):
    """A driver that records the bodies instead of POSTing them."""

    def __init__(self, received: list[bytes]) -> None:
        super().__init__(SECRET, "http://127.0.0.1:9/")
        self.received = received

    async def _deliver(self, record: Any) -> None:
        self.received.append(record.body)


def test_unknown_numbers_stand_for_themselves_in_webhooks() -> None:
    messaging = Messaging(SandboxSettings.of(SETTINGS))
    body = messaging.status_payload(template_message(phone_number_id="777"), StatusOrder("read"), 1)
    assert body["entry"][0]["id"] == "APP1"  # type: ignore[index]
    value = body["entry"][0]["changes"][0]["value"]  # type: ignore[index]
    assert value["metadata"] == {"display_phone_number": "777", "phone_number_id": "777"}


# --- ids, orders, settings ------------------------------------------------------------


def test_wamids_are_unique_base64_records_naming_the_recipient() -> None:
    ids = {new_wamid("15550100100") for _ in range(2000)}
    assert len(ids) == 2000
    for wamid in list(ids)[:50]:
        assert wamid.startswith("wamid.")
        assert b"15550100100" in base64.b64decode(wamid.removeprefix("wamid."))
    assert not any("/" in wamid or "+" in wamid for wamid in ids)
    assert wa_id_of("+1 (555) 010-0100") == "15550100100"


def test_conversations_are_shared_within_their_window_per_user_and_category() -> None:
    conversations = Conversations()
    first = conversations.open("P", "1555", "marketing", 1000)
    assert conversations.open("P", "1555", "marketing", 2000) is first
    assert conversations.open("P", "1555", "utility", 2000) != first
    assert conversations.open("P", "1555", "marketing", first.expires).id != first.id


@pytest.mark.parametrize(
    "order",
    [
        {},
        {"status": "bounced"},
        {"status": "sent", "duplicate": 11},
        {"status": "sent", "duplicate": -1},
        {"status": "sent", "timestamp": "now"},
        {"status": "sent", "category": "promo"},
        {"status": "sent", "errors": {"code": 1}},
        {"status": "sent", "pricing": "free"},
        {"status": "sent", "surprise": 1},
    ],
)
def test_wrong_status_orders_are_refused(order: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each says what is wrong
        StatusOrder.parse(order)


@pytest.mark.parametrize(
    "order",
    [{}, {"text": ""}, {"text": "Yes", "from": "abc"}, {"text": "Yes", "name": 3}, {"x": 1}],
)
def test_wrong_button_orders_are_refused(order: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        ButtonOrder.parse(order)


def test_a_button_payload_defaults_to_its_text() -> None:
    assert ButtonOrder.parse({"text": "Yes"}).payload == "Yes"


def test_auto_progression_plans_three_statuses_per_message() -> None:
    auto = AutoProgression(enabled=True)
    assert [(s.at, s.status, s.copies) for s in auto.plan()] == [
        (0.1, "sent", 1),
        (0.3, "delivered", 1),
        (0.6, "read", 1),
    ]
    auto.update({"duplicates": True, "out_of_order": True, "delays_ms": [0, 10, 20]})
    plan = auto.plan()
    assert [(s.status, s.copies) for s in plan] == [("sent", 2), ("read", 2), ("delivered", 2)]
    delivered = plan[2]
    assert delivered.happened_at <= plan[1].happened_at


@pytest.mark.parametrize(
    "changes",
    [
        {"enabled": "yes"},
        {"delays_ms": [1, 2]},
        {"delays_ms": [300, 100, 600]},
        {"delays_ms": [0, 1, 10**9]},
        {"delays_ms": [0, 1, True]},
        {"speed": 1},
    ],
)
def test_wrong_auto_settings_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        AutoProgression().update(changes)


async def test_progressions_send_in_plan_order_and_are_cancelled_on_close() -> None:
    sent: list[tuple[str, str, int, int]] = []

    async def emit(message: SentMessage, status: str, timestamp: int, copies: int) -> None:
        sent.append((message.wamid, status, timestamp, copies))

    progressions = Progressions(emit)
    quick = AutoProgression(enabled=True, delays_ms=(0, 5, 10), out_of_order=True)
    progressions.schedule(template_message(wamid="wamid.A"), quick.plan())
    slow = AutoProgression(enabled=True, delays_ms=(0, 60_000, 60_000))
    progressions.schedule(template_message(wamid="wamid.B"), slow.plan())
    for _ in range(200):
        if len(sent) >= 4 and len(progressions) == 1:
            break
        await asyncio.sleep(0.01)
    assert [s[:2] for s in sent if s[0] == "wamid.A"] == [
        ("wamid.A", "sent"),
        ("wamid.A", "read"),
        ("wamid.A", "delivered"),
    ]
    assert len(progressions) == 1
    await progressions.cancel_all()
    assert len(progressions) == 0
    assert [s[1] for s in sent if s[0] == "wamid.B"] == ["sent"]


# --- the send endpoint ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({}, 100, "(#100) The parameter messaging_product is required."),
        ({**TEMPLATE_SEND, "messaging_product": "sms"}, 100, "messaging_product must be one of"),
        ({**TEMPLATE_SEND, "recipient_type": "group"}, 100, "recipient_type must be one of"),
        ({k: v for k, v in TEMPLATE_SEND.items() if k != "to"}, 100, "parameter to is required"),
        ({**TEMPLATE_SEND, "to": 15550100100}, 100, "(#100) Invalid parameter"),
        ({**TEMPLATE_SEND, "to": "call me"}, 100, "(#100) Invalid parameter"),
        ({**TEMPLATE_SEND, "to": "+1 23"}, 100, "(#100) Invalid parameter"),
        ({**TEMPLATE_SEND, "type": 7}, 100, "(#100) Invalid parameter"),
        ({**TEMPLATE_SEND, "type": "text"}, 100, "The parameter text['body'] is required."),
        (
            {k: v for k, v in TEMPLATE_SEND.items() if k not in ("type", "template")},
            100,
            "The parameter text['body'] is required.",
        ),
        ({**TEMPLATE_SEND, "template": None}, 100, "The parameter template is required."),
        ({**TEMPLATE_SEND, "template": {"language": {"code": "en"}}}, 100, "template['name']"),
        ({**TEMPLATE_SEND, "template": {"name": "promo"}}, 100, "template['language']"),
        (
            {**TEMPLATE_SEND, "template": {"name": "p", "language": {}}},
            100,
            "template['language']['code']",
        ),
        (
            {
                **TEMPLATE_SEND,
                "template": {"name": "p", "language": {"code": "en"}, "components": 1},
            },
            100,
            "(#100) Invalid parameter",
        ),
        ({**TEMPLATE_SEND, "type": "poll", "poll": {}}, 131051, "Unsupported message type"),
        ({**TEMPLATE_SEND, "type": "hsm"}, 131051, "Unsupported message type"),
    ],
)
def test_the_send_request_is_checked_as_meta_checks_it(
    body: dict[str, object], code: int, message: str
) -> None:
    with pytest.raises(GraphApiError) as caught:
        parse_send_request(body)
    error = caught.value.body()["error"]
    assert isinstance(error, dict)
    assert caught.value.status == 400
    assert error["code"] == code
    assert error["type"] == "OAuthException"
    assert message in str(error["message"])
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert error["fbtrace_id"]


def test_a_missing_type_means_text_as_at_meta() -> None:
    request = parse_send_request(
        {"messaging_product": "whatsapp", "to": "15550100100", "text": {"body": "hi"}}
    )
    assert (request.type, request.wa_id) == ("text", "15550100100")


@pytest.fixture
async def sandbox() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = create_sandbox_app(SandboxSettings.of(SETTINGS))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


async def test_the_send_endpoint_answers_like_meta(
    sandbox: TestClient[web.Request, web.Application],
) -> None:
    response = await sandbox.post(
        "/v21.0/106540352242922/messages", json=TEMPLATE_SEND, headers=AUTH
    )
    assert response.status == 200
    body = await response.json()
    wamid = body["messages"][0]["id"]
    assert body == {
        "messaging_product": "whatsapp",
        "contacts": [{"input": "+1 555 010 0100", "wa_id": "15550100100"}],
        "messages": [{"id": wamid, "message_status": "accepted"}],
    }
    text = {
        "messaging_product": "whatsapp",
        "to": "15550100100",
        "type": "text",
        "text": {"body": "hi"},
    }
    response = await sandbox.post("/v19.0/any-id/messages", json=text, headers=AUTH)
    assert (await response.json())["messages"][0].keys() == {"id"}
    listed = (await (await sandbox.get("/_sandbox/messages")).json())["data"]
    assert [(m["id"], m["type"], m["template_name"], m["phone_number_id"]) for m in listed] == [
        (wamid, "template", "promo", "106540352242922"),
        (listed[1]["id"], "text", None, "any-id"),
    ]
    assert listed[0]["accepted_at"] > 0


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic " + TOKEN}]
)
async def test_the_send_endpoint_refuses_a_bad_token(
    sandbox: TestClient[web.Request, web.Application], headers: dict[str, str]
) -> None:
    response = await sandbox.post("/v21.0/1/messages", json=TEMPLATE_SEND, headers=headers)
    assert response.status == 401
    assert (await response.json())["error"]["code"] == 190


async def test_a_body_that_is_not_json_lacks_messaging_product(
    sandbox: TestClient[web.Request, web.Application],
) -> None:
    response = await sandbox.post("/v21.0/1/messages", data=b"{not json", headers=AUTH)
    assert response.status == 400
    error = (await response.json())["error"]
    assert (error["code"], error["message"]) == (
        100,
        "(#100) The parameter messaging_product is required.",
    )


async def test_unknown_messages_and_wrong_orders_get_clear_answers(
    sandbox: TestClient[web.Request, web.Application],
) -> None:
    missing = await sandbox.post("/_sandbox/messages/wamid.nope/statuses", json={"status": "read"})
    assert missing.status == 404
    text = {"messaging_product": "whatsapp", "to": "15550100100", "text": {"body": "hi"}}
    wamid = (await (await sandbox.post("/v21.0/1/messages", json=text, headers=AUTH)).json())[
        "messages"
    ][0]["id"]
    wrong = await sandbox.post(f"/_sandbox/messages/{wamid}/statuses", json={"status": "lost"})
    assert wrong.status == 400
    assert "status must be one of" in (await wrong.json())["error"]
    no_buttons = await sandbox.post(f"/_sandbox/messages/{wamid}/button", json={"text": "Yes"})
    assert no_buttons.status == 400
    bad_url = await sandbox.post("/_sandbox/config", json={"webhook_url": "ftp://x"})
    assert bad_url.status == 400


# --- delivery: signed, retried, recorded -----------------------------------------------


async def test_webhooks_are_signed_retried_and_recorded() -> None:
    seen: list[tuple[dict[str, str], bytes]] = []

    async def receive(request: web.Request) -> web.Response:
        seen.append((dict(request.headers), await request.read()))
        return web.Response(status=503 if len(seen) <= 2 else 200)

    receiver = web.Application()
    receiver.router.add_post("/hook", receive)
    server = TestServer(receiver, host="127.0.0.1")
    await server.start_server()
    driver = WebhookDriver(SECRET, str(server.make_url("/hook")), retry_delays=(0.01, 0.01, 0.01))
    await driver.start()
    try:
        [record] = await driver.send("status", WAMID, {"object": "whatsapp_business_account"})
        driver.retarget(f"http://127.0.0.1:{free_port()}/hook")
        [lost] = await driver.send("status", WAMID, {"object": "whatsapp_business_account"})
    finally:
        await driver.close()
        await server.close()
    assert [a.status for a in record.attempts] == [503, 503, 200]
    assert record.delivered
    for headers, body in seen:
        assert body == b'{"object":"whatsapp_business_account"}'
        assert headers["X-Hub-Signature-256"] == hub_signature(body)
        assert headers["Content-Type"] == "application/json"
    assert [a.status for a in lost.attempts] == [None] * 4
    assert all(a.error for a in lost.attempts)
    assert not lost.delivered
    assert [r.id for r in driver.records(WAMID)] == [record.id, lost.id]


# --- inbound messages ---------------------------------------------------------------------


def test_an_inbound_order_of_any_type_becomes_metas_webhook() -> None:
    order = InboundOrder.parse(
        {
            "phone_number_id": "106540352242922",
            "from": "+1 650-555-1234",
            "type": "poll_vote",
            "poll_vote": {"option": "2"},
            "context": {"from": "15550783881", "id": "wamid.X"},
        }
    )
    number = BusinessNumber("106540352242922", "15550783881", "102290129340398")
    payload = inbound_webhook(number, order, message_id="wamid.Y", timestamp=1739321024)
    value = payload["entry"][0]["changes"][0]["value"]  # type: ignore[index]
    assert value["contacts"] == [{"profile": {"name": "Sandbox User"}, "wa_id": "16505551234"}]
    assert value["messages"] == [
        {
            "from": "16505551234",
            "id": "wamid.Y",
            "timestamp": "1739321024",
            "type": "poll_vote",
            "poll_vote": {"option": "2"},
            "context": {"from": "15550783881", "id": "wamid.X"},
        }
    ]


def test_an_inbound_order_may_leave_out_the_profile_or_the_contacts() -> None:
    number = BusinessNumber("PN1", "15550783881", "W1")
    nameless = InboundOrder.parse({"phone_number_id": "PN1", "from": "1555", "type": "text",
                                   "text": {"body": "hi"}, "name": None})  # fmt: skip
    value = inbound_webhook(number, nameless, message_id="m", timestamp=1)["entry"][0]
    assert value["changes"][0]["value"]["contacts"] == [{"wa_id": "1555"}]  # type: ignore[index]
    system = InboundOrder.parse(
        {"phone_number_id": "PN1", "from": "1555", "type": "system", "system": {"body": "x"}}
    )
    value = inbound_webhook(number, system, message_id="m", timestamp=1)["entry"][0]
    assert "contacts" not in value["changes"][0]["value"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("order", "problem"),
    [
        ({"from": "1555", "type": "text"}, "phone_number_id"),
        ({"phone_number_id": "PN1", "type": "text"}, "from"),
        ({"phone_number_id": "PN1", "from": "1555"}, "type"),
        ({"phone_number_id": "PN1", "from": "1555", "type": "text", "duplicate": 11}, "duplicate"),
        ({"phone_number_id": "PN1", "from": "1555", "type": "text", "name": 7}, "name"),
    ],
)
def test_a_wrong_inbound_order_is_refused(order: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        InboundOrder.parse(order)


# --- users known by business-scoped user id ------------------------------------------------


def test_a_send_to_a_bsuid_is_accepted_and_its_statuses_name_the_user() -> None:
    from wagate.sandbox.send import parse_send_request, send_response

    bsuid = "US.13491208655302741918"
    request = parse_send_request(
        {"messaging_product": "whatsapp", "recipient": bsuid, "type": "text",
         "text": {"body": "Hi"}}
    )  # fmt: skip
    assert (request.to, request.wa_id, request.user_id) == ("", "", bsuid)
    assert send_response(request, WAMID)["contacts"] == [{"input": bsuid, "user_id": bsuid}]
    messaging = messaging_with_number()
    message = template_message(type="text", wa_id="", to="", user_id=bsuid)
    [status] = statuses_of(messaging.status_payload(message, StatusOrder("delivered"), 5))
    assert status["recipient_user_id"] == bsuid
    assert "recipient_id" not in status


def test_an_authentication_template_to_a_bsuid_answers_131062() -> None:
    from wagate.sandbox.graph_errors import GraphApiError
    from wagate.sandbox.send import parse_send_request

    body = {
        "messaging_product": "whatsapp", "recipient": "US.13491208655302741918",
        "type": "template", "template": {"name": "auth_code", "language": {"code": "en"}},
    }  # fmt: skip
    with pytest.raises(GraphApiError) as refused:
        parse_send_request(body)
    assert refused.value.code == 131062
    assert parse_send_request({**body, "to": "16505551234"}).wa_id == "16505551234"


def test_an_inbound_bsuid_user_comes_without_a_number() -> None:
    from wagate.sandbox.inbound import InboundOrder, inbound_webhook

    order = InboundOrder.parse(
        {"phone_number_id": "106540352242922", "user_id": "US.13491208655302741918",
         "username": "@ana", "type": "text", "text": {"body": "Hi"}}
    )  # fmt: skip
    number = messaging_with_number().numbers.get("106540352242922")
    body = inbound_webhook(number, order, message_id=WAMID, timestamp=5)
    value = body["entry"][0]["changes"][0]["value"]  # type: ignore[index]
    assert value["contacts"] == [
        {"profile": {"name": "Sandbox User", "username": "@ana"},
         "user_id": "US.13491208655302741918"}
    ]  # fmt: skip
    assert "from" not in value["messages"][0]
    assert value["messages"][0]["from_user_id"] == "US.13491208655302741918"
