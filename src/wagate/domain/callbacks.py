"""Callback profiles and deliveries: where customers want to hear from us, and each try."""

from __future__ import annotations

import enum
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from wagate.domain.ids import time_ordered_uuid

__all__ = [
    "TITLE_PATTERN",
    "Attempt",
    "AttemptTrigger",
    "CallbackProfile",
    "Delivery",
    "DeliveryStatus",
    "ProfileStatus",
    "is_valid_title",
    "key_of",
    "new_delivery_id",
    "new_profile_id",
    "order_key",
]

TITLE_PATTERN: Final = re.compile(r"^[A-Za-z0-9 _-]{3,255}$")


class ProfileStatus(enum.IntEnum):
    """A profile's state, as the API shows it."""

    ACTIVE = 1
    AUTO_DISABLED = 2
    DISABLED = 3


class DeliveryStatus(enum.StrEnum):
    """Where a delivery stands.

    ``queued`` waits behind an earlier delivery with its order key (the same
    subject to the same endpoint) and becomes ``pending`` when that one
    succeeds, dies or is cancelled.
    """

    QUEUED = "queued"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    DEAD = "dead"
    CANCELLED = "cancelled"


class AttemptTrigger(enum.StrEnum):
    """Why an attempt was made."""

    SCHEDULED = "scheduled"
    MANUAL = "manual"


def new_profile_id(pod: str) -> str:
    """A profile id in the provider's form, ``<pod>_<uuid>``."""
    return f"{pod}_{uuid.uuid4()}"


def new_delivery_id() -> str:
    """A delivery id, sent as ``webhook-id`` on every attempt."""
    return f"msg_{time_ordered_uuid().hex}"


def is_valid_title(title: str) -> bool:
    """3+ characters of letters, digits, spaces, ``-`` and ``_``."""
    return bool(TITLE_PATTERN.match(title))


@dataclass(frozen=True, slots=True)
class CallbackProfile:
    """How a customer wants callbacks: method, URL template, body template, headers."""

    id: str
    sid: str
    title: str
    http_method: str
    url: str
    body: str | None
    headers: dict[str, str]
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime | None
    status: ProfileStatus
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets that sign a request now: the current one, and the previous during overlap."""
        secrets = [self.secret]
        if (
            self.previous_secret
            and self.previous_secret_expires_at is not None
            and now < self.previous_secret_expires_at
        ):
            secrets.append(self.previous_secret)
        return secrets


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notification to one endpoint, retried until it succeeds or dies."""

    id: str
    sid: str
    event_id: str
    subject_id: str
    profile_id: str | None
    method: str
    url: str
    body: str | None
    endpoint: str
    status: DeliveryStatus
    attempts: int
    run_at: datetime
    created_at: datetime
    updated_at: datetime
    locked_by: str | None = None
    number: str | None = None
    template_values: dict[str, str] | None = None
    #: Whether its next attempt is the schedule's or asked for by hand (replay).
    trigger: AttemptTrigger = AttemptTrigger.SCHEDULED
    #: Its place among the deliveries of its order key (see :func:`order_key`).
    seq: int = 0
    last_response_status: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """The record of one HTTP request of a delivery."""

    id: str
    delivery_id: str
    number: int
    trigger: AttemptTrigger
    method: str
    url: str
    request_headers: dict[str, str]
    response_status: int | None
    response_body: str | None
    duration_ms: int
    error_class: str | None
    error: str | None
    next_attempt_at: datetime | None
    created_at: datetime


def order_key(delivery: Delivery) -> str:
    """What orders deliveries: one subject's callbacks to one endpoint, through one profile
    (or directly to a number's URLs), go out one at a time, in the order they were written."""
    return key_of(delivery.subject_id, delivery.endpoint, delivery.profile_id)


def key_of(subject_id: str, endpoint: str, profile_id: str | None) -> str:
    """The order key of a subject's deliveries to ``endpoint`` through a profile (or none)."""
    return f"{subject_id}|{endpoint}|{profile_id or 'direct'}"
