"""What a customer hears of a message its user sent: the incoming callback and the push.

Two shapes, both from one :class:`~wagate.domain.inbound.InboundMessage`:

- the incoming callback profile's values (the provider's incoming fields:
  ``body``, ``mime_type``, ``media_url``, ``from``, ``name``, ``type``,
  ``created_at``, ``reply_to``, ``wanumber``, ``mobile``, ``custom_response``,
  ``message``, ``contacts``, ``location``, with ``id``, Meta's message id);
  when the message replies to one the gateway sent, that message's id and
  ``ref``s too; and, our extension of the provider's fields, the sender's
  ``user_id`` (BSUID), ``parent_user_id`` and ``username`` when Meta gave them
  (``from`` and ``mobile`` are empty when Meta sent no phone number);
- seed 003's Meta-like push to the number's ``webhook_url``: ``business_phone``,
  ``contacts`` (the sender's entry as Meta sent it: ``user_id``,
  ``parent_user_id`` and ``profile.username`` kept), ``messages`` (Meta's
  message object as it came, with our ``link`` to its media) and
  ``messaging_product``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wagate.domain import json_text
from wagate.domain.inbound import InboundMessage, body_of, chosen_reply
from wagate.domain.messages import Message, wa_ext

__all__ = ["INCOMING_EVENT", "MediaOutcome", "incoming_callback_values", "webhook_incoming_payload"]

#: The event kind of an incoming message, and what its deliveries' subject is.
INCOMING_EVENT = "incoming_message"


@dataclass(frozen=True, slots=True)
class MediaOutcome:
    """Where the message's media stands when the customer is told: our link to the stored
    bytes, or why there is none."""

    url: str | None = None
    error: str | None = None


def incoming_callback_values(
    message: InboundMessage,
    *,
    business_number: str,
    media: MediaOutcome | None = None,
    replied: Message | None = None,
) -> dict[str, str]:
    """The incoming callback's fields; those without a value are left out."""
    media = media or MediaOutcome()
    raw = message.raw
    values = {
        "id": message.wamid,
        "from": message.sender,
        "mobile": message.sender,
        "name": message.name or "",
        "type": message.type,
        "body": body_of(message),
        "mime_type": (message.media.mime_type or "") if message.media else "",
        "media_url": media.url or "",
        "error": media.error or "",
        "created_at": message.timestamp,
        "reply_to": message.reply_to or "",
        "wanumber": business_number,
        "custom_response": chosen_reply(message) or "false",
        "message": _json(raw),
        "contacts": _json(raw.get("contacts")) if message.type == "contacts" else "",
        "location": _json(raw.get("location")) if message.type == "location" else "",
        "reply_to_message_id": replied.id if replied else "",
        "ref": (replied.ref or "") if replied else "",
        "ref1": (replied.ref1 or "") if replied else "",
        "ref2": (replied.ref2 or "") if replied else "",
        "user_id": message.user.user_id or "",
        "parent_user_id": message.user.parent_user_id or "",
        "username": message.user.username or "",
    }
    return {key: value for key, value in values.items() if value != ""}


def webhook_incoming_payload(
    business_phone: str,
    message: InboundMessage,
    *,
    media: MediaOutcome | None = None,
    replied: Message | None = None,
) -> dict[str, Any]:
    """Seed 003's push of a message a user sent: Meta's message object as it came, with
    ``link`` (our URL of the stored media) or ``error`` in a media message's object, and
    ``tag_name`` and ``wa_ext`` on a click of a button of a template we sent."""
    shaped: dict[str, Any] = dict(message.raw)
    if message.media is not None and media is not None:
        body = dict(shaped.get(message.type) or {})
        if media.url:
            body["link"] = media.url
        if media.error:
            body["error"] = media.error
        shaped[message.type] = body
    if message.type == "button" and replied is not None:
        if replied.tag_name:
            shaped["tag_name"] = replied.tag_name
        extension = wa_ext(replied)
        if extension is not None:
            shaped["wa_ext"] = extension
    return {
        "business_phone": business_phone,
        "contacts": [_contact(message)] if message.contact is not None else [],
        "messages": [shaped],
        "messaging_product": "whatsapp",
    }


def _contact(message: InboundMessage) -> dict[str, Any]:
    """The sender's ``contacts`` entry as Meta sent it; ``wa_id`` is the sender's number
    when the entry has none and Meta sent one in ``from``."""
    shaped: dict[str, Any] = dict(message.contact or {})
    if "wa_id" not in shaped and message.sender:
        shaped["wa_id"] = message.sender
    return shaped


def _json(value: object) -> str:
    return json_text.compact_unicode(value)
