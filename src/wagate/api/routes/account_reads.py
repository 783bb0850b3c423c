"""What a customer reads of its own account: its WABAs, its numbers, a message's statuses.

``GET /v2/{sid}/whatsapp/wabas``, ``…/numbers`` (the account's) and
``…/{waba_id}/numbers`` (a WABA's) answer pages (WABAs oldest first, numbers in
number order);
``GET …/{phone_number}/messages`` answers one sent message (``?id=``, ours or
Meta's wamid) or those sent with a ``ref`` (``?ref=``, newest first), each
with every status Meta reported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from starlette.responses import Response

from wagate.api import envelope, schemas
from wagate.api.deps import ApiKeyDep, GatewayDep, NumberPath, SidPath, WabaIdPath
from wagate.api.gateway import Gateway
from wagate.api.paging import PAGE_PARAMETERS, page_params
from wagate.api.reference import example, query, responses
from wagate.api.routes.messages import number_of_account, unknown_number
from wagate.domain import errors
from wagate.domain.activity import MessageView
from wagate.domain.listings import number_fields, utc_text, waba_fields
from wagate.domain.tenancy import ApiVersion
from wagate.services.activity import ActivityService
from wagate.services.directory import DirectoryService

router = APIRouter()
_Route = TypeVar("_Route", bound=Callable[..., Any])
TAG = "WhatsApp accounts and numbers"
_OK = "Request Processed Successfully"
_AUTH_ERRORS = {
    "Unauthorized": example(envelope.for_error(errors.AuthenticationFailed())),
    "Wrong account": example(envelope.for_error(errors.WhatsAppNotEnabled())),
}
_COMMON = {
    400: {"Bad limit": example(envelope.invalid_payload({"limit": "must be between 1 and 100"}))},
    500: {"Internal Server Error": example(envelope.internal_error())},
    503: {"Database unavailable": example(envelope.for_error(errors.DatabaseUnavailable()))},
}
_WAMID = "wamid.HBgNOTE5ODc2NTQzMjEwFQIAERgSMjhFNzI3MUZENUZBNDBCRDVEAA=="
_MESSAGE_EXAMPLE = {
    "id": "ad97e2f3-c923-4b1e-b3a3-0b1d2e3f4d97:0",
    "wamid": _WAMID,
    "to": "919876543210",
    "type": "template",
    "template_name": "order_update",
    "ref": "order-A42",
    "ref1": None,
    "ref2": None,
    "status": "read",
    "price": "0.0107",
    "created_at": "2026-12-07T09:18:10.123456Z",
    "statuses": [
        {"status": "sent", "timestamp": "1765099091", "forwarded": True,
         "recorded_at": "2026-12-07T09:18:11.402113Z"},
        {"status": "delivered", "timestamp": "1765099092", "forwarded": True,
         "recorded_at": "2026-12-07T09:18:12.630008Z"},
        {"status": "read", "timestamp": "1765099130", "forwarded": True,
         "recorded_at": "2026-12-07T09:18:50.114520Z"},
    ],
}  # fmt: skip


def message_to_wire(view: MessageView) -> dict[str, Any]:
    """A sent message with its status timeline, as the API answers it."""
    message = view.message
    statuses = []
    for recorded in view.statuses:
        status: dict[str, Any] = {
            "status": recorded.status,
            "timestamp": recorded.meta_timestamp,
            "forwarded": recorded.forwarded,
        }
        if isinstance(recorded.payload.get("errors"), list):
            status["errors"] = recorded.payload["errors"]
        status["recorded_at"] = utc_text(recorded.created_at)
        statuses.append(status)
    return {
        "id": message.id,
        "wamid": message.wamid,
        "to": message.recipient,
        "recipient": message.recipient_user_id,
        "type": message.type,
        "template_name": message.template_name,
        "ref": message.ref,
        "ref1": message.ref1,
        "ref2": message.ref2,
        "status": message.current_status,
        "price": view.price,
        "created_at": utc_text(message.created_at),
        "statuses": statuses,
    }


async def _account(gateway: Gateway, sid: str, api_key: str | None) -> None:
    """The caller's key and WhatsApp plan, checked in the provider's order."""
    account = await gateway.tenancy.authenticate(sid, api_key)
    if not account.whatsapp_enabled:
        raise errors.WhatsAppNotEnabled()


def _page(items: list[dict[str, Any]], total: int, limit: int, offset: int) -> Response:
    return envelope.ok({"items": items, "total": total, "limit": limit, "offset": offset})


@router.get(
    "/v2/{sid}/whatsapp/wabas",
    tags=[TAG],
    summary="List the account's WABAs",
    responses=responses(
        (200, schemas.envelope(schemas.WabaPage, "WabaPageEnvelope", "WA200", _OK),
         "A page of the account's WABAs, oldest first."),
        {**_COMMON, 401: _AUTH_ERRORS},
    ),
    openapi_extra={"parameters": PAGE_PARAMETERS},
)  # fmt: skip
async def list_wabas(
    sid: SidPath, request: Request, gateway: GatewayDep, api_key: ApiKeyDep
) -> Response:
    """The account's WABAs, with the API version each is used on and its callback profile."""
    await _account(gateway, sid, api_key)
    limit, offset = page_params(request)
    page, total = await DirectoryService(gateway.database).wabas(sid, limit=limit, offset=offset)
    return _page([waba_fields(waba) for waba in page], total, limit, offset)


_NUMBER_ANSWERS = responses(
    (200, schemas.envelope(schemas.NumberPage, "NumberPageEnvelope", "WA200", _OK),
     "A page of numbers, in number order."),
    {
        **_COMMON,
        401: {
            **_AUTH_ERRORS,
            "Unauthorized WABA": example(envelope.for_error(errors.WabaNotFound())),
        },
    },
)  # fmt: skip


def _numbers_route(path: str, summary: str) -> Callable[[_Route], _Route]:
    return router.get(
        path,
        tags=[TAG],
        summary=summary,
        responses=_NUMBER_ANSWERS,
        openapi_extra={"parameters": PAGE_PARAMETERS},
    )


async def _numbers_page(
    gateway: Gateway, sid: str, waba_id: str | None, request: Request
) -> Response:
    limit, offset = page_params(request)
    page, total = await DirectoryService(gateway.database).numbers(
        sid, waba_id, limit=limit, offset=offset
    )
    return _page([number_fields(phone) for phone in page], total, limit, offset)


@_numbers_route("/v2/{sid}/whatsapp/numbers", "List the account's numbers")
async def list_account_numbers(
    sid: SidPath, request: Request, gateway: GatewayDep, api_key: ApiKeyDep
) -> Response:
    """Every WhatsApp number of the account, with where its callbacks and pushes go."""
    await _account(gateway, sid, api_key)
    return await _numbers_page(gateway, sid, None, request)


@_numbers_route("/v2/{sid}/whatsapp/{waba_id}/numbers", "List a WABA's numbers")
async def list_waba_numbers(
    sid: SidPath, waba_id: WabaIdPath, request: Request, gateway: GatewayDep, api_key: ApiKeyDep
) -> Response:
    """The WhatsApp numbers of one of the account's WABAs."""
    await gateway.tenancy.authorize_waba(sid, api_key, waba_id, api_version=ApiVersion.V2)
    return await _numbers_page(gateway, sid, waba_id, request)


_MESSAGE_ANSWERS = responses(
    (200, schemas.envelope(schemas.MessageLookedUp | schemas.MessageLookupPage,
                           "MessageLookupEnvelope", "WA200", _OK),
     "One message (?id=) or a page of those sent with a ref (?ref=), newest first; each "
     "with every status Meta reported, in the order recorded."),
    {
        **_COMMON,
        400: {"Neither id nor ref": example(envelope.invalid_payload(
            {"id": "give id (or wamid) or ref"}))},
        401: {**_AUTH_ERRORS, "Unknown number": example(unknown_number())},
        404: {"No such message": example(envelope.for_error(errors.NotFound(
            "no message ad97e2f3-c923-4b1e-b3a3-0b1d2e3f4d97:0 of number 15550783881")))},
    },
)  # fmt: skip
_MESSAGE_ANSWERS[200]["content"] = {
    "application/json": {
        "examples": {
            "One message (?id=)": {
                "value": {"code": "WA200", "message": _OK, "data": _MESSAGE_EXAMPLE, "error": {}}
            },
            "Sent with a ref (?ref=order-A42)": {
                "value": {
                    "code": "WA200",
                    "message": _OK,
                    "data": {"items": [_MESSAGE_EXAMPLE], "total": 1, "limit": 20, "offset": 0},
                    "error": {},
                }
            },
        }
    }
}


@router.get(
    "/v2/{sid}/whatsapp/{phone_number}/messages",
    tags=["Messages"],
    summary="Look a sent message up, with its statuses",
    responses=_MESSAGE_ANSWERS,
    openapi_extra={
        "parameters": [
            query("id", {"type": "string", "maxLength": 255},
                  "The message's id (the send's answer) or its wamid."),
            query("ref", {"type": "string", "maxLength": 1000},
                  "The messages sent with this extra_info.ref."),
            *PAGE_PARAMETERS,
        ],
    },
)  # fmt: skip
async def get_messages(
    sid: SidPath, phone_number: NumberPath, request: Request, gateway: GatewayDep,
    api_key: ApiKeyDep,
) -> Response:  # fmt: skip
    """A sent message and its status timeline (sent, delivered, read, failed, deleted).

    ``forwarded`` says whether a status became callbacks: one that arrives after
    a later status (a ``delivered`` after ``read``) is recorded but not sent on.
    """
    phone = await number_of_account(gateway, sid, phone_number, api_key)
    if isinstance(phone, Response):
        return phone
    activity = ActivityService(gateway.database)
    key = request.query_params.get("id")
    if key:
        view = await activity.message_of_number(sid, phone.number, key)
        return envelope.ok(message_to_wire(view))
    ref = request.query_params.get("ref")
    if not ref:
        raise errors.InvalidPayload({"id": "give id (or wamid) or ref"})
    limit, offset = page_params(request)
    views, total = await activity.messages_with_ref(
        sid, phone.number, ref, limit=limit, offset=offset
    )
    return _page([message_to_wire(view) for view in views], total, limit, offset)
