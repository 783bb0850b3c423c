"""Rows of the deliveries and delivery_attempts tables as domain objects."""

from __future__ import annotations

import json
from typing import Any

from wagate.domain.callbacks import Attempt, AttemptTrigger, Delivery, DeliveryStatus

__all__ = ["to_attempt", "to_delivery"]


def to_delivery(row: Any) -> Delivery:
    """A delivery as the domain sees it, from a row of the deliveries table (or some of
    its columns: what a claim reads leaves out the template values and the history)."""
    # A column a row lacks is looked up through SQLAlchemy's exception path: ask first.
    fields = row._fields
    return Delivery(
        id=row.id,
        sid=row.sid,
        event_id=row.event_id,
        subject_id=row.subject_id,
        profile_id=row.profile_id,
        number=row.number,
        template_values=(
            json.loads(row.template_values)
            if "template_values" in fields and row.template_values
            else None
        ),
        trigger=AttemptTrigger(row.trigger or AttemptTrigger.SCHEDULED.value),
        method=row.method,
        url=row.url,
        body=row.body,
        endpoint=row.endpoint,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        run_at=row.run_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        locked_by=row.locked_by,
        last_response_status=row.last_response_status if "last_response_status" in fields else None,
        last_error=row.last_error if "last_error" in fields else None,
        delivered_at=row.delivered_at if "delivered_at" in fields else None,
        seq=row.seq,
    )


def to_attempt(row: Any) -> Attempt:
    """An attempt as the domain sees it, from a row of delivery_attempts."""
    return Attempt(
        id=row.id,
        delivery_id=row.delivery_id,
        number=row.number,
        trigger=AttemptTrigger(row.trigger),
        method=row.method,
        url=row.url,
        request_headers=json.loads(row.request_headers),
        response_status=row.response_status,
        response_body=row.response_body,
        duration_ms=row.duration_ms,
        error_class=row.error_class,
        error=row.error,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
    )
