"""``/v1/{sid}/callback/profiles``: customers' callback profiles."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import Response

from wagate.api import platform
from wagate.api.deps import GatewayDep
from wagate.api.paging import page_params, parse_time
from wagate.domain import errors
from wagate.domain.callbacks import CallbackProfile, ProfileStatus
from wagate.services.profiles import ProfileChanges

router = APIRouter()
BASE = "/v1/{sid}/callback/profiles"


class ProfileIn(BaseModel):
    """The body of a create."""

    model_config = ConfigDict(extra="forbid")

    title: str
    http_method: str
    url: str
    body: str | dict[str, Any] | None = None
    headers: dict[str, str] = Field(default_factory=dict)


class ProfilePatch(BaseModel):
    """The body of a PATCH; every field optional."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    http_method: str | None = None
    url: str | None = None
    body: str | dict[str, Any] | None = None
    headers: dict[str, str] | None = None
    status: int | None = None
    rotate_secret: bool = False


class RecoverIn(BaseModel):
    """The body of a recover: replay failures since a time."""

    model_config = ConfigDict(extra="forbid")

    since: datetime | int
    dry_run: bool = False


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


@router.post(BASE, status_code=201)
async def create_profile(sid: str, request: Request, gateway: GatewayDep) -> Response:
    """Create a profile; answers RBC024 with its id and signing secret."""
    await gateway.tenancy.authenticate(sid, request.headers.get("api-key"))
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


@router.get(BASE)
async def list_profiles(sid: str, request: Request, gateway: GatewayDep) -> Response:
    """A page of profiles, optionally filtered by title."""
    await gateway.tenancy.authenticate(sid, request.headers.get("api-key"))
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


@router.get(BASE + "/{profile_id}")
async def get_profile(sid: str, profile_id: str, request: Request, gateway: GatewayDep) -> Response:
    """One profile, with its signing secret."""
    await gateway.tenancy.authenticate(sid, request.headers.get("api-key"))
    profile = await gateway.profiles.get(sid, profile_id)
    return platform.ok(profile_to_wire(profile, with_secret=True))


@router.patch(BASE + "/{profile_id}")
async def patch_profile(
    sid: str, profile_id: str, request: Request, gateway: GatewayDep
) -> Response:
    """Change fields, enable (1) or disable (3), or rotate the secret (old one valid 24 h)."""
    await gateway.tenancy.authenticate(sid, request.headers.get("api-key"))
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


@router.delete(BASE + "/{profile_id}")
async def delete_profile(
    sid: str, profile_id: str, request: Request, gateway: GatewayDep
) -> Response:
    """Delete a profile; its pending deliveries are cancelled."""
    await gateway.tenancy.authenticate(sid, request.headers.get("api-key"))
    await gateway.profiles.delete(sid, profile_id)
    return platform.ok({"profile_id": profile_id})


@router.post(BASE + "/{profile_id}/recover")
async def recover_profile(
    sid: str, profile_id: str, request: Request, gateway: GatewayDep
) -> Response:
    """Replay every failed or dead delivery of the profile since a time (or count them)."""
    await gateway.tenancy.authenticate(sid, request.headers.get("api-key"))
    data: RecoverIn = await parse_body(request, RecoverIn)
    since = parse_time(data.since)
    count = await gateway.deliveries.recover(sid, profile_id, since, dry_run=data.dry_run)
    return platform.ok({"profile_id": profile_id, "count": count, "dry_run": data.dry_run})
