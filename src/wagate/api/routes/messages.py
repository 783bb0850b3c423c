"""``POST /v2/{sid}/whatsapp/{phone_number}/messages``: send a message through Meta."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from wagate.api import envelope
from wagate.api.deps import GatewayDep
from wagate.api.request_log import bind_ids
from wagate.domain import errors

router = APIRouter()


@router.post("/v2/{sid}/whatsapp/{phone_number}/messages")
async def send_message(
    sid: str, phone_number: str, request: Request, gateway: GatewayDep
) -> Response:
    """Send ``messaging_object`` (a Cloud API message) with ``extra_info`` for its callbacks."""
    account = await gateway.tenancy.authenticate(sid, request.headers.get("api-key"))
    if not account.whatsapp_enabled:
        raise errors.WhatsAppNotEnabled()
    try:
        phone = await gateway.messages.number_of(sid, phone_number)
    except errors.WabaNotFound:
        message = "Phone number is not present or does not belong to the account."
        return envelope.envelope(401, "WA401", message, {}, {"phone_number": message})
    try:
        document: Any = json.loads(await request.body() or b"null")
    except ValueError:
        raise errors.InvalidPayload({"payload": "the body is not JSON"}) from None
    if not isinstance(document, dict):
        raise errors.InvalidPayload({"payload": "the body must be a JSON object"})
    try:
        sent = await gateway.messages.send(
            phone, document.get("messaging_object"), document.get("extra_info")
        )
    except errors.MetaError as exc:
        status = exc.status if exc.status and 400 <= exc.status < 500 else 502
        return envelope.envelope(
            status,
            f"WA{status}",
            exc.message,
            {},
            {
                "code": exc.code,
                "type": exc.type,
                "message": exc.message,
                "fbtrace_id": exc.fbtrace_id,
            },
        )
    bind_ids(message_id=sent.id, wamid=sent.wamid)
    return envelope.ok({"id": sent.id, "wamid": sent.wamid})
