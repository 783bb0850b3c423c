"""Fan-out: an event becomes deliveries, written in the transaction that wrote the event."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from wagate.delivery.render import RenderedRequest, render_get, render_post
from wagate.domain.callbacks import (
    CallbackProfile,
    Delivery,
    DeliveryStatus,
    key_of,
    new_delivery_id,
)
from wagate.store import Connection, delivery_queue
from wagate.store import deliveries as delivery_rows
from wagate.store import profiles as profile_rows


def endpoint_of(url: str) -> str:
    """The scheme, host and port a URL reaches: what per-endpoint limits count by."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def render_for_profile(profile: CallbackProfile, values: dict[str, str]) -> RenderedRequest:
    """The request a profile makes of an event's values."""
    if profile.http_method == "GET":
        return render_get(profile.url, values)
    return render_post(profile.url, profile.body, values)


def profile_delivery(
    profile: CallbackProfile,
    *,
    event_id: str,
    subject_id: str,
    values: dict[str, str],
    now: datetime,
) -> Delivery:
    """The delivery of an event's values through a profile's template."""
    values = {**values, "callback_profile_id": profile.id}
    rendered = render_for_profile(profile, values)
    return Delivery(
        id=new_delivery_id(),
        sid=profile.sid,
        event_id=event_id,
        subject_id=subject_id,
        profile_id=profile.id,
        template_values=values,
        method=rendered.method,
        url=rendered.url,
        body=rendered.body.decode("utf-8") if rendered.body is not None else None,
        endpoint=endpoint_of(rendered.url),
        status=DeliveryStatus.PENDING,
        attempts=0,
        run_at=now,
        created_at=now,
        updated_at=now,
    )


def direct_delivery(
    *,
    sid: str,
    number: str,
    event_id: str,
    subject_id: str,
    method: str,
    url: str,
    body: bytes | None,
    now: datetime,
) -> Delivery:
    """A request to a URL that no profile owns (a number's webhook, a message's callback).

    It is signed with the number's webhook secret.
    """
    return Delivery(
        id=new_delivery_id(),
        sid=sid,
        event_id=event_id,
        subject_id=subject_id,
        profile_id=None,
        number=number,
        method=method,
        url=url,
        body=body.decode("utf-8") if body is not None else None,
        endpoint=endpoint_of(url),
        status=DeliveryStatus.PENDING,
        attempts=0,
        run_at=now,
        created_at=now,
        updated_at=now,
    )


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
    requests = []
    for delivery_id, subject_id, values in waiting:
        rendered = render_for_profile(profile, values)
        endpoint = endpoint_of(rendered.url)
        requests.append(
            {
                "id": delivery_id,
                "method": rendered.method,
                "url": rendered.url,
                "body": rendered.body.decode("utf-8") if rendered.body is not None else None,
                "endpoint": endpoint,
                "order_key": key_of(subject_id, endpoint, profile.id),
            }
        )
    await delivery_rows.rewrite_requests(connection, requests, now)
    return len(waiting)
