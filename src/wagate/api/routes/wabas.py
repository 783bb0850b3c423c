"""``PATCH /v2/{sid}/whatsapp/{waba_id}`` and ``…/numbers/{number}``: attach callback targets."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from wagate.api import envelope
from wagate.api.deps import GatewayDep
from wagate.api.routes.callback_profiles import parse_body
from wagate.domain.tenancy import ApiVersion

router = APIRouter()


class WabaPatch(BaseModel):
    """Which profile gets the WABA's resumable-media status callbacks (null detaches)."""

    model_config = ConfigDict(extra="forbid")

    callback_profile_id: str | None


class NumberPatch(BaseModel):
    """A number's message-status profile and/or webhook push URL (null detaches)."""

    model_config = ConfigDict(extra="forbid")

    callback_profile_id: str | None = None
    webhook_url: str | None = None


@router.patch("/v2/{sid}/whatsapp/{waba_id}")
async def patch_waba(sid: str, waba_id: str, request: Request, gateway: GatewayDep) -> Response:
    """Attach a callback profile to the WABA."""
    await gateway.tenancy.authorize_waba(
        sid, request.headers.get("api-key"), waba_id, api_version=ApiVersion.V2
    )
    data: WabaPatch = await parse_body(request, WabaPatch)
    await gateway.profiles.attach_to_waba(sid, waba_id, data.callback_profile_id)
    return envelope.ok({"waba_id": waba_id, "callback_profile_id": data.callback_profile_id})


@router.patch("/v2/{sid}/whatsapp/{waba_id}/numbers/{number}")
async def patch_number(
    sid: str, waba_id: str, number: str, request: Request, gateway: GatewayDep
) -> Response:
    """Attach a callback profile and/or a webhook URL to a number; what it now has."""
    await gateway.tenancy.authorize_waba(
        sid, request.headers.get("api-key"), waba_id, api_version=ApiVersion.V2
    )
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
    )
    return envelope.ok(
        {
            "number": number,
            "callback_profile_id": phone.callback_profile_id,
            "webhook_url": phone.webhook_url,
            "webhook_secret": secret,
        }
    )
