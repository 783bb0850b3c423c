"""Meta's WhatsApp webhooks as the sandbox sends them: bodies, encoding, signature.

Every webhook is the ``whatsapp_business_account`` envelope around one change
of field ``messages``; its value carries ``statuses`` (of a message the
business sent) or ``contacts`` and ``messages`` (a message from a user, here a
quick-reply button click). These functions are pure; ``driver`` sends.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from wagate.sandbox.messages import SentMessage
from wagate.sandbox.numbers import BusinessNumber

#: The statuses Meta reports of a message a business sent.
STATUSES = ("sent", "delivered", "read", "failed", "deleted")
#: Conversation and pricing categories of conversation-based pricing.
CATEGORIES = ("marketing", "utility", "authentication", "service")
#: The error a ``failed`` status carries unless told otherwise.
UNDELIVERABLE: dict[str, object] = {
    "code": 131026,
    "title": "Message undeliverable",
    "message": "Message undeliverable",
    "error_data": {"details": "Message Undeliverable."},
}
SIGNATURE_HEADER = "X-Hub-Signature-256"
LEGACY_SIGNATURE_HEADER = "X-Hub-Signature"


def encode(payload: Mapping[str, object]) -> bytes:
    """The body bytes as Meta writes them: compact JSON, non-ASCII and ``/`` escaped.

    Meta escapes ``/`` as ``\\/``, so a receiver that re-serializes the parsed
    body before checking the signature fails, as it would with Meta.
    """
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=True)
    return text.replace("/", "\\/").encode("ascii")


def signature(body: bytes, secret: str) -> str:
    """``X-Hub-Signature-256``: ``sha256=`` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def legacy_signature(body: bytes, secret: str) -> str:
    """``X-Hub-Signature``: the SHA-1 variant Meta still sends alongside."""
    return "sha1=" + hmac.new(secret.encode(), body, "sha1").hexdigest()


def envelope(number: BusinessNumber, value: Mapping[str, object]) -> dict[str, object]:
    """The ``whatsapp_business_account`` notification around one ``messages`` change.

    Like Meta's, ``metadata.display_phone_number`` holds only the digits of the
    number (``+1 555-010-0100`` shows as ``15550100100``).
    """
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": number.waba_id,
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": number.wa_id,
                                "phone_number_id": number.phone_number_id,
                            },
                            **value,
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def conversation_object(
    conversation_id: str, category: str, *, expires: int | None
) -> dict[str, object]:
    """A status's ``conversation``; Meta names the expiry only on ``sent``."""
    conversation: dict[str, object] = {"id": conversation_id}
    if expires is not None:
        conversation["expiration_timestamp"] = str(expires)
    conversation["origin"] = {"type": category}
    return conversation


def pricing_object(category: str) -> dict[str, object]:
    """A status's ``pricing`` under per-message pricing (Meta's since 2025-07-01): a
    template of ``category`` is billed (``type`` ``regular``)."""
    return {"billable": True, "pricing_model": "PMP", "category": category, "type": "regular"}


def status_object(
    message: SentMessage,
    status: str,
    timestamp: int,
    *,
    conversation: Mapping[str, object] | None = None,
    pricing: Mapping[str, object] | None = None,
    errors: list[object] | None = None,
) -> dict[str, object]:
    """One entry of ``statuses``, its keys in Meta's order."""
    entry: dict[str, object] = {"id": message.wamid, "status": status, "timestamp": str(timestamp)}
    if message.wa_id or not message.user_id:
        entry["recipient_id"] = message.wa_id
    if message.user_id:
        # A message sent to a BSUID: Meta names the user by it (and by number only when
        # it may share it, which the sandbox never does).
        entry["recipient_user_id"] = message.user_id
    if conversation is not None:
        entry["conversation"] = dict(conversation)
    if pricing is not None:
        entry["pricing"] = dict(pricing)
    if errors is not None:
        entry["errors"] = list(errors)
    return entry


def status_webhook(number: BusinessNumber, status: Mapping[str, object]) -> dict[str, object]:
    """The notification of one status of a message ``number`` sent."""
    return envelope(number, {"statuses": [dict(status)]})


def button_webhook(
    number: BusinessNumber,
    message: SentMessage,
    *,
    reply_id: str,
    from_wa_id: str,
    name: str,
    payload: str,
    text: str,
    timestamp: int,
) -> dict[str, object]:
    """The notification of a user tapping a quick-reply button of ``message``."""
    return envelope(
        number,
        {
            "contacts": [{"profile": {"name": name}, "wa_id": from_wa_id}],
            "messages": [
                {
                    "context": {"from": number.wa_id, "id": message.wamid},
                    "from": from_wa_id,
                    "id": reply_id,
                    "timestamp": str(timestamp),
                    "type": "button",
                    "button": {"payload": payload, "text": text},
                }
            ],
        },
    )
