"""``POST /v2/{sid}/whatsapp/{phone_number}/messages``: send a message through Meta."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from wagate.api import envelope, schemas
from wagate.api.deps import ApiKeyDep, GatewayDep, NumberPath, SidPath
from wagate.api.gateway import Gateway
from wagate.api.reference import example, request_body, responses
from wagate.api.request_log import bind_ids
from wagate.domain import errors
from wagate.domain.message_types import SEND_TYPES
from wagate.domain.tenancy import PhoneNumber
from wagate.services.messages import MAX_IDEMPOTENCY_KEY_LENGTH

router = APIRouter()
UNKNOWN_NUMBER = "Phone number is not present or does not belong to the account."


class MessagingObject(BaseModel):
    """A WhatsApp Cloud API message object, checked and sent to Meta as it is.

    ``messaging_product`` and ``recipient_type`` are added when missing. The
    object named by ``type`` is required; ``context.message_id`` (a wamid)
    makes the message a reply.
    """

    model_config = ConfigDict(extra="allow")

    to: str | None = Field(
        None,
        description="The recipient's WhatsApp number; required unless recipient is given.",
        examples=["919876543210"],
    )
    recipient: str | None = Field(
        None,
        description="The recipient's business-scoped user id (BSUID) or parent BSUID, for a "
        "user known without a phone number; when to is given too, Meta sends to the number. "
        "Meta refuses a BSUID for some messages (error 131062): send those to the number.",
        examples=["US.13491208655302741918"],
    )
    type: str = Field(
        description="The message type; its object is the member of that name.",
        json_schema_extra={"enum": list(SEND_TYPES)},
    )
    text: dict[str, Any] | None = Field(None, description='{"body": "…", "preview_url": false}')
    template: dict[str, Any] | None = Field(
        None, description="name, language and components, as Meta takes them."
    )
    image: dict[str, Any] | None = Field(
        None, description='{"id": "<media id>"} or {"link": "https://…"}, and a caption.'
    )
    video: dict[str, Any] | None = Field(None, description="As image.")
    audio: dict[str, Any] | None = Field(None, description="id or link; no caption.")
    document: dict[str, Any] | None = Field(
        None, description="id or link, a caption and a filename."
    )
    sticker: dict[str, Any] | None = Field(None, description="id or link (image/webp).")
    interactive: dict[str, Any] | None = Field(
        None,
        description="type button (up to 3 reply buttons), list or cta_url, with body, "
        "optional header and footer, and action.",
    )
    location: dict[str, Any] | None = Field(
        None, description="latitude, longitude, and optional name and address."
    )
    contacts: list[dict[str, Any]] | None = Field(
        None, description="Contact cards, each with name.formatted_name."
    )
    reaction: dict[str, Any] | None = Field(
        None, description='{"message_id": "<wamid>", "emoji": "👍"} (empty emoji removes it).'
    )
    context: dict[str, Any] | None = Field(
        None, description='{"message_id": "<wamid>"}: the message this one replies to.'
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
        "query), signed with the number's webhook_secret. A private or loopback address is "
        "refused unless the operator allows it.",
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


def unknown_number() -> Response:
    """``401`` for a number that is not the account's."""
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
IMAGE_EXAMPLE = {
    "messaging_object": {
        "to": "919876543210",
        "type": "image",
        "image": {"id": "1037543291543636", "caption": "Your receipt"},
    },
    "extra_info": {"ref": "receipt-7"},
}
BUTTONS_EXAMPLE = {
    "messaging_object": {
        "to": "919876543210",
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Shall we deliver tomorrow?"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                    {"type": "reply", "reply": {"id": "no", "title": "No"}},
                ]
            },
        },
    },
}
REPLY_EXAMPLE = {
    "messaging_object": {
        "to": "919876543210",
        "type": "text",
        "text": {"body": "It ships today."},
        "context": {"message_id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="},
    },
}
META_ERROR_EXAMPLE = {
    "code": "WA400",
    "message": "(#100) Invalid parameter",
    "data": {},
    "error": {"code": 100, "type": "OAuthException", "message": "(#100) Invalid parameter",
              "fbtrace_id": "AbCdEf"},
}  # fmt: skip
META_THROTTLED_EXAMPLE = {
    "code": "WA429",
    "message": "(#130429) Rate limit hit",
    "data": {},
    "error": {"code": 130429, "type": "OAuthException", "message": "(#130429) Rate limit hit",
              "fbtrace_id": "AbCdEf"},
}  # fmt: skip
_ANSWERS = responses(
    (200, schemas.envelope(schemas.MessageSent, "MessageSentEnvelope", "WA200",
                           "Request Processed Successfully"),
     "Meta accepted the message."),
    {
        400: {
            "Incorrect payload": example(
                envelope.invalid_payload({"messaging_object.image.link": "must be an absolute "
                                          "http(s) URL"})
            ),
            "Refused by Meta": META_ERROR_EXAMPLE,
        },
        401: {
            "Unauthorized": example(envelope.for_error(errors.AuthenticationFailed())),
            "Wrong account": example(envelope.for_error(errors.WhatsAppNotEnabled())),
            "Unknown number": example(unknown_number()),
        },
        403: {"Refused by Meta": {**META_ERROR_EXAMPLE, "code": "WA403"}},
        404: {"Refused by Meta": {**META_ERROR_EXAMPLE, "code": "WA404"}},
        409: {"Key in use": example(envelope.for_error(errors.Conflict(
            "a request with Idempotency-Key 'order-42' is still under way")))},
        429: {"Throttled by Meta": META_THROTTLED_EXAMPLE},
        500: {"Internal Server Error": example(envelope.internal_error())},
        502: {"Meta failed": {**META_ERROR_EXAMPLE, "code": "WA502",
                              "message": "Service unavailable"}},
        503: {"Database unavailable": example(envelope.for_error(errors.DatabaseUnavailable()))},
    },
)  # fmt: skip
_ANSWERS[429]["description"] = (
    "Meta refused the send for its own throttling, and its error is passed on. A send over "
    "the number's rate is not refused: it is queued (202) and sent when allowed."
)
_ANSWERS[202] = {
    "model": schemas.envelope(
        schemas.MessageQueued, "MessageQueuedEnvelope", "WA202", "Request Processed Successfully"
    ),
    "description": "The number's send rate (or Meta's throttling) does not allow it now: it "
    "is queued, sent as soon as allowed, and has its status callbacks as usual; one not sent "
    "in time gets a failed callback.",
}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY_LENGTH},
    "description": "Retrying with the same key within 24 h answers the first request's answer "
    "again and sends nothing.",
}


@router.post(
    "/v2/{sid}/whatsapp/{phone_number}/messages",
    tags=["Messages"],
    summary="Send a message",
    responses=_ANSWERS,
    openapi_extra={
        **request_body(
            SendMessage,
            {
                "Template": TEMPLATE_EXAMPLE,
                "Text": TEXT_EXAMPLE,
                "Image": IMAGE_EXAMPLE,
                "Reply buttons": BUTTONS_EXAMPLE,
                "Reply": REPLY_EXAMPLE,
            },
            "The Cloud API message, and what to keep with it for its callbacks.",
        ),
        "parameters": [_IDEMPOTENCY_KEY],
    },
)
async def send_message(
    sid: SidPath, phone_number: NumberPath, request: Request, gateway: GatewayDep,
    api_key: ApiKeyDep,
) -> Response:  # fmt: skip
    """Send ``messaging_object`` (a Cloud API message of any type) with ``extra_info``.

    Meta's statuses about it (sent, delivered, read, failed, deleted) become
    status callbacks (to ``extra_info.callback_url``, the given
    ``callback_profile_id`` or the number's profile) and pushes to the number's
    ``webhook_url``. A send over the number's rate, or that Meta throttles, is
    answered 202 ``queued`` and sent when allowed. Other Meta 4xx answers are
    passed on with their status.
    """
    phone = await number_of_account(gateway, sid, phone_number, api_key)
    if isinstance(phone, Response):
        return phone
    document = await json_object(request)
    try:
        sent = await gateway.messages.send(
            phone,
            document.get("messaging_object"),
            document.get("extra_info"),
            request.headers.get("idempotency-key"),
        )
    except errors.MetaError as exc:
        return meta_error(exc)
    if sent.wamid is None:
        bind_ids(message_id=sent.id)
        return envelope.accepted(sent.id, "queued")
    bind_ids(message_id=sent.id, wamid=sent.wamid)
    return envelope.ok({"id": sent.id, "wamid": sent.wamid})


async def json_object(request: Request) -> dict[str, Any]:
    """The request's body, which must be a JSON object; :class:`InvalidPayload` if not."""
    try:
        document: Any = json.loads(await request.body() or b"null")
    except ValueError:
        raise errors.InvalidPayload({"payload": "the body is not JSON"}) from None
    if not isinstance(document, dict):
        raise errors.InvalidPayload({"payload": "the body must be a JSON object"})
    return document


async def number_of_account(
    gateway: Gateway, sid: str, phone_number: str, api_key: str | None
) -> PhoneNumber | Response:
    """The business number the caller may use, checked in the provider's order (key,
    WhatsApp plan, number); the ``401`` to answer when the number is not the account's."""
    account = await gateway.tenancy.authenticate(sid, api_key)
    if not account.whatsapp_enabled:
        raise errors.WhatsAppNotEnabled()
    try:
        return await gateway.messages.number_of(sid, phone_number)
    except errors.WabaNotFound:
        return unknown_number()


#: Meta's code for a message it sends only to a phone number, not to a BSUID.
BSUID_NOT_SUPPORTED = 131062
BSUID_NOT_SUPPORTED_MESSAGE = (
    "This message needs the user's phone number: Meta does not send it to a business-scoped "
    "user id (BSUID). Send it with messaging_object.to set to the user's phone number."
)


def meta_error(exc: errors.MetaError) -> Response:
    """Meta's refusal, passed on: its 4xx status (502 for anything else) and its error;
    for a BSUID where a phone number is needed (131062), what to do instead."""
    status = exc.status if exc.status and 400 <= exc.status < 500 else 502
    message = BSUID_NOT_SUPPORTED_MESSAGE if exc.code == BSUID_NOT_SUPPORTED else exc.message
    return envelope.envelope(
        status,
        f"WA{status}",
        message,
        {},
        {"code": exc.code, "type": exc.type, "message": exc.message, "fbtrace_id": exc.fbtrace_id},
    )
