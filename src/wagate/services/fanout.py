"""Fan-out: an event becomes deliveries, in the transaction that wrote the event."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from wagate.delivery.render import RenderedRequest, render_get, render_post
from wagate.domain.callbacks import CallbackProfile, Delivery, DeliveryStatus, new_delivery_id
from wagate.store import Connection
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


async def deliver_to_profile(
    connection: Connection,
    *,
    profile_id: str,
    event_id: str,
    subject_id: str,
    values: dict[str, str],
    now: datetime,
) -> str | None:
    """Queue the event for a profile; the delivery id, or None when the profile is gone."""
    profile = await profile_rows.get_profile(connection, profile_id)
    if profile is None:
        return None
    values = {**values, "callback_profile_id": profile.id}
    rendered = render_for_profile(profile, values)
    delivery = Delivery(
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
    await delivery_rows.insert_delivery(connection, delivery)
    return delivery.id


async def rerender_waiting(connection: Connection, profile: CallbackProfile, now: datetime) -> int:
    """Re-render a profile's pending and dead deliveries with its current template; how many."""
    waiting = await delivery_rows.unfinished_for_profile(connection, profile.id)
    for delivery_id, values in waiting:
        rendered = render_for_profile(profile, values)
        await delivery_rows.rewrite_request(
            connection,
            delivery_id,
            method=rendered.method,
            url=rendered.url,
            body=rendered.body.decode("utf-8") if rendered.body is not None else None,
            endpoint=endpoint_of(rendered.url),
            now=now,
        )
    return len(waiting)


async def deliver_direct(
    connection: Connection,
    *,
    sid: str,
    number: str,
    event_id: str,
    subject_id: str,
    method: str,
    url: str,
    body: bytes | None,
    now: datetime,
) -> str:
    """Queue a request to a URL that no profile owns (a number's webhook, a message's callback).

    It is signed with the number's webhook secret.
    """
    delivery = Delivery(
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
    await delivery_rows.insert_delivery(connection, delivery)
    return delivery.id
