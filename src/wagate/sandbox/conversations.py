"""Conversations the sandbox opens, as conversation-based pricing counts them.

A business-initiated message opens a 24-hour conversation of its category
with the user; later messages of that category to that user within the window
belong to it, so their statuses carry the same conversation id.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

CONVERSATION_SECONDS = 24 * 3600
MAX_CONVERSATIONS = 100_000


@dataclass(frozen=True)
class Conversation:
    """An open conversation: its id and when it expires (epoch seconds)."""

    id: str
    category: str
    expires: int


class Conversations:
    """The open conversations by business number, user and category."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, str, str], Conversation] = {}

    def open(self, phone_number_id: str, wa_id: str, category: str, now: int) -> Conversation:
        """The conversation open at ``now``, opening a new one if there is none."""
        key = (phone_number_id, wa_id, category)
        current = self._open.get(key)
        if current is not None and current.expires > now:
            return current
        if len(self._open) >= MAX_CONVERSATIONS:
            self._open = {k: c for k, c in self._open.items() if c.expires > now}
            while len(self._open) >= MAX_CONVERSATIONS:
                del self._open[next(iter(self._open))]
        conversation = Conversation(secrets.token_hex(16), category, now + CONVERSATION_SECONDS)
        self._open[key] = conversation
        return conversation
