"""``/v1/{sid}/callback/profiles``: customers' callback profiles."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import Response

from wagate.api import platform, schemas
from wagate.api.deps import ApiKeyDep, GatewayDep, ProfileIdPath, SidPath
from wagate.api.paging import PAGE_PARAMETERS, page_params, parse_time
from wagate.api.reference import example, query, request_body, responses
from wagate.domain import errors
from wagate.domain.callbacks import CallbackProfile, ProfileStatus
from wagate.services.profiles import ProfileChanges

router = APIRouter()
BASE = "/v1/{sid}/callback/profiles"


TAG = "Callback profiles"
_TITLE = "A name: 3 to 255 letters, digits, spaces, '-' or '_'."
_TITLE_PATTERN = "^[A-Za-z0-9 _-]{3,255}$"
_METHOD = "GET (values in the URL's query) or POST (values in a JSON body)."
_URL = (
    "The endpoint, http or https. For GET, its query is the template: "
    "`?status=<status>&file_name=<file_name>`; each `<placeholder>` is replaced by the "
    "event's value, percent-encoded, and a parameter whose value is missing is left out."
)
_BODY = (
    "POST only: the JSON body template, whose string values are "
    '`"<placeholder>"`s, as an object or as JSON text.'
)
_HEADERS = (
    "Headers sent with every callback (not Host, Content-*, Connection, "
    "Transfer-Encoding or webhook-*)."
)


class ProfileIn(BaseModel):
    """The body of a create."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(description=_TITLE, json_schema_extra={"pattern": _TITLE_PATTERN})
    http_method: str = Field(description=_METHOD, json_schema_extra={"enum": ["GET", "POST"]})
    url: str = Field(description=_URL)
    body: str | dict[str, Any] | None = Field(None, description=_BODY)
    headers: dict[str, str] = Field(default_factory=dict, description=_HEADERS)


class ProfilePatch(BaseModel):
    """The body of a PATCH; every field optional."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, description=_TITLE)
    http_method: str | None = Field(None, description=_METHOD)
    url: str | None = Field(None, description=_URL)
    body: str | dict[str, Any] | None = Field(None, description=_BODY)
    headers: dict[str, str] | None = Field(None, description=_HEADERS + " Replaces them all.")
    status: int | None = Field(
        None,
        description="1 enables the profile (clearing its failure streak), 3 disables it.",
        json_schema_extra={"enum": [1, 3, None]},
    )
    rotate_secret: bool = Field(
        False, description="A new secret; the old one keeps signing beside it for 24 hours."
    )


class RecoverIn(BaseModel):
    """The body of a recover: replay failures since a time."""

    model_config = ConfigDict(extra="forbid")

    since: datetime | int = Field(description="Epoch seconds or ISO 8601.")
    dry_run: bool = Field(False, description="Only count what would be replayed.")


SEED_000_GET = {
    "title": "media status GET",
    "http_method": "GET",
    "url": "https://example.com/callbacks/media?status=<status>"
    "&uploaded_file_handle=<uploaded_file_handle>&file_name=<file_name>&file_link=<file_link>"
    "&resumable_media_id=<resumable_media_id>&waba_id=<waba_id>&company_id=<company_id>"
    "&field=<field>&time=<time>&callback_profile_id=<callback_profile_id>",
}
SEED_000_POST = {
    "title": "media status POST",
    "http_method": "POST",
    "url": "https://example.com/callbacks/media",
    "body": {
        name: f"<{name}>"
        for name in (
            "status", "uploaded_file_handle", "file_name", "file_link", "resumable_media_id",
            "waba_id", "company_id", "field", "time", "callback_profile_id",
        )
    },
}  # fmt: skip
SEED_002_GET = {
    "title": "message status GET",
    "http_method": "GET",
    "url": "https://example.com/callbacks/messages?id=<id>&custom_response=<custom_response>"
    "&timestamp=<timestamp>&mobile=<mobile>&message=<message>&status=<status>"
    "&phone_number=<phone_number>&error=<error>&error_code=<error_code>&ref=<ref>&ref1=<ref1>"
    "&ref2=<ref2>&price=<price>",
}
_NOT_FOUND = "Callback profile not found"
_UNAUTHORIZED = {"Unauthorized": example(platform.for_error(errors.AuthenticationFailed(), ""))}
_MISSING = {
    "Not found": example(
        platform.for_error(errors.NotFound("no callback profile stage_c466…"), _NOT_FOUND)
    )
}
_FAILED = {
    "Internal error": example(platform.for_error(errors.WagateError(), "")),
}
_UNAVAILABLE = {
    "Database unavailable": example(platform.for_error(errors.DatabaseUnavailable(), ""))
}
_INVALID = {
    "Invalid request": example(
        platform.bad_request({"http_method": "http_method must be GET or POST"})
    )
}
_PROFILE = schemas.envelope(
    schemas.Profile, "ProfileEnvelope", "RBC200", "Request processed successfully"
)


async def parse_body(request: Request, model: type[Any]) -> Any:
    """The request's JSON body as ``model``, or :class:`InvalidPayload` naming the problems."""
    try:
        raw = await request.body()
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        details = {
            ".".join(str(p) for p in error["loc"]) or "body": str(error["msg"])
            for error in exc.errors()
        }
        raise errors.InvalidPayload(details) from None


def _template_text(body: str | dict[str, Any] | None) -> str | None:
    if body is None or isinstance(body, str):
        return body or None
    return json.dumps(body, ensure_ascii=False)


def profile_to_wire(profile: CallbackProfile, *, with_secret: bool = False) -> dict[str, Any]:
    """A profile as the API shows it."""
    wire: dict[str, Any] = {
        "profile_id": profile.id,
        "title": profile.title,
        "http_method": profile.http_method,
        "url": profile.url,
        "body": profile.body,
        "headers": profile.headers,
        "status": int(profile.status),
        "created_at": profile.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": profile.updated_at.isoformat().replace("+00:00", "Z"),
    }
    if with_secret:
        wire["secret"] = profile.secret
    return wire


@router.post(
    BASE,
    status_code=201,
    tags=[TAG],
    summary="Create a profile",
    responses=responses(
        (201, schemas.envelope(schemas.Profile, "ProfileCreatedEnvelope", "RBC024",
                               "Callback profile created successfully."),
         "Created: the profile with its id and signing secret."),
        {400: _INVALID, 401: _UNAUTHORIZED, 500: _FAILED, 503: _UNAVAILABLE},
    ),
    openapi_extra=request_body(
        ProfileIn,
        {
            "Resumable media, GET (seed 000)": SEED_000_GET,
            "Resumable media, POST (seed 000)": SEED_000_POST,
            "Message status, GET (seed 002)": SEED_002_GET,
        },
        "How the callbacks are sent.",
    ),
)  # fmt: skip
async def create_profile(
    sid: SidPath, request: Request, gateway: GatewayDep, api_key: ApiKeyDep
) -> Response:
    """Create a profile; answers RBC024 with its id and signing secret.

    Attach it to a WABA (resumable-media status) or a number (message status)
    with the PATCH endpoints of /v2.
    """
    await gateway.tenancy.authenticate(sid, api_key)
    data: ProfileIn = await parse_body(request, ProfileIn)
    profile = await gateway.profiles.create(
        sid,
        title=data.title,
        http_method=data.http_method,
        url=data.url,
        body=_template_text(data.body),
        headers=data.headers,
    )
    return platform.created(
        profile_to_wire(profile, with_secret=True),
        "RBC024",
        "Callback profile created successfully.",
    )


@router.get(
    BASE,
    tags=[TAG],
    summary="List profiles",
    responses=responses(
        (200, schemas.envelope(schemas.ProfilePage, "ProfilePageEnvelope", "RBC200",
                               "Request processed successfully"),
         "A page of profiles, oldest first, without their secrets."),
        {400: _INVALID, 401: _UNAUTHORIZED, 500: _FAILED, 503: _UNAVAILABLE},
    ),
    openapi_extra={
        "parameters": [
            query("title", {"type": "string"}, "Only profiles whose title contains this."),
            *PAGE_PARAMETERS,
        ]
    },
)  # fmt: skip
async def list_profiles(
    sid: SidPath, request: Request, gateway: GatewayDep, api_key: ApiKeyDep
) -> Response:
    """A page of profiles, optionally filtered by title."""
    await gateway.tenancy.authenticate(sid, api_key)
    limit, offset = page_params(request)
    title = request.query_params.get("title")
    page, total = await gateway.profiles.list(sid, title=title, limit=limit, offset=offset)
    return platform.ok(
        {
            "items": [profile_to_wire(p) for p in page],
            "total": total,
            "limit": limit,
            "offset": offset,
        }
    )


@router.get(
    BASE + "/{profile_id}",
    tags=[TAG],
    summary="Show a profile",
    responses=responses(
        (200, _PROFILE, "The profile, with its signing secret."),
        {401: _UNAUTHORIZED, 404: _MISSING, 500: _FAILED, 503: _UNAVAILABLE},
    ),
)
async def get_profile(
    sid: SidPath, profile_id: ProfileIdPath, gateway: GatewayDep, api_key: ApiKeyDep
) -> Response:
    """One profile, with its signing secret."""
    await gateway.tenancy.authenticate(sid, api_key)
    profile = await gateway.profiles.get(sid, profile_id)
    return platform.ok(profile_to_wire(profile, with_secret=True))


@router.patch(
    BASE + "/{profile_id}",
    tags=[TAG],
    summary="Change a profile",
    responses=responses(
        (200, _PROFILE, "The profile as it now is; with its secret after a rotation."),
        {400: _INVALID, 401: _UNAUTHORIZED, 404: _MISSING, 500: _FAILED, 503: _UNAVAILABLE},
    ),
    openapi_extra=request_body(
        ProfilePatch,
        {
            "Disable": {"status": 3},
            "Enable": {"status": 1},
            "Rotate the secret": {"rotate_secret": True},
            "Move the endpoint": {"url": "https://example.com/v2/callbacks/media"},
        },
        "The fields to change; the others stay as they are.",
        required=False,
    ),
)
async def patch_profile(
    sid: SidPath, profile_id: ProfileIdPath, request: Request, gateway: GatewayDep,
    api_key: ApiKeyDep,
) -> Response:  # fmt: skip
    """Change fields, enable (1) or disable (3), or rotate the secret (old one valid 24 h).

    A new method, URL or body also applies to the deliveries still waiting.
    """
    await gateway.tenancy.authenticate(sid, api_key)
    data: ProfilePatch = await parse_body(request, ProfilePatch)
    status = None
    if data.status is not None:
        try:
            status = ProfileStatus(data.status)
        except ValueError:
            raise errors.InvalidPayload({"status": "status must be 1 or 3"}) from None
    profile = await gateway.profiles.update(
        sid,
        profile_id,
        ProfileChanges(
            title=data.title,
            http_method=data.http_method,
            url=data.url,
            body=_template_text(data.body),
            headers=data.headers,
            status=status,
            rotate_secret=data.rotate_secret,
        ),
    )
    return platform.ok(profile_to_wire(profile, with_secret=data.rotate_secret))


@router.delete(
    BASE + "/{profile_id}",
    tags=[TAG],
    summary="Delete a profile",
    responses=responses(
        (200, schemas.envelope(schemas.ProfileDeleted, "ProfileDeletedEnvelope", "RBC200",
                               "Request processed successfully"),
         "Deleted: detached from its WABAs and numbers, pending deliveries cancelled."),
        {401: _UNAUTHORIZED, 404: _MISSING, 500: _FAILED, 503: _UNAVAILABLE},
    ),
)  # fmt: skip
async def delete_profile(
    sid: SidPath, profile_id: ProfileIdPath, gateway: GatewayDep, api_key: ApiKeyDep
) -> Response:
    """Delete a profile; its pending deliveries are cancelled."""
    await gateway.tenancy.authenticate(sid, api_key)
    await gateway.profiles.delete(sid, profile_id)
    return platform.ok({"profile_id": profile_id})


@router.post(
    BASE + "/{profile_id}/recover",
    tags=[TAG],
    summary="Replay a profile's failures",
    responses=responses(
        (200, schemas.envelope(schemas.Recovered, "RecoveredEnvelope", "RBC200",
                               "Request processed successfully"),
         "How many deliveries were queued again (or would be, with dry_run)."),
        {400: _INVALID, 401: _UNAUTHORIZED, 404: _MISSING, 500: _FAILED, 503: _UNAVAILABLE},
    ),
    openapi_extra=request_body(
        RecoverIn,
        {"Since a time": {"since": "2025-02-07T09:00:00Z"},
         "Count only": {"since": 1738918800, "dry_run": True}},
        "Which failures to replay: those created since a time.",
    ),
)  # fmt: skip
async def recover_profile(
    sid: SidPath, profile_id: ProfileIdPath, request: Request, gateway: GatewayDep,
    api_key: ApiKeyDep,
) -> Response:  # fmt: skip
    """Replay every failed or dead delivery of the profile since a time (or count them).

    For an endpoint that was down: once it is back, its deliveries that died or
    are still failing are sent again at once.
    """
    await gateway.tenancy.authenticate(sid, api_key)
    data: RecoverIn = await parse_body(request, RecoverIn)
    since = parse_time(data.since)
    count = await gateway.deliveries.recover(sid, profile_id, since, dry_run=data.dry_run)
    return platform.ok({"profile_id": profile_id, "count": count, "dry_run": data.dry_run})
