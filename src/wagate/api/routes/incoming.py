"""``/v2/{sid}/whatsapp/{phone_number}/incoming``: messages users sent, and their media."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from wagate.api import envelope, schemas
from wagate.api.deps import ApiKeyDep, GatewayDep, NumberPath, SidPath
from wagate.api.reference import example, query, request_body, responses
from wagate.api.routes.messages import json_object, number_of_account, unknown_number
from wagate.domain import errors
from wagate.services.incoming_media import IncomingView

router = APIRouter()

PATH = "/v2/{sid}/whatsapp/{phone_number}/incoming"
TAG = "Incoming messages"
MAX_ID_LENGTH = 255
_WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="


class MediaRetry(BaseModel):
    """Which incoming message's media to download again."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        description="Meta's id of the message (the id of its incoming callback).",
        min_length=1,
        max_length=MAX_ID_LENGTH,
        examples=[_WAMID],
    )


def _answers(status: int, description: str) -> dict[int | str, dict[str, Any]]:
    return responses(
        (status, schemas.envelope(schemas.IncomingMessage, f"IncomingMessage{status}Envelope",
                                  f"WA{status}", "Request Processed Successfully"),
         description),
        {
            400: {"Incorrect payload": example(envelope.invalid_payload({"id": "is missing"}))},
            401: {
                "Unauthorized": example(envelope.for_error(errors.AuthenticationFailed())),
                "Wrong account": example(envelope.for_error(errors.WhatsAppNotEnabled())),
                "Unknown number": example(unknown_number()),
            },
            404: {"No such message": example(envelope.for_error(errors.NotFound(
                f"no incoming message {_WAMID} to 15550783881")))},
            500: {"Internal Server Error": example(envelope.internal_error())},
            503: {"Database unavailable": example(envelope.for_error(
                errors.DatabaseUnavailable()))},
        },
    )  # fmt: skip


@router.get(
    PATH,
    tags=[TAG],
    summary="Look an incoming message up",
    responses=_answers(200, "The message, and where its media stands."),
    openapi_extra={
        "parameters": [
            {**query("id", {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH},
                     "Meta's id of the message."), "required": True},
        ]
    },
)  # fmt: skip
async def get_incoming(
    sid: SidPath, phone_number: NumberPath, request: Request, gateway: GatewayDep,
    api_key: ApiKeyDep,
) -> Response:  # fmt: skip
    """One message a user sent to the number, by Meta's id, with its media's state and
    ``media_url`` once the media is stored."""
    phone = await number_of_account(gateway, sid, phone_number, api_key)
    if isinstance(phone, Response):
        return phone
    wamid = request.query_params.get("id")
    if not wamid or len(wamid) > MAX_ID_LENGTH:
        raise errors.InvalidPayload({"id": f"Meta's message id, 1 to {MAX_ID_LENGTH} characters"})
    return envelope.ok(incoming_to_wire(await gateway.incoming_media.get(sid, phone_number, wamid)))


@router.post(
    f"{PATH}/media",
    status_code=202,
    tags=[TAG],
    summary="Download an incoming message's media again",
    responses=_answers(202, "The download is under way again (or done already)."),
    openapi_extra=request_body(
        MediaRetry, {"Retry": {"id": _WAMID}}, "The message whose media to download again."
    ),
)
async def retry_incoming_media(
    sid: SidPath, phone_number: NumberPath, request: Request, gateway: GatewayDep,
    api_key: ApiKeyDep,
) -> Response:  # fmt: skip
    """After Meta kept failing (the incoming callback carried an ``error`` and no
    ``media_url``), download the media again; once it is stored the customer gets the
    incoming callback again, with ``media_url``."""
    phone = await number_of_account(gateway, sid, phone_number, api_key)
    if isinstance(phone, Response):
        return phone
    wamid = (await json_object(request)).get("id")
    if not isinstance(wamid, str) or not 1 <= len(wamid) <= MAX_ID_LENGTH:
        raise errors.InvalidPayload({"id": f"Meta's message id, 1 to {MAX_ID_LENGTH} characters"})
    view = await gateway.incoming_media.retry(sid, phone_number, wamid)
    wire = incoming_to_wire(view)
    return envelope.envelope(202, "WA202", "Request Processed Successfully", wire, {})


def incoming_to_wire(view: IncomingView) -> dict[str, Any]:
    """An incoming message as the API shows it."""
    stored = view.stored
    message = stored.message
    wire: dict[str, Any] = {
        "id": message.wamid,
        "type": message.type,
        "from": message.sender,
        "created_at": stored.created_at.isoformat().replace("+00:00", "Z"),
    }
    if stored.media is not None:
        wire["media_status"] = stored.media.state
        mime_type = stored.media.media_type or (message.media.mime_type if message.media else None)
        if mime_type:
            wire["mime_type"] = mime_type
        if view.media_url:
            wire["media_url"] = view.media_url
        if stored.media.error and stored.media.state == "failed":
            wire["error"] = stored.media.error
    return wire
