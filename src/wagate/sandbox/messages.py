"""Messages the sandbox accepted, and the ids it gives them (``wamid.…``)."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from wagate.sandbox.conversations import Conversation

#: How many accepted messages the sandbox remembers; the oldest are forgotten first.
MAX_MESSAGES = 100_000


def wa_id_of(number: str) -> str:
    """The WhatsApp id of a phone number as a client wrote it: its digits."""
    return "".join(ch for ch in number if ch.isascii() and ch.isdigit())


def new_wamid(wa_id: str) -> str:
    """A fresh message id shaped like Meta's.

    Meta's ids are ``wamid.`` and the base64 of a small binary record that
    names the user's number and a random 9-byte id in hex; so are these. Made
    of digits, hex and a few control bytes, their base64 never holds ``/`` or
    ``+``, so a wamid fits in a URL path segment as it is.
    """
    number = wa_id.encode()[:20]
    unique = secrets.token_hex(9).upper().encode()
    record = (
        b"\x1c\x18"
        + bytes([len(number)])
        + number
        + b"\x15\x02\x00\x11\x18"
        + bytes([len(unique)])
        + unique
        + b"\x00"
    )
    return "wamid." + base64.b64encode(record).decode()


@dataclass
class SentMessage:
    """One message the send endpoint accepted, as later webhooks need it.

    ``conversation`` is set when a status webhook first opens (or joins) a
    conversation for it; ``statuses`` lists the statuses sent of it so far.
    """

    wamid: str
    phone_number_id: str
    to: str
    wa_id: str
    type: str
    request: dict[str, object]
    template_name: str | None = None
    #: The BSUID the send named (``to`` and ``wa_id`` are "" when it named no number).
    user_id: str | None = None
    template_language: str | None = None
    accepted_at: float = field(default_factory=time.time)
    conversation: Conversation | None = None
    statuses: list[str] = field(default_factory=list)

    @property
    def is_template(self) -> bool:
        """Whether it is a template message (which opens business-initiated conversations)."""
        return self.type == "template"

    def as_json(self) -> dict[str, object]:
        """What ``GET /_sandbox/messages`` shows of it."""
        return {
            "id": self.wamid,
            "phone_number_id": self.phone_number_id,
            "to": self.to,
            "wa_id": self.wa_id,
            "user_id": self.user_id,
            "type": self.type,
            "template_name": self.template_name,
            "template_language": self.template_language,
            "accepted_at": self.accepted_at,
            "conversation_id": self.conversation.id if self.conversation else None,
            "statuses": list(self.statuses),
            "request": self.request,
        }


class MessageStore:
    """The accepted messages by wamid, at most ``limit`` of them."""

    def __init__(self, limit: int = MAX_MESSAGES) -> None:
        self.limit = limit
        self._messages: dict[str, SentMessage] = {}

    def add(self, message: SentMessage) -> None:
        """Remember a message, forgetting the oldest one when full."""
        self._messages[message.wamid] = message
        while len(self._messages) > self.limit:
            del self._messages[next(iter(self._messages))]

    def get(self, wamid: str) -> SentMessage | None:
        """The message with this id, or None."""
        return self._messages.get(wamid)

    def __len__(self) -> int:
        return len(self._messages)

    def __iter__(self) -> Iterator[SentMessage]:
        return iter(list(self._messages.values()))
