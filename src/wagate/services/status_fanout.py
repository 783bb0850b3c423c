"""What a message's status becomes: its event and the deliveries it fans out to.

Rendering is :mod:`wagate.delivery.deliveries`; this module hands it the event and the
profile. Written by whoever applies the status, in its own transaction: the inbox
processor for Meta's statuses, the send queue for the ``failed`` of a message
it could not send.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wagate.delivery.deliveries import callback_url_delivery, profile_delivery, push_delivery
from wagate.domain.callbacks import CallbackProfile, Delivery
from wagate.domain.messages import Message, status_callback_values, webhook_status_payload
from wagate.domain.pricing import RateCard, plan_prices
from wagate.domain.status_plan import ForwardedStatus
from wagate.domain.tenancy import PhoneNumber
from wagate.store import Connection
from wagate.store import events as event_rows
from wagate.store import tenancy as tenancy_rows

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
    profiles: Mapping[str, CallbackProfile],
    writes: Writes,
    now: datetime,
    *,
    price: str | None = None,
    contact: Mapping[str, Any] | None = None,
) -> None:
    """The event of a forwarded status and its deliveries: the message's ``callback_url``
    or else its (or its number's) profile, and the number's ``webhook_url`` push.

    ``price`` is the one this status's callback shows (:mod:`wagate.domain.pricing`),
    ``contact`` the recipient's ``contacts`` entry Meta sent with the status."""
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
    values = status_callback_values(message, status, price=price, contact=contact)
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
        payload = webhook_status_payload(phone.number, status, contact)
        writes.deliveries.append(push_delivery(phone, payload, **common))


async def fan_out_statuses(
    connection: Connection,
    forwarded: Sequence[ForwardedStatus],
    phones: Mapping[str, PhoneNumber],
    profiles: Mapping[str, CallbackProfile],
    rate_card: RateCard,
    writes: Writes,
    now: datetime,
) -> dict[str, str]:
    """Add the events and deliveries of statuses the inbox forwards to ``writes``, each
    callback with the price it shows; the prices decided now, by message id (to store)."""
    if not forwarded:
        return {}
    billing = await tenancy_rows.billing_of(connection, {f.message.sid for f in forwarded})
    priced = plan_prices([(f.message, f.payload) for f in forwarded], billing, rate_card)
    for status, shown in zip(forwarded, priced.statuses, strict=True):
        message = status.message
        phone = phones.get(message.phone_number_id)
        if phone is None:
            continue
        status_writes(
            message,
            phone,
            dict(status.payload),
            profiles,
            writes,
            now,
            price=shown.price,
            contact=status.contact,
        )
    return priced.decided
