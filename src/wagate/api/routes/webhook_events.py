"""``PUT``/``GET /v2/{sid}/whatsapp/{waba_id}/webhook_events`` and
``…/whatsapp/numbers/{number}/webhook_events``: the event types a WABA or a number
opts into (the catalogue of :mod:`wagate.domain.webhook_events`).

The events (echoes, opt-outs, template and account updates, ``played``,
value-level ``errors``) go to the number's ``webhook_url``. A number's own
list replaces its WABA's; ``null`` removes it, so that the WABA's applies.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from wagate.api import envelope, schemas
from wagate.api.deps import ApiKeyDep, GatewayDep, NumberPath, SidPath, WabaIdPath
from wagate.api.gateway import Gateway
from wagate.api.reference import example, request_body, responses
from wagate.api.routes.callback_profiles import parse_body
from wagate.domain import errors
from wagate.domain.tenancy import ApiVersion
from wagate.domain.webhook_events import CATALOGUE
from wagate.services.webhook_subscriptions import Subscription, WebhookSubscriptions

router = APIRouter()
TAG = "Webhook events"
_OK = "Request Processed Successfully"
_TYPES = ", ".join(f"`{name}`" for name in CATALOGUE)


class WebhookEventsPut(BaseModel):
    """The event types to opt into: names of the catalogue, or ``*`` for all (null: none
    of one's own)."""

    model_config = ConfigDict(extra="forbid")

    event_types: list[str] | None = Field(
        description=f"Any of {_TYPES}, or `*` (every type, including fields Meta adds "
        "later). An empty list opts out of all; null removes the list (a number then "
        "takes its WABA's).",
        max_length=64,
    )


class WebhookEvents(schemas.Document):
    """What a WABA or a number opts into, and what applies to it."""

    waba_id: str | None = Field(None, description="The WABA (a WABA's subscription).")
    number: str | None = Field(None, description="The number (a number's subscription).")
    event_types: list[str] | None = Field(description="Its own list; null when it has none.")
    effective: list[str] = Field(description="What applies: a number's own list, else its WABA's.")


def _wire(subscription: Subscription) -> dict[str, Any]:
    key = "waba_id" if subscription.owner_kind.value == "waba" else "number"
    own = subscription.event_types
    return {
        key: subscription.owner_id,
        "event_types": list(own) if own is not None else None,
        "effective": list(subscription.effective),
    }


_ANSWER = (
    200,
    schemas.envelope(WebhookEvents, "WebhookEventsEnvelope", "WA200", _OK),
    "The subscription as it now is.",
)
_ERRORS: dict[int, dict[str, Any]] = {
    400: {
        "Unknown type": example(
            envelope.invalid_payload({"event_types": "unknown event types ['nope']; see the "
                                                     "catalogue"})
        )
    },
    401: {
        "Unauthorized": example(envelope.for_error(errors.AuthenticationFailed())),
        "Wrong account": example(envelope.for_error(errors.WhatsAppNotEnabled())),
        "Unauthorized WABA": example(envelope.for_error(errors.WabaNotFound())),
    },
    404: {
        "No such number": example(
            envelope.for_error(errors.NotFound("number 15550783881 is not the account's"))
        )
    },
    500: {"Internal Server Error": example(envelope.internal_error())},
    503: {"Database unavailable": example(envelope.for_error(errors.DatabaseUnavailable()))},
}  # fmt: skip
_EXAMPLES = {
    "Opt-outs and template updates": {
        "event_types": ["user_preferences", "message_template_status_update",
                        "template_category_update"]
    },
    "Everything": {"event_types": ["*"]},
    "Nothing": {"event_types": []},
    "Take the WABA's (numbers)": {"event_types": None},
}  # fmt: skip


async def _account(gateway: Gateway, sid: str, api_key: str | None) -> None:
    account = await gateway.tenancy.authenticate(sid, api_key)
    if not account.whatsapp_enabled:
        raise errors.WhatsAppNotEnabled()


@router.get(
    "/v2/{sid}/whatsapp/{waba_id}/webhook_events",
    tags=[TAG],
    summary="The event types a WABA opts into",
    responses=responses(_ANSWER, _ERRORS),
)
async def get_waba_events(
    sid: SidPath, waba_id: WabaIdPath, gateway: GatewayDep, api_key: ApiKeyDep
) -> Response:
    """The WABA's event types: its numbers take them unless they have their own."""
    await gateway.tenancy.authorize_waba(sid, api_key, waba_id, api_version=ApiVersion.V2)
    return envelope.ok(_wire(await WebhookSubscriptions(gateway.database).of_waba(sid, waba_id)))


@router.put(
    "/v2/{sid}/whatsapp/{waba_id}/webhook_events",
    tags=[TAG],
    summary="Opt a WABA into event types",
    responses=responses(_ANSWER, _ERRORS),
    openapi_extra=request_body(
        WebhookEventsPut, _EXAMPLES, "The event types every number of the WABA takes."
    ),
)
async def put_waba_events(
    sid: SidPath, waba_id: WabaIdPath, request: Request, gateway: GatewayDep, api_key: ApiKeyDep
) -> Response:
    """Set the event types the WABA's numbers take (those with no list of their own)."""
    await gateway.tenancy.authorize_waba(sid, api_key, waba_id, api_version=ApiVersion.V2)
    data: WebhookEventsPut = await parse_body(request, WebhookEventsPut)
    subscription = await WebhookSubscriptions(gateway.database).set_for_waba(
        sid, waba_id, data.event_types
    )
    return envelope.ok(_wire(subscription))


@router.get(
    "/v2/{sid}/whatsapp/numbers/{number}/webhook_events",
    tags=[TAG],
    summary="The event types a number opts into",
    responses=responses(_ANSWER, _ERRORS),
)
async def get_number_events(
    sid: SidPath, number: NumberPath, gateway: GatewayDep, api_key: ApiKeyDep
) -> Response:
    """The number's own event types (null when it takes its WABA's) and what applies."""
    await _account(gateway, sid, api_key)
    return envelope.ok(_wire(await WebhookSubscriptions(gateway.database).of_number(sid, number)))


@router.put(
    "/v2/{sid}/whatsapp/numbers/{number}/webhook_events",
    tags=[TAG],
    summary="Opt a number into event types",
    responses=responses(_ANSWER, _ERRORS),
    openapi_extra=request_body(
        WebhookEventsPut, _EXAMPLES, "The event types the number takes, instead of its WABA's."
    ),
)
async def put_number_events(
    sid: SidPath, number: NumberPath, request: Request, gateway: GatewayDep, api_key: ApiKeyDep
) -> Response:
    """Set the number's own event types; null lets its WABA's apply again."""
    await _account(gateway, sid, api_key)
    data: WebhookEventsPut = await parse_body(request, WebhookEventsPut)
    subscription = await WebhookSubscriptions(gateway.database).set_for_number(
        sid, number, data.event_types
    )
    return envelope.ok(_wire(subscription))
