"""Meta's non-message webhook fields, as the sandbox is told to emit them.

``POST /_sandbox/fields/{field}`` sends one signed webhook of ``field`` to the
gateway, shaped as Meta sends it. The body names the business number
(``phone_number_id``) or, for a WABA's fields, the WABA (``waba_id``, else the
number's); the other members depend on the field:

- ``smb_message_echoes``, ``message_echoes``: ``to`` (the user), ``type`` and
  its object (``text``…): a message the business sent from another client;
- ``user_preferences``: ``wa_id`` and ``value`` (``stop``, ``resume``), with
  ``detail``: a user stopped or resumed marketing messages;
- ``message_template_status_update``: ``name``, ``language``, ``event``
  (``APPROVED``…), ``category`` (``MARKETING``…), ``reason``;
- ``message_template_quality_update``: ``name``, ``language``, ``previous``,
  ``new`` (``GREEN``, ``YELLOW``, ``RED``);
- ``template_category_update``: ``name``, ``language``, ``new_category``,
  ``previous_category``;
- ``account_update``: ``event`` (``ACCOUNT_RESTRICTION``…);
- ``played``: ``wamid`` and ``recipient_id``: a ``played`` status of a voice
  message, in the ``messages`` field;
- ``errors``: ``errors`` (default: one 131000): value-level errors, in the
  ``messages`` field.

Every field also takes ``raw``, an object merged into the change's value as
given, so any field, known or not, can be sent with any content.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from aiohttp import web

from wagate.sandbox.message_routes import MESSAGING
from wagate.sandbox.messages import new_wamid, wa_id_of
from wagate.sandbox.numbers import BusinessNumber

#: Fields sent inside ``messages`` (the gateway's ``played`` and ``errors`` events).
_IN_MESSAGES: Final = frozenset({"played", "errors"})
#: Fields about a number (their value names it in ``metadata``); the others are a WABA's.
_NUMBER_FIELDS: Final = frozenset(
    {"smb_message_echoes", "message_echoes", "user_preferences", "history", "calls"} | _IN_MESSAGES
)
MAX_FIELD_LENGTH: Final = 64

Order = Mapping[str, Any]


def add_field_routes(app: web.Application) -> None:
    """Serve ``POST /_sandbox/fields/{field}`` (after the messaging routes)."""
    app.router.add_post("/_sandbox/fields/{field}", _emit)


def field_webhook(
    field: str, number: BusinessNumber, waba_id: str, order: Order, now: int
) -> dict[str, Any]:
    """The notification of one ``field`` change, as Meta sends it."""
    if not field or len(field) > MAX_FIELD_LENGTH:
        raise ValueError(f"a field name has 1 to {MAX_FIELD_LENGTH} characters")
    build = _VALUES.get(field)
    value: dict[str, Any] = build(number, order, now) if build else {}
    extra = order.get("raw", {})
    if not isinstance(extra, dict):
        raise ValueError("raw must be an object")
    value.update(extra)
    if field in _NUMBER_FIELDS:
        value = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": number.wa_id,
                "phone_number_id": number.phone_number_id,
            },
            **value,
        }
    change = {"value": value, "field": "messages" if field in _IN_MESSAGES else field}
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "time": now, "changes": [change]}],
    }


def _text(order: Order, name: str, default: str | None = None) -> str:
    value = order.get(name, default)
    if not isinstance(value, str) or not value or len(value) > 512:
        raise ValueError(f"{name} must be a string of 1 to 512 characters")
    return value


def _contacts(wa_id: str) -> list[dict[str, Any]]:
    return [{"profile": {"name": "Sandbox User"}, "wa_id": wa_id}]


def _echo(number: BusinessNumber, order: Order, now: int) -> dict[str, Any]:
    to = wa_id_of(_text(order, "to"))
    kind = _text(order, "type", "text")
    body = order.get(kind, {"body": "Sent from the WhatsApp Business app"})
    echo = {
        "from": number.wa_id,
        "to": to,
        "id": new_wamid(to),
        "timestamp": str(now),
        "type": kind,
        kind: body,
    }
    return {"contacts": _contacts(to), "message_echoes": [echo]}


def _preference(number: BusinessNumber, order: Order, now: int) -> dict[str, Any]:
    wa_id = wa_id_of(_text(order, "wa_id"))
    value = _text(order, "value")
    if value not in ("stop", "resume"):
        raise ValueError("value must be stop or resume")
    verb = "stop" if value == "stop" else "resume"
    detail = _text(order, "detail", f"User requested to {verb} marketing messages")
    preference = {
        "wa_id": wa_id,
        "detail": detail,
        "category": "marketing_messages",
        "value": value,
        "timestamp": now,
    }
    return {"contacts": _contacts(wa_id), "user_preferences": [preference]}


def _template(order: Order) -> dict[str, Any]:
    return {
        "message_template_id": int(order.get("template_id", secrets.randbelow(10**15))),
        "message_template_name": _text(order, "name"),
        "message_template_language": _text(order, "language", "en_US"),
    }


def _template_status(number: BusinessNumber, order: Order, now: int) -> dict[str, Any]:
    return {
        "event": _text(order, "event", "APPROVED"),
        **_template(order),
        "reason": _text(order, "reason", "NONE"),
        "message_template_category": _text(order, "category", "MARKETING"),
    }


def _template_quality(number: BusinessNumber, order: Order, now: int) -> dict[str, Any]:
    return {
        "previous_quality_score": _text(order, "previous", "GREEN"),
        "new_quality_score": _text(order, "new", "YELLOW"),
        **_template(order),
    }


def _template_category(number: BusinessNumber, order: Order, now: int) -> dict[str, Any]:
    return {
        **_template(order),
        "previous_category": _text(order, "previous_category", "UTILITY"),
        "new_category": _text(order, "new_category", "MARKETING"),
    }


def _account(number: BusinessNumber, order: Order, now: int) -> dict[str, Any]:
    return {"event": _text(order, "event", "ACCOUNT_RESTRICTION")}


def _played(number: BusinessNumber, order: Order, now: int) -> dict[str, Any]:
    recipient = wa_id_of(_text(order, "recipient_id"))
    status = {
        "id": _text(order, "wamid"),
        "status": "played",
        "timestamp": str(now),
        "recipient_id": recipient,
    }
    return {"statuses": [status]}


def _errors(number: BusinessNumber, order: Order, now: int) -> dict[str, Any]:
    errors = order.get(
        "errors",
        [
            {
                "code": 131000,
                "title": "Something went wrong",
                "message": "Something went wrong",
                "error_data": {"details": "Unsupported webhook payload"},
            }
        ],
    )
    if not isinstance(errors, list):
        raise ValueError("errors must be a list")
    return {"errors": errors}


_VALUES: Final[dict[str, Callable[[BusinessNumber, Order, int], dict[str, Any]]]] = {
    "smb_message_echoes": _echo,
    "message_echoes": _echo,
    "user_preferences": _preference,
    "message_template_status_update": _template_status,
    "message_template_quality_update": _template_quality,
    "template_category_update": _template_category,
    "account_update": _account,
    "played": _played,
    "errors": _errors,
}


async def _emit(request: web.Request) -> web.Response:
    messaging = request.app[MESSAGING]
    field = request.match_info["field"]
    try:
        order = json.loads(await request.read() or b"{}")
        if not isinstance(order, dict):
            raise ValueError("the body must be a JSON object")
        number = messaging.numbers.get(_text(order, "phone_number_id", "0"))
        waba_id = _text(order, "waba_id", number.waba_id)
        payload = field_webhook(field, number, waba_id, order, int(time.time()))
    except (ValueError, TypeError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    records = await messaging.driver.send(field, field, payload)
    return web.json_response(
        {
            "body": payload,
            "responses": [r.status for r in records],
            "webhooks": [r.as_json() for r in records],
        }
    )
