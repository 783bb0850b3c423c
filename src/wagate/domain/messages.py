"""Outgoing messages and what their customers hear about them (seeds 002 and 003).

Meta reports ``sent``, ``delivered``, ``read``, ``failed`` and ``deleted``, and
may skip ``delivered`` or send it after ``read``. The customer's view never
goes backwards: a status ranked at or below one already forwarded is recorded
but not forwarded.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from wagate.domain import json_text
from wagate.domain.identity import status_identity

__all__ = [
    "STATUS_RANK",
    "STATUS_TEXT",
    "Billing",
    "Message",
    "new_message_id",
    "price_for",
    "should_forward",
    "status_callback_values",
    "wa_ext",
    "webhook_status_payload",
]

STATUS_RANK: Final[dict[str, int]] = {
    "sent": 1,
    "delivered": 2,
    "read": 3,
    "failed": 4,
    "deleted": 5,
}
STATUS_TEXT: Final[dict[str, str]] = {
    "sent": "Message sent",
    "delivered": "Message delivered",
    "read": "Message read",
    "failed": "Message failed",
    "deleted": "Message deleted",
}


def new_message_id() -> str:
    """Our id of a sent message, in seed 002's form ``<uuid>:0``."""
    return f"{uuid.uuid4()}:0"


def should_forward(forwarded_rank: int, status: str) -> bool:
    """Whether a status moves the customer's view forward.

    ``failed`` and ``deleted`` end a message whatever came before; the others
    must rank above what was already forwarded.
    """
    rank = STATUS_RANK.get(status)
    if rank is None:
        return False
    if status in ("failed", "deleted"):
        return forwarded_rank < rank
    return rank > forwarded_rank


@dataclass(frozen=True, slots=True)
class Message:
    """A message the gateway sent for a customer."""

    id: str
    sid: str
    waba_id: str
    number: str
    phone_number_id: str
    recipient: str
    #: Meta's id of the message; None until Meta accepted it and the inbox recorded it.
    wamid: str | None
    type: str
    template_id: str | None
    template_name: str | None
    template_components: list[Any] | None
    ref: str | None
    ref1: str | None
    ref2: str | None
    callback_url: str | None
    callback_profile_id: str | None
    tag_name: str | None
    forwarded_rank: int
    #: The recipient's BSUID when the send named one (``recipient`` is then "" unless the
    #: send gave a phone number too).
    recipient_user_id: str | None = None
    #: The price decided from Meta's pricing (:mod:`wagate.domain.pricing`): None until a
    #: status carried pricing, "" when it is free.
    price: str | None = None

    @property
    def user_key(self) -> str:
        """Whom the message goes to: the phone number, else the BSUID."""
        return self.recipient or self.recipient_user_id or ""


@dataclass(frozen=True, slots=True)
class Billing:
    """What decides whether a delivered callback carries a price."""

    account_type: str  # postpaid, prepaid or tech_provider
    rate_card: dict[str, str]


def price_for(status: dict[str, Any], billing: Billing) -> str | None:
    """Seed 002's price: on ``delivered`` that opened a billable conversation, postpaid only.

    Tech Provider accounts never see a price. The conversation counts as
    opened by this message when Meta's status carries ``pricing`` with
    ``billable`` (or a conversation with an expiration, as Meta sends on the
    status that opened it); a free service conversation still shows its price.
    """
    if status.get("status") != "delivered" or billing.account_type != "postpaid":
        return None
    pricing = status.get("pricing") or {}
    conversation = status.get("conversation") or {}
    opened = bool(pricing) or "expiration_timestamp" in conversation
    if not opened:
        return None
    category = str(
        pricing.get("category") or (conversation.get("origin") or {}).get("type") or ""
    ).lower()
    return billing.rate_card.get(category)


def status_callback_values(
    message: Message,
    status: Mapping[str, Any],
    *,
    price: str | None = None,
    contact: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """The fields of seed 002's status callback; missing values are left out.

    ``mobile`` and ``phone_number`` are the recipient's digits, as the seed
    shows them, however the ``to`` of the send request was written; empty when
    the message went to a BSUID and Meta named no phone number. ``user_id``,
    ``parent_user_id`` and ``username`` (our extension) are the recipient's
    BSUID, parent BSUID and username when Meta gave them (``contact`` is the
    value's ``contacts`` entry of the recipient). ``price`` is what
    :mod:`wagate.domain.pricing` decided this status shows.
    """
    name = str(status.get("status", ""))
    errors = status.get("errors") or []
    first_error = errors[0] if errors and isinstance(errors[0], dict) else {}
    user = status_identity(status, contact)
    recipient = "".join(ch for ch in message.recipient if ch.isascii() and ch.isdigit())
    if not message.recipient and user.phone:
        recipient = user.phone
    values = {
        "id": message.id,
        "custom_response": "false",
        "timestamp": str(status.get("timestamp", "")),
        "mobile": recipient or message.recipient,
        "message": STATUS_TEXT.get(name, name),
        "status": name.lower(),
        "phone_number": recipient or message.recipient,
        "whatsapp_number": message.number,
        "error": str(first_error.get("title") or first_error.get("message") or ""),
        "error_code": str(first_error.get("code", "")),
        "ref": message.ref or "",
        "ref1": message.ref1 or "",
        "ref2": message.ref2 or "",
        "price": price or "",
        "user_id": user.user_id or message.recipient_user_id or "",
        "parent_user_id": user.parent_user_id or "",
        "username": user.username or "",
    }
    return {key: value for key, value in values.items() if value != ""}


def webhook_status_payload(
    business_phone: str, status: Mapping[str, Any], contact: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Seed 003's message-status push for one Meta status: Meta's status object whole
    (``pricing``, ``recipient_user_id``, ``biz_opaque_callback_data``, group fields and
    whatever Meta adds are kept), shaped where the seed says (``timestamp`` as text,
    each error as its ``code`` and ``title``, a deleted message's ``type``), and the recipient's
    ``contacts`` entry when Meta sent one."""
    entry: dict[str, Any] = {
        "id": status.get("id"),
        "status": status.get("status"),
        "timestamp": str(status.get("timestamp", "")),
    }
    if "recipient_id" in status or "recipient_user_id" not in status:
        entry["recipient_id"] = status.get("recipient_id")
    entry.update({k: v for k, v in status.items() if k not in entry and k != "recipient_id"})
    conversation = status.get("conversation")
    if isinstance(conversation, dict):
        shaped: dict[str, Any] = {"id": conversation.get("id"), **conversation}
        if "expiration_timestamp" in conversation:
            shaped["expiration_timestamp"] = str(conversation["expiration_timestamp"])
        entry["conversation"] = shaped
    errors = status.get("errors")
    if isinstance(errors, list) and errors:
        entry["errors"] = [
            {"code": e.get("code"), "title": e.get("title") or e.get("message")}
            for e in errors
            if isinstance(e, dict)
        ]
    if status.get("status") == "deleted":
        entry["type"] = "message"
        entry["message"] = {"recipient_id": status.get("recipient_id")}
    payload: dict[str, Any] = {"statuses": [entry]}
    if contact:
        payload["contacts"] = [dict(contact)]
    payload.update(business_phone=business_phone, messaging_product="whatsapp")
    return payload


def wa_ext(message: Message | None) -> str | None:
    """Seed 003's ``wa_ext``: the template message's id, name and components, as JSON text."""
    if message is None or message.type != "template":
        return None
    template_id: Any = message.template_id
    if isinstance(template_id, str) and template_id.isdigit():
        template_id = int(template_id)
    return json_text.compact_unicode(
        {
            "templateId": template_id,
            "templateName": message.template_name,
            "components": message.template_components or [],
        }
    )
