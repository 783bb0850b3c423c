"""``PATCH /v2/{sid}/whatsapp/{waba_id}`` and ``…/numbers/{number}``: attach callback targets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from wagate.api import envelope, schemas
from wagate.api.deps import ApiKeyDep, GatewayDep, NumberPath, SidPath, WabaIdPath
from wagate.api.reference import example, request_body, responses
from wagate.api.routes.callback_profiles import parse_body
from wagate.domain import errors
from wagate.domain.tenancy import ApiVersion

router = APIRouter()
TAG = "WhatsApp accounts and numbers"


class WabaPatch(BaseModel):
    """Which profile gets the WABA's resumable-media status callbacks (null detaches)."""

    model_config = ConfigDict(extra="forbid")

    callback_profile_id: str | None = Field(description="A profile of the account, or null.")


class NumberPatch(BaseModel):
    """A number's message-status profile, incoming-message profile and/or webhook push URL
    (null detaches)."""

    model_config = ConfigDict(extra="forbid")

    callback_profile_id: str | None = Field(
        None, description="Gets the status callbacks of the number's messages; null detaches."
    )
    incoming_callback_profile_id: str | None = Field(
        None,
        description="Gets the messages the number's users send (every type, with media_url "
        "for media); its template may use only the incoming placeholders. null detaches.",
    )
    webhook_url: str | None = Field(
        None,
        description="Gets the webhook pushes (statuses, and every message users send) as POST; "
        "null removes it.",
    )


_ERRORS: dict[int, dict[str, Any]] = {
    400: {"Incorrect payload": example(envelope.invalid_payload({"webhook_url": "…"}))},
    401: {
        "Unauthorized": example(envelope.for_error(errors.AuthenticationFailed())),
        "Wrong account": example(envelope.for_error(errors.WhatsAppNotEnabled())),
        "Unauthorized WABA": example(envelope.for_error(errors.WabaNotFound())),
        "Unauthorized WABA version": example(envelope.for_error(errors.WabaWrongVersion())),
    },
    404: {
        "No such profile": example(
            envelope.for_error(errors.NotFound("no callback profile stage_c466…"))
        ),
        "No such number": example(
            envelope.for_error(errors.NotFound("number 15550783881 is not in WABA 15044…"))
        ),
    },
    500: {"Internal Server Error": example(envelope.internal_error())},
    503: {"Database unavailable": example(envelope.for_error(errors.DatabaseUnavailable()))},
}
_PROFILE_ID = "stage_c466af67-1ab6-4f35-9a7b-9358952c9b19"


@router.patch(
    "/v2/{sid}/whatsapp/{waba_id}",
    tags=[TAG],
    summary="Attach a profile to a WABA",
    responses=responses(
        (200, schemas.envelope(schemas.WabaTargets, "WabaTargetsEnvelope", "WA200",
                               "Request Processed Successfully"),
         "The WABA's profile as it now is."),
        _ERRORS,
    ),
    openapi_extra=request_body(
        WabaPatch,
        {"Attach": {"callback_profile_id": _PROFILE_ID}, "Detach": {"callback_profile_id": None}},
        "The profile that gets the WABA's resumable-media status callbacks (seed 000).",
    ),
)  # fmt: skip
async def patch_waba(
    sid: SidPath, waba_id: WabaIdPath, request: Request, gateway: GatewayDep, api_key: ApiKeyDep
) -> Response:
    """Attach a callback profile to the WABA: it gets every upload's UPLOADED, FAILED, EXPIRED."""
    await gateway.tenancy.authorize_waba(sid, api_key, waba_id, api_version=ApiVersion.V2)
    data: WabaPatch = await parse_body(request, WabaPatch)
    await gateway.profiles.attach_to_waba(sid, waba_id, data.callback_profile_id)
    return envelope.ok({"waba_id": waba_id, "callback_profile_id": data.callback_profile_id})


@router.patch(
    "/v2/{sid}/whatsapp/{waba_id}/numbers/{number}",
    tags=[TAG],
    summary="Attach a profile or a webhook URL to a number",
    responses=responses(
        (200, schemas.envelope(schemas.NumberTargets, "NumberTargetsEnvelope", "WA200",
                               "Request Processed Successfully"),
         "What the number now has, and the secret that signs its pushes."),
        _ERRORS,
    ),
    openapi_extra=request_body(
        NumberPatch,
        {
            "Both": {"callback_profile_id": _PROFILE_ID,
                     "webhook_url": "https://example.com/webhooks/whatsapp"},
            "Incoming messages": {"incoming_callback_profile_id": _PROFILE_ID},
            "Webhook only": {"webhook_url": "https://example.com/webhooks/whatsapp"},
            "Remove the webhook URL": {"webhook_url": None},
        },
        "A field left out stays as it is; null removes it.",
        required=False,
    ),
)  # fmt: skip
async def patch_number(
    sid: SidPath,
    waba_id: WabaIdPath,
    number: NumberPath,
    request: Request,
    gateway: GatewayDep,
    api_key: ApiKeyDep,
) -> Response:
    """Attach callback profiles (seed 002 status callbacks, incoming messages) and/or a
    webhook URL (seed 003).

    The answer carries the number's ``webhook_secret``: it signs the pushes to
    ``webhook_url`` and the callbacks to its messages' ``callback_url``.
    """
    await gateway.tenancy.authorize_waba(sid, api_key, waba_id, api_version=ApiVersion.V2)
    data: NumberPatch = await parse_body(request, NumberPatch)
    sent = data.model_fields_set
    phone, secret = await gateway.profiles.attach_to_number(
        sid,
        waba_id,
        number,
        profile_id=data.callback_profile_id,
        webhook_url=data.webhook_url,
        clear_profile="callback_profile_id" in sent and data.callback_profile_id is None,
        clear_webhook="webhook_url" in sent and data.webhook_url is None,
        incoming_profile_id=data.incoming_callback_profile_id,
        clear_incoming_profile="incoming_callback_profile_id" in sent
        and data.incoming_callback_profile_id is None,
    )
    return envelope.ok(
        {
            "number": number,
            "callback_profile_id": phone.callback_profile_id,
            "incoming_callback_profile_id": phone.incoming_callback_profile_id,
            "webhook_url": phone.webhook_url,
            "webhook_secret": secret,
        }
    )
