"""The deliveries an event becomes: each request rendered, its endpoint keyed and its
body encoded, ready to be queued.

Pure: the services hand in the event's ids and values and the profile or number
it goes to, and write what comes back.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from wagate.delivery.render import RenderedRequest, render_get, render_post, render_query
from wagate.domain import json_text
from wagate.domain.callbacks import (
    CallbackProfile,
    Delivery,
    DeliveryStatus,
    key_of,
    new_delivery_id,
)
from wagate.domain.tenancy import PhoneNumber

__all__ = [
    "callback_url_delivery",
    "direct_delivery",
    "endpoint_of",
    "profile_delivery",
    "push_delivery",
    "render_for_profile",
    "rerendered_requests",
]


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


def _pending(
    *,
    sid: str,
    event_id: str,
    subject_id: str,
    method: str,
    url: str,
    body: bytes | None,
    now: datetime,
    profile_id: str | None = None,
    number: str | None = None,
    template_values: dict[str, str] | None = None,
) -> Delivery:
    """A new delivery of a request, due now, keyed by the endpoint its URL reaches."""
    return Delivery(
        id=new_delivery_id(),
        sid=sid,
        event_id=event_id,
        subject_id=subject_id,
        profile_id=profile_id,
        number=number,
        template_values=template_values,
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
    return _pending(
        sid=profile.sid,
        event_id=event_id,
        subject_id=subject_id,
        method=rendered.method,
        url=rendered.url,
        body=rendered.body,
        now=now,
        profile_id=profile.id,
        template_values=values,
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
    return _pending(
        sid=sid,
        event_id=event_id,
        subject_id=subject_id,
        method=method,
        url=url,
        body=body,
        now=now,
        number=number,
    )


def callback_url_delivery(
    callback_url: str,
    values: dict[str, str],
    *,
    sid: str,
    number: str,
    event_id: str,
    subject_id: str,
    now: datetime,
) -> Delivery:
    """A GET of a message's own ``callback_url`` with the event's values in its query."""
    request = render_query(callback_url, values)
    return direct_delivery(
        sid=sid,
        number=number,
        method=request.method,
        url=request.url,
        body=None,
        event_id=event_id,
        subject_id=subject_id,
        now=now,
    )


def push_delivery(
    phone: PhoneNumber, payload: dict[str, Any], *, event_id: str, subject_id: str, now: datetime
) -> Delivery:
    """A seed 003 push to the number's ``webhook_url`` (which it must have)."""
    assert phone.webhook_url is not None
    body = json_text.compact_unicode(payload).encode("utf-8")
    return direct_delivery(
        sid=phone.sid,
        number=phone.number,
        method="POST",
        url=phone.webhook_url,
        body=body,
        event_id=event_id,
        subject_id=subject_id,
        now=now,
    )


def rerendered_requests(
    profile: CallbackProfile, waiting: Iterable[tuple[str, str, dict[str, str]]]
) -> list[dict[str, Any]]:
    """The new requests of a profile's waiting deliveries (id, subject, values) under its
    current template: each one's id, method, url, body, endpoint and order key."""
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
    return requests
