"""What the sandbox's control endpoints are told to send about a message.

``POST /_sandbox/messages/{wamid}/statuses`` takes a status order::

    {"status": "delivered", "timestamp": 1700000000, "duplicate": 1,
     "category": "utility", "errors": [...], "pricing": {...}, "conversation": {...}}

and ``POST /_sandbox/messages/{wamid}/button`` a button order::

    {"payload": "STOP", "text": "Stop promotions", "from": "15551234567", "name": "Ana"}

Left out, ``conversation`` and ``pricing`` are what Meta adds (for a template's
``sent`` and ``delivered``); given as ``null`` they are left out of the webhook.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from wagate.sandbox.messages import wa_id_of
from wagate.sandbox.webhooks import CATEGORIES, STATUSES

#: At most this many extra copies of a webhook per order.
MAX_DUPLICATES = 10
MAX_TEXT = 4096
MAX_WA_ID_DIGITS = 15
DEFAULT_PROFILE_NAME = "Sandbox User"

Auto = Literal["auto"]
AUTO: Auto = "auto"


def _check_fields(changes: Mapping[str, object], known: tuple[str, ...]) -> None:
    unknown = sorted(set(changes) - set(known))
    if unknown:
        raise ValueError(f"unknown fields {unknown}; known: {list(known)}")


def _optional_int(name: str, value: object, *, most: int | None = None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, not {value!r}")
    if most is not None and value > most:
        raise ValueError(f"{name} must be at most {most}, not {value}")
    return value


def _object_or_auto(changes: Mapping[str, object], name: str) -> dict[str, object] | Auto | None:
    if name not in changes:
        return AUTO
    value = changes[name]
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be an object or null, not {value!r}")
    return value


def _text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise ValueError(f"{name} must be a string of 1 to {MAX_TEXT} characters, not {value!r}")
    return value


@dataclass(frozen=True)
class StatusOrder:
    """One status webhook to send about a message."""

    status: str
    timestamp: int | None = None
    duplicate: int = 0
    category: str = "marketing"
    errors: list[object] | Auto = AUTO
    conversation: dict[str, object] | Auto | None = AUTO
    pricing: dict[str, object] | Auto | None = AUTO

    @classmethod
    def parse(cls, changes: Mapping[str, object]) -> StatusOrder:
        """The order in a request body; ValueError if a field is wrong."""
        _check_fields(
            changes,
            ("status", "timestamp", "duplicate", "category", "errors", "conversation", "pricing"),
        )
        status = changes.get("status")
        if status not in STATUSES:
            raise ValueError(f"status must be one of {list(STATUSES)}, not {status!r}")
        category = changes.get("category", "marketing")
        if category not in CATEGORIES:
            raise ValueError(f"category must be one of {list(CATEGORIES)}, not {category!r}")
        errors: list[object] | Auto = AUTO
        if "errors" in changes:
            given = changes["errors"]
            if not isinstance(given, list) or not all(isinstance(e, dict) for e in given):
                raise ValueError(f"errors must be a list of objects, not {given!r}")
            errors = list(given)
        return cls(
            status=str(status),
            timestamp=_optional_int("timestamp", changes.get("timestamp")),
            duplicate=_optional_int("duplicate", changes.get("duplicate", 0), most=MAX_DUPLICATES)
            or 0,
            category=str(category),
            errors=errors,
            conversation=_object_or_auto(changes, "conversation"),
            pricing=_object_or_auto(changes, "pricing"),
        )


@dataclass(frozen=True)
class ButtonOrder:
    """A quick-reply button click to send in reply to a message.

    ``from_wa_id`` None means the message's recipient; ``payload`` defaults to
    the button's text, as Meta sends it for a button defined without one.
    """

    text: str
    payload: str
    from_wa_id: str | None = None
    name: str = DEFAULT_PROFILE_NAME
    timestamp: int | None = None

    @classmethod
    def parse(cls, changes: Mapping[str, object]) -> ButtonOrder:
        """The order in a request body; ValueError if a field is wrong."""
        _check_fields(changes, ("payload", "text", "from", "name", "timestamp"))
        text = _text("text", changes.get("text"))
        payload = _text("payload", changes.get("payload", text))
        sender = changes.get("from")
        from_wa_id = None
        if sender is not None:
            from_wa_id = wa_id_of(_text("from", sender))
            if not 1 <= len(from_wa_id) <= MAX_WA_ID_DIGITS:
                raise ValueError(f"from must be a WhatsApp id of 1 to 15 digits, not {sender!r}")
        return cls(
            text=text,
            payload=payload,
            from_wa_id=from_wa_id,
            name=_text("name", changes.get("name", DEFAULT_PROFILE_NAME)),
            timestamp=_optional_int("timestamp", changes.get("timestamp")),
        )
