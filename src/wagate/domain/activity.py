"""What a customer can look back on: its messages, the statuses Meta reported, the callbacks sent.

These are read models of the portal: plain records of what happened, and the
few rules that name it (a message's current status, what kind of request a
delivery is, which placeholders a profile's events offer).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from wagate.domain.callbacks import DeliveryStatus
from wagate.domain.messages import STATUS_RANK
from wagate.domain.placeholders import (
    INCOMING_MESSAGE_PLACEHOLDERS,
    MESSAGE_STATUS_PLACEHOLDERS,
    RESUMABLE_MEDIA_PLACEHOLDERS,
)

__all__ = [
    "ACCEPTED",
    "INCOMING_EVENTS",
    "MESSAGE_EVENTS",
    "REDACTED",
    "UPLOAD_EVENTS",
    "DeliveryKind",
    "DeliverySummary",
    "MessageRecord",
    "MessageView",
    "PlaceholderGroup",
    "RecordedStatus",
    "delivery_kind",
    "placeholder_groups",
    "redact_headers",
    "status_at_rank",
]

#: A message Meta accepted and has not reported on yet.
ACCEPTED: Final = "accepted"
_STATUS_AT_RANK: Final = {rank: status for status, rank in STATUS_RANK.items()}


def status_at_rank(forwarded_rank: int) -> str:
    """The status the customer was last told of, from the rank forwarded so far."""
    return _STATUS_AT_RANK.get(forwarded_rank, ACCEPTED)


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """A sent message as the customer looks it up."""

    id: str
    sid: str
    waba_id: str
    number: str
    recipient: str
    wamid: str
    type: str
    template_name: str | None
    ref: str | None
    ref1: str | None
    ref2: str | None
    callback_url: str | None
    callback_profile_id: str | None
    forwarded_rank: int
    created_at: datetime
    #: The recipient's BSUID when the send named one.
    recipient_user_id: str | None = None
    #: The price decided from Meta's pricing ("" when free; None when not decided).
    price: str | None = None

    @property
    def current_status(self) -> str:
        """The status the customer's callbacks last carried."""
        return status_at_rank(self.forwarded_rank)

    @property
    def refs(self) -> list[str]:
        """``ref``, ``ref1`` and ``ref2``, those that are set."""
        return [ref for ref in (self.ref, self.ref1, self.ref2) if ref]


@dataclass(frozen=True, slots=True)
class RecordedStatus:
    """A status Meta reported for a message, once per (message, status).

    ``forwarded`` is False for a status recorded but not sent on: one that
    would have moved the customer's view backwards, or that no message matched.
    """

    status: str
    forwarded: bool
    meta_timestamp: str | None
    payload: dict[str, Any]
    created_at: datetime

    @property
    def errors(self) -> list[str]:
        """Meta's errors on this status, as ``code: title``."""
        found = self.payload.get("errors")
        if not isinstance(found, list):
            return []
        return [
            f"{error.get('code', '')}: {error.get('title') or error.get('message') or ''}"
            for error in found
            if isinstance(error, dict)
        ]


class DeliveryKind(enum.StrEnum):
    """Which of a customer's targets a delivery went to."""

    PROFILE = "profile callback"
    PUSH = "webhook push"
    CALLBACK_URL = "callback_url callback"


def delivery_kind(profile_id: str | None, method: str) -> DeliveryKind:
    """A profile's callback, a number's webhook push (always a POST), or a ``callback_url`` GET."""
    if profile_id:
        return DeliveryKind.PROFILE
    return DeliveryKind.PUSH if method.upper() == "POST" else DeliveryKind.CALLBACK_URL


@dataclass(frozen=True, slots=True)
class DeliverySummary:
    """One callback or push about a subject (an upload or a message), as a list shows it."""

    id: str
    subject_id: str
    profile_id: str | None
    method: str
    url: str
    status: DeliveryStatus
    attempts: int
    last_response_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    @property
    def kind(self) -> DeliveryKind:
        return delivery_kind(self.profile_id, self.method)


@dataclass(frozen=True, slots=True)
class MessageView:
    """A message with what Meta reported of it and the price its callback carried."""

    message: MessageRecord
    statuses: list[RecordedStatus] = field(default_factory=list)
    price: str | None = None


@dataclass(frozen=True, slots=True)
class PlaceholderGroup:
    """The placeholders one kind of event fills in, and what the events are."""

    events: str
    names: tuple[str, ...]


UPLOAD_EVENTS: Final = PlaceholderGroup(
    "Resumable-media status (a WABA's uploads)", tuple(sorted(RESUMABLE_MEDIA_PLACEHOLDERS))
)
MESSAGE_EVENTS: Final = PlaceholderGroup(
    "Message status (a number's messages)", tuple(sorted(MESSAGE_STATUS_PLACEHOLDERS))
)
INCOMING_EVENTS: Final = PlaceholderGroup(
    "Incoming message (what a number's users send)", tuple(sorted(INCOMING_MESSAGE_PLACEHOLDERS))
)


def placeholder_groups(*, on_wabas: bool, on_numbers: bool) -> list[PlaceholderGroup]:
    """The placeholders a profile's events offer: those of what it is attached to.

    A profile attached to nothing yet may be attached to anything, so it gets them all.
    """
    groups = [UPLOAD_EVENTS] if on_wabas else []
    if on_numbers:
        groups += [MESSAGE_EVENTS, INCOMING_EVENTS]
    return groups or [UPLOAD_EVENTS, MESSAGE_EVENTS, INCOMING_EVENTS]


REDACTED: Final = "[redacted]"
#: Parts of a header name that mark its value as a credential.
_SECRET_NAME_PARTS: Final = ("auth", "token", "secret", "key", "password", "cookie", "session")


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """Request headers as the portal shows them: every value that may be a credential hidden.

    The attempt log already hides the usual credentials; a profile's own
    headers (``X-Shop-Token``, ``X-Api-Key``…) are hidden here by their names.
    The ``webhook-*`` headers stay: a signature reveals nothing of its secret.
    """
    return {
        name: REDACTED
        if not name.lower().startswith("webhook-")
        and any(part in name.lower() for part in _SECRET_NAME_PARTS)
        else value
        for name, value in headers.items()
    }
