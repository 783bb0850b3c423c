"""The access token every Graph request of the sandbox must carry."""

from __future__ import annotations

import hmac

from aiohttp import web

from wagate.sandbox import graph_errors


def access_token(request: web.Request) -> str | None:
    """The token of ``Authorization: Bearer|OAuth …`` or of ``?access_token=``, if any."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() in ("oauth", "bearer") and value.strip():
        return value.strip()
    return request.query.get("access_token")


def authenticate(request: web.Request, expected: str) -> None:
    """Raise Graph's invalid-token error (401, code 190) unless the request carries ``expected``."""
    token = access_token(request)
    if token is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise graph_errors.invalid_token()
