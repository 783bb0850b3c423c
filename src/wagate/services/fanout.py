"""Fan-out: an event becomes deliveries, written in the transaction that wrote the event.

:mod:`wagate.delivery.deliveries` renders them; this module reads the profile and
writes what it rendered.
"""

from __future__ import annotations

from datetime import datetime

from wagate.delivery.deliveries import profile_delivery, rerendered_requests
from wagate.domain.callbacks import CallbackProfile
from wagate.store import Connection, delivery_queue
from wagate.store import deliveries as delivery_rows
from wagate.store import profiles as profile_rows

__all__ = ["deliver_to_profile", "rerender_waiting"]


async def deliver_to_profile(
    connection: Connection,
    *,
    profile_id: str,
    event_id: str,
    subject_id: str,
    values: dict[str, str],
    now: datetime,
) -> str | None:
    """Queue one event for a profile; the delivery id, or None when the profile is gone."""
    profile = await profile_rows.get_profile(connection, profile_id)
    if profile is None:
        return None
    delivery = profile_delivery(
        profile, event_id=event_id, subject_id=subject_id, values=values, now=now
    )
    await delivery_queue.insert_deliveries(connection, [delivery])
    return delivery.id


async def rerender_waiting(connection: Connection, profile: CallbackProfile, now: datetime) -> int:
    """Re-render a profile's unfinished and dead deliveries with its current template; how many."""
    waiting = await delivery_rows.unfinished_for_profile(connection, profile.id)
    await delivery_rows.rewrite_requests(connection, rerendered_requests(profile, waiting), now)
    return len(waiting)
