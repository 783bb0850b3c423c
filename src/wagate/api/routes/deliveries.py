"""``/v1/{sid}/callback/deliveries``: the delivery log, and replay."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from wagate.api import platform, schemas
from wagate.api.deps import ApiKeyDep, DeliveryIdPath, GatewayDep, SidPath
from wagate.api.paging import PAGE_PARAMETERS, page_params, parse_time
from wagate.api.reference import example, query, responses
from wagate.domain import errors
from wagate.domain.callbacks import Attempt, Delivery, DeliveryStatus

router = APIRouter()
BASE = "/v1/{sid}/callback/deliveries"
TAG = "Deliveries"
_NOT_FOUND = "Delivery not found"
_UNAUTHORIZED = {"Unauthorized": example(platform.for_error(errors.AuthenticationFailed(), ""))}
_MISSING = {
    "Not found": example(platform.for_error(errors.NotFound("no delivery msg_4f50b…"), _NOT_FOUND))
}
_INVALID = {
    "Invalid request": example(
        platform.bad_request(
            {"status": "must be one of queued, pending, succeeded, dead, cancelled"}
        )
    )
}
_FAILED = {"Internal error": example(platform.for_error(errors.WagateError(), ""))}
_UNAVAILABLE = {
    "Database unavailable": example(platform.for_error(errors.DatabaseUnavailable(), ""))
}
_DELIVERY = schemas.envelope(
    schemas.Delivery, "DeliveryEnvelope", "RBC200", "Request processed successfully"
)
_TIME = {"type": "string", "description": "Epoch seconds or ISO 8601."}


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def delivery_to_wire(delivery: Delivery, endpoint_state: str = "healthy") -> dict[str, Any]:
    """A delivery as the API shows it, with what the workers know of its endpoint."""
    return {
        "id": delivery.id,
        "event_id": delivery.event_id,
        "subject_id": delivery.subject_id,
        "profile_id": delivery.profile_id,
        "method": delivery.method,
        "url": delivery.url,
        "body": delivery.body,
        "status": delivery.status.value,
        "endpoint": delivery.endpoint,
        "endpoint_state": endpoint_state,
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


@router.get(
    BASE,
    tags=[TAG],
    summary="List deliveries",
    responses=responses(
        (200, schemas.envelope(schemas.DeliveryPage, "DeliveryPageEnvelope", "RBC200",
                               "Request processed successfully"),
         "A page of deliveries, newest first."),
        {400: _INVALID, 401: _UNAUTHORIZED, 500: _FAILED, 503: _UNAVAILABLE},
    ),
    openapi_extra={
        "parameters": [
            query("profile_id", {"type": "string"}, "Only this profile's deliveries."),
            query("status", {"type": "string",
                             "enum": ["queued", "pending", "succeeded", "dead", "cancelled"]},
                  "Only deliveries in this status."),
            query("since", _TIME, "Only deliveries created at or after this time."),
            query("until", _TIME, "Only deliveries created before this time."),
            *PAGE_PARAMETERS,
        ]
    },
)  # fmt: skip
async def list_deliveries(
    sid: SidPath, request: Request, gateway: GatewayDep, api_key: ApiKeyDep
) -> Response:
    """Deliveries, newest first, filtered by ``profile_id``, ``status``, ``since``, ``until``.

    A delivery is one callback or push to one endpoint; its id is the
    ``webhook-id`` header of every attempt.
    """
    await gateway.tenancy.authenticate(sid, api_key)
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
    states = await gateway.deliveries.endpoint_states([d.endpoint for d in page])
    return platform.ok(
        {
            "items": [delivery_to_wire(d, states.get(d.endpoint, "healthy")) for d in page],
            "total": total,
            "limit": limit,
            "offset": offset,
        }
    )


@router.get(
    BASE + "/{delivery_id}",
    tags=[TAG],
    summary="Show a delivery",
    responses=responses(
        (200, schemas.envelope(schemas.DeliveryWithAttempts, "DeliveryWithAttemptsEnvelope",
                               "RBC200", "Request processed successfully"),
         "The delivery and its attempt_log."),
        {401: _UNAUTHORIZED, 404: _MISSING, 500: _FAILED, 503: _UNAVAILABLE},
    ),
)  # fmt: skip
async def get_delivery(
    sid: SidPath, delivery_id: DeliveryIdPath, gateway: GatewayDep, api_key: ApiKeyDep
) -> Response:
    """One delivery with every attempt."""
    await gateway.tenancy.authenticate(sid, api_key)
    delivery, attempts = await gateway.deliveries.get(sid, delivery_id)
    states = await gateway.deliveries.endpoint_states([delivery.endpoint])
    wire = delivery_to_wire(delivery, states.get(delivery.endpoint, "healthy"))
    wire["attempt_log"] = [attempt_to_wire(a) for a in attempts]
    return platform.ok(wire)


@router.post(
    BASE + "/{delivery_id}/replay",
    tags=[TAG],
    summary="Replay a delivery",
    responses=responses(
        (200, _DELIVERY, "The delivery, due now."),
        {401: _UNAUTHORIZED, 404: _MISSING, 500: _FAILED, 503: _UNAVAILABLE},
    ),
)
async def replay_delivery(
    sid: SidPath, delivery_id: DeliveryIdPath, gateway: GatewayDep, api_key: ApiKeyDep
) -> Response:
    """Send a delivery again now, whatever its state, as a manual attempt."""
    await gateway.tenancy.authenticate(sid, api_key)
    delivery = await gateway.deliveries.replay(sid, delivery_id)
    return platform.ok(delivery_to_wire(delivery))
