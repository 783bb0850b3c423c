"""``/webhooks/meta``: Meta's verification handshake and its signed webhooks."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import PlainTextResponse, Response

from wagate.api.deps import GatewayDep
from wagate.domain import errors

router = APIRouter()


@router.get("/webhooks/meta", include_in_schema=False)
async def verify(request: Request, gateway: GatewayDep) -> Response:
    """Echo ``hub.challenge`` when ``hub.verify_token`` is ours; 403 otherwise."""
    query = request.query_params
    try:
        challenge = gateway.ingress.verify_subscription(
            query.get("hub.mode"), query.get("hub.verify_token"), query.get("hub.challenge")
        )
    except errors.Forbidden:
        return PlainTextResponse("forbidden", status_code=403)
    return PlainTextResponse(challenge)
