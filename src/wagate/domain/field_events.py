"""Meta's non-message webhook fields, parsed into the events customers opt into.

A notification's ``entry[]`` is a WABA (its ``id``), each of its ``changes[]``
one ``field`` and its ``value``. The ``messages`` field carries statuses and
incoming messages, which have callbacks of their own; of it only ``played``
statuses and value-level ``errors`` become events here. Every other field is
an event of its own name: about a business number when its value names one in
``metadata`` (echoes, user preferences), else about the WABA (templates,
account).

The push an event becomes is seed 003's ``webhook_url`` shape, extended: the
number's ``business_phone``, ``messaging_product``, the ``event`` type and the
``waba_id``; a number's event then carries the value's own members as Meta
sent them (``contacts``, ``message_echoes``, ``user_preferences``,
``statuses``, ``errors``…), a WABA's event its value under the field's name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from wagate.domain import json_values
from wagate.domain.inbox import phone_number_id_of
from wagate.domain.webhook_events import EventScope

__all__ = [
    "MAX_FIELD_LENGTH",
    "MESSAGES_FIELD",
    "FieldEvent",
    "field_events",
    "may_have_events",
    "push_payload",
    "subject_of",
]

#: The field of statuses and incoming messages.
MESSAGES_FIELD: Final = "messages"
#: Members of a change value that describe its envelope rather than its content.
_ENVELOPE: Final = frozenset({"metadata", "messaging_product"})
#: The longest field name taken as an event type; Meta's are far shorter.
MAX_FIELD_LENGTH: Final = 64
_FIELD_NAMES: Final = re.compile(r'"field"\s*:\s*"([^"]*)"')


@dataclass(frozen=True, slots=True)
class FieldEvent:
    """One event of a notification: its type, Meta's field, what it is about, its content.

    ``phone_number_id`` is the business number of a number's event (None for a
    WABA's); ``value`` is what the push carries (for ``played``, the value with
    only its played statuses; for ``errors``, only its errors).
    """

    type: str
    field: str
    scope: EventScope
    waba_id: str
    phone_number_id: str | None
    value: Mapping[str, Any]
    time: int | None = None


def field_events(document: Mapping[str, Any], scope: str | None) -> list[FieldEvent]:
    """The events of a notification that an inbox entry of ``scope`` applies, in order.

    An entry scoped to a number (Meta's phone number id) takes that number's
    events; an entry with no number takes the WABA's.
    """
    found: list[FieldEvent] = []
    for entry in json_values.objects(document.get("entry")):
        waba_id = json_values.text(entry.get("id"))
        time = entry.get("time") if isinstance(entry.get("time"), int) else None
        for change in json_values.objects(entry.get("changes")):
            field = json_values.text(change.get("field"))[:MAX_FIELD_LENGTH]
            value = change.get("value")
            if not field or not isinstance(value, dict):
                continue
            number = phone_number_id_of(value)
            if (number or None) != scope:
                continue
            if field == MESSAGES_FIELD:
                found += _message_field_events(waba_id, number, value, time)
                continue
            kind = EventScope.NUMBER if number else EventScope.WABA
            found.append(FieldEvent(field, field, kind, waba_id, number or None, value, time))
    return found


def may_have_events(body: str) -> bool:
    """Whether a webhook body may carry events: it names a field other than ``messages``,
    or mentions ``played`` or ``errors``. False for most status and message webhooks,
    which are then not parsed a second time."""
    if '"played"' in body or '"errors"' in body:
        return True
    if body.count('"field":"messages"') == body.count('"field"'):
        return False  # compact JSON, as Meta sends it: every field is messages
    return any(name != MESSAGES_FIELD for name in _FIELD_NAMES.findall(body))


def push_payload(event: FieldEvent, business_phone: str) -> dict[str, Any]:
    """The push of an event to a number's ``webhook_url``: seed 003's shape, extended."""
    payload: dict[str, Any] = {
        "business_phone": business_phone,
        "messaging_product": "whatsapp",
        "event": event.type,
        "waba_id": event.waba_id,
    }
    if event.time is not None:
        payload["time"] = event.time
    if event.scope is EventScope.WABA:
        payload[event.field] = dict(event.value)
        return payload
    for key, member in event.value.items():
        if key not in _ENVELOPE and key not in payload:
            payload[key] = member
    return payload


def subject_of(event: FieldEvent) -> str:
    """What an event's deliveries are ordered by: the number's or the WABA's events."""
    return f"field:{event.phone_number_id or event.waba_id}"[:64]


def _message_field_events(
    waba_id: str, number: str, value: Mapping[str, Any], time: int | None
) -> list[FieldEvent]:
    found = []
    statuses = json_values.objects(value.get("statuses"))
    played = [s for s in statuses if json_values.text(s.get("status")).lower() == "played"]
    if played:
        content = {k: v for k, v in value.items() if k in ("contacts",)}
        found.append(
            FieldEvent(
                "played",
                MESSAGES_FIELD,
                EventScope.NUMBER,
                waba_id,
                number,
                {**content, "statuses": played},
                time,
            )
        )
    errors = json_values.objects(value.get("errors"))
    if errors:
        found.append(
            FieldEvent(
                "errors",
                MESSAGES_FIELD,
                EventScope.NUMBER,
                waba_id,
                number,
                {"errors": errors},
                time,
            )
        )
    return found
