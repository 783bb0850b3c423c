"""Signing in with the account's SID and API key, and signing out."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request
from starlette.responses import RedirectResponse, Response

from wagate.domain import errors
from wagate.domain.clock import utcnow
from wagate.portal.context import (
    MaybeSignedInDep,
    PortalDep,
    read_form,
    same_origin,
)
from wagate.portal.pages import PREFIX, notice, render, secured
from wagate.portal.routing import portal_router
from wagate.portal.sessions import SESSION_COOKIE

router = portal_router()
HOME = f"{PREFIX}/messages"


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a page of the portal, never another site."""
    if not target or not target.startswith(f"{PREFIX}/") or "\\" in target:
        return HOME
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else HOME


def _login_page(
    request: Request,
    portal: PortalDep,
    *,
    error: str | None,
    status: int,
    sid: str = "",
    next_target: str | None = None,
) -> Response:
    context = {
        "signed_in": None,
        "section": None,
        "login_token": portal.signer.login_token(utcnow()),
        "error": error,
        "sid": sid,
        "next": _safe_next(next_target or request.query_params.get("next")),
        "notice": notice(request),
    }
    return render(request, "login.html", context, status=status)


@router.get(PREFIX)
@router.get(f"{PREFIX}/")
async def home(signed_in: MaybeSignedInDep) -> Response:
    """The portal's front door: the messages when signed in, else the sign-in page."""
    return secured(RedirectResponse(HOME if signed_in else f"{PREFIX}/login", status_code=303))


@router.get(f"{PREFIX}/login")
async def login_form(request: Request, portal: PortalDep, signed_in: MaybeSignedInDep) -> Response:
    """The sign-in form."""
    if signed_in is not None:
        target = _safe_next(request.query_params.get("next"))
        return secured(RedirectResponse(target, status_code=303))
    return _login_page(request, portal, error=None, status=200)


@router.post(f"{PREFIX}/login")
async def login(request: Request, portal: PortalDep) -> Response:
    """Check the SID and API key; on success set the session cookie, else say so and set nothing."""
    form = await read_form(request)
    now = utcnow()
    sid = form.get("sid", "").strip()
    if not same_origin(request, portal.gateway.settings.public_url) or not (
        portal.signer.login_token_valid(form.get("csrf_token"), now)
    ):
        return _login_page(
            request,
            portal,
            error="The sign-in form expired or did not come from this portal. Try again.",
            status=403,
            sid=sid,
            next_target=form.get("next"),
        )
    try:
        account = await portal.gateway.tenancy.authenticate(sid, form.get("api_key", "").strip())
    except errors.AuthenticationFailed:
        return _login_page(
            request,
            portal,
            error="The SID or the API key is wrong.",
            status=401,
            sid=sid,
            next_target=form.get("next"),
        )
    cookie = portal.signer.issue(account.sid, account.api_key_hash, now)
    response = RedirectResponse(_safe_next(form.get("next")), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(portal.signer.lifetime.total_seconds()),
        path=PREFIX,
        secure=_is_https(request, portal.gateway.settings.public_url),
        httponly=True,
        samesite="strict",
    )
    return secured(response)


@router.post(f"{PREFIX}/logout")
async def logout(request: Request, portal: PortalDep, signed_in: MaybeSignedInDep) -> Response:
    """End the session: the cookie is removed. A stale or foreign form is refused."""
    form = await read_form(request)
    if signed_in is not None and not (
        same_origin(request, portal.gateway.settings.public_url)
        and portal.signer.csrf_valid(signed_in.session, form.get("csrf_token"))
    ):
        return secured(Response("Refused: reload the page and sign out again.", status_code=403))
    response = RedirectResponse(f"{PREFIX}/login?notice=signed-out", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX, httponly=True, samesite="strict")
    return secured(response)


def _is_https(request: Request, public_url: str) -> bool:
    return request.url.scheme == "https" or public_url.startswith("https://")
