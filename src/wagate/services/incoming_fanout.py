"""What an incoming message becomes: its event, its incoming callback and its push.

Written in the transaction that records the message (the inbox processor) or,
for a media message, the one that records its download or the download's
failure (the media job).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from wagate.delivery.deliveries import profile_delivery, push_delivery
from wagate.domain.callbacks import CallbackProfile
from wagate.domain.inbound import InboundMessage
from wagate.domain.incoming import (
    INCOMING_EVENT,
    MediaOutcome,
    incoming_callback_values,
    webhook_incoming_payload,
)
from wagate.domain.messages import Message
from wagate.domain.tenancy import PhoneNumber
from wagate.services.status_fanout import Writes
from wagate.store import events as event_rows

__all__ = ["has_audience", "incoming_writes"]


def has_audience(phone: PhoneNumber, profiles: Mapping[str, CallbackProfile]) -> bool:
    """Whether anyone hears of the number's incoming messages: an incoming profile that
    exists, or a ``webhook_url``."""
    profile_id = phone.incoming_callback_profile_id
    return bool(phone.webhook_url) or (profile_id is not None and profile_id in profiles)


def incoming_writes(
    inbound_id: str,
    message: InboundMessage,
    phone: PhoneNumber,
    *,
    replied: Message | None,
    profiles: Mapping[str, CallbackProfile],
    media: MediaOutcome | None,
    writes: Writes,
    now: datetime,
) -> int:
    """Add the event of an incoming message and its deliveries (to the number's incoming
    profile, and its ``webhook_url``) to ``writes``; how many deliveries. Nothing is
    written when nobody listens."""
    if not has_audience(phone, profiles):
        return 0
    event = event_rows.NewEvent(
        event_rows.new_event_id(),
        INCOMING_EVENT,
        phone.sid,
        phone.waba_id,
        inbound_id,
        message.type,
        dict(message.raw),
    )
    writes.events.append(event)
    before = len(writes.deliveries)
    profile_id = phone.incoming_callback_profile_id
    profile = profiles.get(profile_id) if profile_id else None
    if profile is not None:
        values = incoming_callback_values(
            message, business_number=phone.number, media=media, replied=replied
        )
        writes.deliveries.append(
            profile_delivery(
                profile, event_id=event.id, subject_id=inbound_id, values=values, now=now
            )
        )
    if phone.webhook_url:
        payload = webhook_incoming_payload(phone.number, message, media=media, replied=replied)
        writes.deliveries.append(
            push_delivery(phone, payload, event_id=event.id, subject_id=inbound_id, now=now)
        )
    return len(writes.deliveries) - before
