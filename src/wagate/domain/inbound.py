"""Messages WhatsApp users send to a business, as Meta's webhooks describe them.

Every entry of a change's ``messages`` has ``id``, ``timestamp`` and ``type``,
the sender's ``from`` (phone number) and, since 2026, ``from_user_id`` (BSUID;
a user with a username may come with it alone), may have a ``context`` (the
message it replies to), and carries an object named after its type (``text``,
``image``, ``location``…). The sender's profile is in the change's
``contacts``, matched by ``wa_id`` or ``user_id`` (system messages have none).
Types Meta adds later are kept as they came: nothing here drops a
message because its type is new.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from wagate.domain.identity import UserIdentity, contact_for, contact_identity

__all__ = [
    "MAX_ID_LENGTH",
    "MAX_SENDER_LENGTH",
    "MAX_TYPE_LENGTH",
    "MEDIA_TYPES",
    "InboundMessage",
    "MediaReference",
    "body_of",
    "chosen_reply",
    "inbound_messages",
    "media_of",
    "parse_message",
    "sha256_hex",
]

#: The types whose object names a media file Meta holds (``id``, ``mime_type``, ``sha256``).
MEDIA_TYPES: Final = frozenset({"image", "video", "audio", "document", "sticker"})
#: The longest message id and type stored; Meta's are far shorter.
MAX_ID_LENGTH: Final = 255
MAX_TYPE_LENGTH: Final = 32
MAX_SENDER_LENGTH: Final = 32


@dataclass(frozen=True, slots=True)
class MediaReference:
    """The media file a message carries, as Meta names it."""

    id: str
    mime_type: str | None
    sha256: str | None
    filename: str | None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message a user sent to a business number.

    ``wamid`` is Meta's id of it (what duplicates share), ``name`` the
    sender's profile name when Meta gave one, ``reply_to`` the id of the
    message it replies to or reacts to, ``raw`` the message object exactly as
    Meta sent it and ``contact`` the sender's ``contacts`` entry. ``sender`` is
    the phone number ("" when Meta sent none); ``user`` all Meta said of the
    sender (phone number, BSUID, parent BSUID, username).
    """

    wamid: str
    sender: str
    type: str
    timestamp: str
    name: str | None
    reply_to: str | None
    media: MediaReference | None
    raw: Mapping[str, Any]
    contact: Mapping[str, Any] | None
    user: UserIdentity = field(default_factory=UserIdentity)


def inbound_messages(value: Mapping[str, Any]) -> list[InboundMessage]:
    """The messages of one change value, in order; entries without an id are left out
    (nothing could tell their duplicates apart)."""
    contacts = [c for c in _list(value.get("contacts")) if isinstance(c, dict)]
    found = []
    for raw in _list(value.get("messages")):
        if not isinstance(raw, dict):
            continue
        message = parse_message(raw, contacts)
        if message is not None:
            found.append(message)
    return found


def parse_message(
    raw: Mapping[str, Any], contacts: Sequence[Mapping[str, Any]]
) -> InboundMessage | None:
    """One message object with its sender's contact, or None when it has no usable id."""
    wamid = _text(raw.get("id"))
    if not wamid or len(wamid) > MAX_ID_LENGTH:
        return None
    sender = _text(raw.get("from"))[:MAX_SENDER_LENGTH]
    user_id = _text(raw.get("from_user_id")) or None
    kind = (_text(raw.get("type")) or "unknown")[:MAX_TYPE_LENGTH]
    contact = contact_for(contacts, phone=sender or None, user_id=user_id)
    profile = contact.get("profile") if contact is not None else None
    name = _text(profile.get("name")) if isinstance(profile, dict) else ""
    known = contact_identity(contact)
    user = UserIdentity(
        phone=sender or known.phone,
        user_id=user_id or known.user_id,
        parent_user_id=_text(raw.get("from_parent_user_id")) or known.parent_user_id,
        username=known.username,
    )
    return InboundMessage(
        wamid=wamid,
        sender=sender,
        type=kind,
        timestamp=_text(raw.get("timestamp")),
        name=name or None,
        reply_to=_reply_to(raw, kind),
        media=media_of(raw, kind),
        raw=raw,
        contact=contact,
        user=user,
    )


def media_of(raw: Mapping[str, Any], kind: str) -> MediaReference | None:
    """The media file of a media message (or of an ``edit`` whose new message carries
    one), or None (other types, or no id)."""
    if kind == "edit":
        edited = _object(_object(raw, "edit"), "message")
        inner = _text(edited.get("type"))
        return media_of(edited, inner) if inner in MEDIA_TYPES else None
    if kind not in MEDIA_TYPES:
        return None
    body = raw.get(kind)
    if not isinstance(body, dict):
        return None
    media_id = _text(body.get("id"))
    if not media_id or len(media_id) > MAX_ID_LENGTH:
        return None
    return MediaReference(
        id=media_id,
        mime_type=_text(body.get("mime_type")) or None,
        sha256=_text(body.get("sha256")) or None,
        filename=_text(body.get("filename")) or None,
    )


def body_of(message: InboundMessage) -> str:
    """The text a person reads in the message: its text, caption, the button or list item
    chosen, the reaction's emoji, the order's note, a system notice; empty for the rest."""
    raw = message.raw
    body = _object(raw, message.type)
    if message.type == "text":
        return _text(body.get("body"))
    if message.type in ("image", "video", "document"):
        return _text(body.get("caption"))
    if message.type == "button":
        return _text(body.get("text"))
    if message.type == "interactive":
        return _text(_chosen(body).get("title")) or _text(body.get("body"))
    if message.type == "reaction":
        return _text(body.get("emoji"))
    if message.type in ("order", "system"):
        return _text(body.get("text") or body.get("body"))
    if message.type == "unsupported":
        errors = _list(raw.get("errors"))
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        return _text(first.get("title") or first.get("message"))
    return ""


def chosen_reply(message: InboundMessage) -> str:
    """What the user chose: a quick-reply button's payload, or the id of the reply button or
    list row; empty for messages that choose nothing."""
    body = _object(message.raw, message.type)
    if message.type == "button":
        return _text(body.get("payload"))
    if message.type == "interactive":
        return _text(_chosen(body).get("id"))
    return ""


def sha256_hex(value: str | None) -> str | None:
    """A SHA-256 as lower-case hex, whether Meta wrote it in hex or base64; None if neither."""
    if not value:
        return None
    text = value.strip()
    if len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text):
        return text.lower()
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=False)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 32 else None


def _reply_to(raw: Mapping[str, Any], kind: str) -> str | None:
    context = raw.get("context")
    if isinstance(context, dict):
        replied = _text(context.get("id"))
        if replied:
            return replied[:MAX_ID_LENGTH]
    if kind == "reaction":
        reacted = _text(_object(raw, "reaction").get("message_id"))
        if reacted:
            return reacted[:MAX_ID_LENGTH]
    return None


def _chosen(interactive: Mapping[str, Any]) -> Mapping[str, Any]:
    for key in ("button_reply", "list_reply"):
        reply = interactive.get(key)
        if isinstance(reply, dict):
            return reply
    return {}


def _object(raw: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = raw.get(name)
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: object) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value)
