"""What a message's status becomes: its event and the deliveries it fans out to.

Rendering is :mod:`wagate.delivery.deliveries`; this module hands it the event and the
profile. Written by whoever applies the status, in its own transaction: the inbox
processor for Meta's statuses, the send queue for the ``failed`` of a message
it could not send.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wagate.delivery.deliveries import callback_url_delivery, profile_delivery, push_delivery
from wagate.domain.callbacks import CallbackProfile, Delivery
from wagate.domain.messages import (
    Billing,
    Message,
    status_callback_values,
    webhook_status_payload,
)
from wagate.domain.tenancy import PhoneNumber
from wagate.store import events as event_rows

__all__ = ["Writes", "status_profile_of", "status_writes"]


@dataclass
class Writes:
    """Events and their deliveries, gathered to be written in one go."""

    events: list[event_rows.NewEvent] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)


def status_profile_of(message: Message, phone: PhoneNumber | None) -> str | None:
    """The profile that gets a message's status callbacks: none when it has its own
    ``callback_url``, else its own profile or its number's."""
    if message.callback_url:
        return None
    return message.callback_profile_id or (phone.callback_profile_id if phone else None)


def status_writes(
    message: Message,
    phone: PhoneNumber,
    status: dict[str, Any],
    billing: Billing,
    profiles: Mapping[str, CallbackProfile],
    writes: Writes,
    now: datetime,
) -> None:
    """The event of a forwarded status and its deliveries: the message's ``callback_url``
    or else its (or its number's) profile, and the number's ``webhook_url`` push."""
    name = str(status.get("status", "")).lower()
    event = event_rows.NewEvent(
        event_rows.new_event_id(),
        "message_status",
        message.sid,
        message.waba_id,
        message.id,
        name,
        status,
    )
    writes.events.append(event)
    values = status_callback_values(message, status, billing)
    common: dict[str, Any] = {"event_id": event.id, "subject_id": message.id, "now": now}
    if message.callback_url:
        writes.deliveries.append(
            callback_url_delivery(
                message.callback_url, values, sid=message.sid, number=phone.number, **common
            )
        )
    else:
        profile_id = status_profile_of(message, phone)
        profile = profiles.get(profile_id) if profile_id else None
        if profile is not None:
            writes.deliveries.append(profile_delivery(profile, values=values, **common))
    if phone.webhook_url:
        payload = webhook_status_payload(phone.number, status)
        writes.deliveries.append(push_delivery(phone, payload, **common))
