"""``/v1/{sid}/callback/deliveries``: the delivery log, and replay."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from wagate.api import platform
from wagate.api.deps import GatewayDep
from wagate.api.paging import page_params, parse_time
from wagate.domain import errors
from wagate.domain.callbacks import Attempt, Delivery, DeliveryStatus

router = APIRouter()
BASE = "/v1/{sid}/callback/deliveries"


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def delivery_to_wire(delivery: Delivery) -> dict[str, Any]:
    """A delivery as the API shows it."""
    return {
        "id": delivery.id,
        "event_id": delivery.event_id,
        "subject_id": delivery.subject_id,
        "profile_id": delivery.profile_id,
        "method": delivery.method,
        "url": delivery.url,
        "body": delivery.body,
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "next_attempt_at": _iso(delivery.run_at)
        if delivery.status is DeliveryStatus.PENDING
        else None,
        "last_response_status": delivery.last_response_status,
        "last_error": delivery.last_error,
        "created_at": _iso(delivery.created_at),
        "delivered_at": _iso(delivery.delivered_at),
    }


def attempt_to_wire(attempt: Attempt) -> dict[str, Any]:
    """An attempt as the API shows it (secrets already redacted)."""
    return {
        "id": attempt.id,
        "number": attempt.number,
        "trigger": attempt.trigger.value,
        "method": attempt.method,
        "url": attempt.url,
        "request_headers": attempt.request_headers,
        "response_status": attempt.response_status,
        "response_body": attempt.response_body,
        "duration_ms": attempt.duration_ms,
        "error_class": attempt.error_class,
        "error": attempt.error,
        "next_attempt_at": _iso(attempt.next_attempt_at),
        "created_at": _iso(attempt.created_at),
    }


@router.get(BASE)
async def list_deliveries(sid: str, request: Request, gateway: GatewayDep) -> Response:
    """Deliveries, newest first, filtered by ``profile_id``, ``status``, ``since``, ``until``."""
    await gateway.tenancy.authenticate(sid, request.headers.get("api-key"))
    query = request.query_params
    limit, offset = page_params(request)
    status = None
    if query.get("status"):
        try:
            status = DeliveryStatus(query["status"])
        except ValueError:
            allowed = ", ".join(s.value for s in DeliveryStatus)
            raise errors.InvalidPayload({"status": f"must be one of {allowed}"}) from None
    page, total = await gateway.deliveries.list(
        sid,
        profile_id=query.get("profile_id"),
        status=status,
        since=parse_time(query["since"]) if query.get("since") else None,
        until=parse_time(query["until"], "until") if query.get("until") else None,
        limit=limit,
        offset=offset,
    )
    return platform.ok(
        {
            "items": [delivery_to_wire(d) for d in page],
            "total": total,
            "limit": limit,
            "offset": offset,
        }
    )


@router.get(BASE + "/{delivery_id}")
async def get_delivery(
    sid: str, delivery_id: str, request: Request, gateway: GatewayDep
) -> Response:
    """One delivery with every attempt."""
    await gateway.tenancy.authenticate(sid, request.headers.get("api-key"))
    delivery, attempts = await gateway.deliveries.get(sid, delivery_id)
    wire = delivery_to_wire(delivery)
    wire["attempt_log"] = [attempt_to_wire(a) for a in attempts]
    return platform.ok(wire)


@router.post(BASE + "/{delivery_id}/replay")
async def replay_delivery(
    sid: str, delivery_id: str, request: Request, gateway: GatewayDep
) -> Response:
    """Send a delivery again now, as a manual attempt."""
    await gateway.tenancy.authenticate(sid, request.headers.get("api-key"))
    delivery = await gateway.deliveries.replay(sid, delivery_id)
    return platform.ok(delivery_to_wire(delivery))
