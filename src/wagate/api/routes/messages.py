"""``POST /v2/{sid}/whatsapp/{phone_number}/messages``: send a message through Meta."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from wagate.api import envelope, schemas
from wagate.api.deps import ApiKeyDep, GatewayDep, NumberPath, SidPath
from wagate.api.reference import example, request_body, responses
from wagate.api.request_log import bind_ids
from wagate.domain import errors

router = APIRouter()
UNKNOWN_NUMBER = "Phone number is not present or does not belong to the account."


class MessagingObject(BaseModel):
    """A WhatsApp Cloud API message object, sent to Meta as it is.

    Today's types are ``text`` and ``template``; ``messaging_product`` and
    ``recipient_type`` are added when missing.
    """

    model_config = ConfigDict(extra="allow")

    to: str = Field(description="The recipient's WhatsApp number.", examples=["919876543210"])
    type: str = Field(
        description="text or template.", json_schema_extra={"enum": ["text", "template"]}
    )
    text: dict[str, Any] | None = Field(None, description='For text: {"body": "…"}.')
    template: dict[str, Any] | None = Field(
        None, description="For template: name, language and components, as Meta takes them."
    )


class ExtraInfo(BaseModel):
    """What the gateway keeps with the message for its callbacks; every field optional."""

    model_config = ConfigDict(extra="forbid")

    ref: str | None = Field(None, description="Echoed as ref in status callbacks.")
    ref1: str | None = Field(None, description="Echoed as ref1.")
    ref2: str | None = Field(None, description="Echoed as ref2.")
    callback_url: str | None = Field(
        None,
        description="Status callbacks of this message go here (GET, seed 002's fields in the "
        "query), signed with the number's webhook_secret.",
    )
    callback_profile_id: str | None = Field(
        None, description="Status callbacks of this message go through this profile instead."
    )
    tag_name: str | None = Field(None, description="Echoed as tag_name in button-click pushes.")
    template_id: str | None = Field(
        None, description="Echoed as templateId in the wa_ext of button-click pushes."
    )


class SendMessage(BaseModel):
    """The body of a send."""

    model_config = ConfigDict(extra="allow")

    messaging_object: MessagingObject
    extra_info: ExtraInfo | None = None


def _unknown_number() -> Response:
    return envelope.envelope(401, "WA401", UNKNOWN_NUMBER, {}, {"phone_number": UNKNOWN_NUMBER})


TEMPLATE_EXAMPLE = {
    "messaging_object": {
        "to": "919876543210",
        "type": "template",
        "template": {
            "name": "order_update",
            "language": {"code": "en_US"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "A/42"}]},
                {"type": "button", "sub_type": "quick_reply", "index": "0",
                 "parameters": [{"type": "payload", "payload": "TRACK_A42"}]},
            ],
        },
    },
    "extra_info": {"ref": "order-A42", "tag_name": "order-updates", "template_id": "233"},
}  # fmt: skip
TEXT_EXAMPLE = {
    "messaging_object": {"to": "919876543210", "type": "text", "text": {"body": "Hello"}},
    "extra_info": {"ref": "greeting-1", "callback_url": "https://example.com/status"},
}
_META_ERROR = {
    "code": "WA400",
    "message": "(#100) Invalid parameter",
    "data": {},
    "error": {"code": 100, "type": "OAuthException", "message": "(#100) Invalid parameter",
              "fbtrace_id": "AbCdEf"},
}  # fmt: skip
_ANSWERS = responses(
    (200, schemas.envelope(schemas.MessageSent, "MessageSentEnvelope", "WA200",
                           "Request Processed Successfully"),
     "Meta accepted the message."),
    {
        400: {
            "Incorrect payload": example(
                envelope.invalid_payload({"messaging_object.type": "must be text or template"})
            ),
            "Refused by Meta": _META_ERROR,
        },
        401: {
            "Unauthorized": example(envelope.for_error(errors.AuthenticationFailed())),
            "Wrong account": example(envelope.for_error(errors.WhatsAppNotEnabled())),
            "Unknown number": example(_unknown_number()),
        },
        403: {"Refused by Meta": {**_META_ERROR, "code": "WA403"}},
        404: {"Refused by Meta": {**_META_ERROR, "code": "WA404"}},
        429: {"Throttled by Meta": {**_META_ERROR, "code": "WA429"}},
        500: {"Internal Server Error": example(envelope.internal_error())},
        502: {"Meta failed": {**_META_ERROR, "code": "WA502", "message": "Service unavailable"}},
        503: {"Database unavailable": example(envelope.for_error(errors.DatabaseUnavailable()))},
    },
)  # fmt: skip


@router.post(
    "/v2/{sid}/whatsapp/{phone_number}/messages",
    tags=["Messages"],
    summary="Send a message",
    responses=_ANSWERS,
    openapi_extra=request_body(
        SendMessage,
        {"Template": TEMPLATE_EXAMPLE, "Text": TEXT_EXAMPLE},
        "The Cloud API message, and what to keep with it for its callbacks.",
    ),
)
async def send_message(
    sid: SidPath, phone_number: NumberPath, request: Request, gateway: GatewayDep,
    api_key: ApiKeyDep,
) -> Response:  # fmt: skip
    """Send ``messaging_object`` (a Cloud API message) with ``extra_info`` for its callbacks.

    Meta's statuses about it (sent, delivered, read, failed, deleted) become
    status callbacks (to ``extra_info.callback_url``, the given
    ``callback_profile_id`` or the number's profile) and pushes to the number's
    ``webhook_url``. Other Meta 4xx answers are passed on with their status.
    """
    account = await gateway.tenancy.authenticate(sid, api_key)
    if not account.whatsapp_enabled:
        raise errors.WhatsAppNotEnabled()
    try:
        phone = await gateway.messages.number_of(sid, phone_number)
    except errors.WabaNotFound:
        return envelope.envelope(401, "WA401", UNKNOWN_NUMBER, {}, {"phone_number": UNKNOWN_NUMBER})
    try:
        document: Any = json.loads(await request.body() or b"null")
    except ValueError:
        raise errors.InvalidPayload({"payload": "the body is not JSON"}) from None
    if not isinstance(document, dict):
        raise errors.InvalidPayload({"payload": "the body must be a JSON object"})
    messaging_object = document.get("messaging_object")
    if isinstance(messaging_object, dict) and not isinstance(messaging_object.get("type"), str):
        raise errors.InvalidPayload({"messaging_object.type": "must be text or template"})
    try:
        sent = await gateway.messages.send(phone, messaging_object, document.get("extra_info"))
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
