"""Messages users send to a business, as the sandbox is told to emit them.

``POST /_sandbox/inbound`` takes an order such as::

    {"phone_number_id": "106540352242922", "from": "16505551234", "name": "Sheena Nelson",
     "type": "image", "image": {"id": "1037543291543636", "caption": "My receipt"},
     "context": {"id": "wamid.…"}, "duplicate": 1}

``phone_number_id``, ``type`` and ``from`` or ``user_id`` are required. A user
known by business-scoped user id (``user_id``, a BSUID, with optional
``parent_user_id`` and ``username``) and no ``from`` is sent as Meta sends a
user with a username: ``from_user_id`` and no ``from``, a contact with
``user_id`` and ``profile.username`` and no ``wa_id``. ``name`` null sends a
contact without a profile, ``contact: false`` no contacts at all (as Meta's
system messages); ``id``, ``timestamp`` and ``duplicate`` (extra copies) are
optional. Every other member goes into the message object as given, so any
type, known or not, can be sent: its object, ``context``, ``errors``,
``referral``…
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wagate.domain.identity import is_bsuid
from wagate.sandbox.messages import wa_id_of
from wagate.sandbox.numbers import BusinessNumber
from wagate.sandbox.orders import DEFAULT_PROFILE_NAME, MAX_DUPLICATES
from wagate.sandbox.webhooks import envelope

_CONTROL = frozenset(
    {
        "phone_number_id", "from", "name", "type", "id", "timestamp", "duplicate", "contact",
        "user_id", "parent_user_id", "username",
    }
)  # fmt: skip
MAX_TYPE_LENGTH = 32
MAX_WA_ID_DIGITS = 15


@dataclass(frozen=True)
class InboundOrder:
    """One inbound message to emit, and how many extra copies of its webhook."""

    phone_number_id: str
    from_wa_id: str
    type: str
    members: dict[str, Any] = field(default_factory=dict)
    name: str | None = DEFAULT_PROFILE_NAME
    contact: bool = True
    id: str | None = None
    timestamp: int | None = None
    duplicate: int = 0
    user_id: str | None = None
    parent_user_id: str | None = None
    username: str | None = None

    @classmethod
    def parse(cls, changes: Mapping[str, object]) -> InboundOrder:
        """The order in a request body; ValueError if a field is wrong."""
        number = changes.get("phone_number_id")
        if not isinstance(number, str) or not number.strip() or len(number) > 64:
            raise ValueError("phone_number_id must be a non-empty string")
        user_id, parent_user_id = _bsuid(changes, "user_id"), _bsuid(changes, "parent_user_id")
        username = changes.get("username")
        if username is not None and (not isinstance(username, str) or not username.strip()):
            raise ValueError("username must be a non-empty string")
        sender = changes.get("from")
        wa_id = wa_id_of(sender) if isinstance(sender, str) else ""
        if (sender is not None or user_id is None) and not 1 <= len(wa_id) <= MAX_WA_ID_DIGITS:
            raise ValueError(f"from must be a WhatsApp id of 1 to 15 digits, not {sender!r}")
        kind = changes.get("type")
        if not isinstance(kind, str) or not kind or len(kind) > MAX_TYPE_LENGTH:
            raise ValueError(f"type must be a string of 1 to {MAX_TYPE_LENGTH} characters")
        name = changes.get("name", DEFAULT_PROFILE_NAME)
        if name is not None and not isinstance(name, str):
            raise ValueError("name must be a string, or null for a contact without a profile")
        contact = changes.get("contact", kind != "system")
        if not isinstance(contact, bool):
            raise ValueError("contact must be true or false")
        message_id = changes.get("id")
        if message_id is not None and (not isinstance(message_id, str) or not message_id):
            raise ValueError("id must be a non-empty string")
        timestamp = changes.get("timestamp")
        if timestamp is not None and (
            isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0
        ):
            raise ValueError("timestamp must be a non-negative integer")
        duplicate = changes.get("duplicate", 0)
        if isinstance(duplicate, bool) or not isinstance(duplicate, int):
            raise ValueError("duplicate must be an integer")
        if not 0 <= duplicate <= MAX_DUPLICATES:
            raise ValueError(f"duplicate must be between 0 and {MAX_DUPLICATES}")
        return cls(
            phone_number_id=number,
            from_wa_id=wa_id,
            type=kind,
            members={k: v for k, v in changes.items() if k not in _CONTROL},
            name=name,
            contact=contact,
            id=message_id,
            timestamp=timestamp,
            duplicate=duplicate,
            user_id=user_id,
            parent_user_id=parent_user_id,
            username=username,
        )


def _bsuid(changes: Mapping[str, object], name: str) -> str | None:
    value = changes.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not is_bsuid(value):
        raise ValueError(f"{name} must be a business-scoped user id, not {value!r}")
    return value


def inbound_webhook(
    number: BusinessNumber, order: InboundOrder, *, message_id: str, timestamp: int
) -> dict[str, object]:
    """The notification of a user's message to ``number``, in Meta's shape."""
    message: dict[str, object] = {}
    if order.from_wa_id:
        message["from"] = order.from_wa_id
    if order.user_id:
        message["from_user_id"] = order.user_id
    message.update(
        {"id": message_id, "timestamp": str(timestamp), "type": order.type, **order.members}
    )
    value: dict[str, object] = {}
    if order.contact:
        contact: dict[str, object] = {}
        profile: dict[str, object] = {}
        if order.name is not None:
            profile["name"] = order.name
        if order.username is not None:
            profile["username"] = order.username
        if profile:
            contact["profile"] = profile
        if order.from_wa_id:
            contact["wa_id"] = order.from_wa_id
        if order.user_id:
            contact["user_id"] = order.user_id
        if order.parent_user_id:
            contact["parent_user_id"] = order.parent_user_id
        value["contacts"] = [contact]
    value["messages"] = [message]
    return envelope(number, value)
