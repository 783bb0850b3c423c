"""The portal's route class: what a page answers when something stops it.

The gateway's API answers errors in the provider's JSON envelope; a person in
a browser gets a page instead. Every portal route is a :class:`PortalRoute`,
which turns a missing session into a redirect to the sign-in page and an
unknown id, a refused form or a bad parameter into an HTML error page.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from wagate.domain import errors
from wagate.portal.context import CsrfRefused, FormTooLarge, SignInRequired
from wagate.portal.pages import PREFIX, render, secured, wants_fragment

log = structlog.get_logger("wagate.portal")

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    """An error page (signed-in navigation is not shown: the session may be what failed)."""
    context = {"title": title, "message": message, "signed_in": None, "section": None}
    return render(request, "error.html", context, status=status)


def sign_in_redirect(request: Request) -> Response:
    """To the sign-in page, coming back here afterwards (a page's polling gets a 401)."""
    if wants_fragment(request) or request.method != "GET":
        return secured(Response(status_code=401))
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"{PREFIX}/login?{urlencode({'next': target})}"
    return secured(RedirectResponse(location, status_code=303))


class PortalRoute(APIRoute):
    """A route of the portal, answering its failures with pages."""

    def get_route_handler(self) -> Handler:
        handle = super().get_route_handler()

        async def portal_handler(request: Request) -> Response:
            try:
                return await handle(request)
            except SignInRequired:
                return sign_in_redirect(request)
            except CsrfRefused:
                return error_page(
                    request,
                    403,
                    "Refused",
                    "This form did not come from a page of this portal, or it has expired. "
                    "Go back, reload the page and try again.",
                )
            except FormTooLarge:
                return error_page(request, 413, "Too large", "That form is too large to take.")
            except errors.NotFound:
                return error_page(request, 404, "Not found", "There is nothing here.")
            except RequestValidationError:
                return error_page(request, 400, "Bad request", "A parameter is not valid.")
            except errors.InvalidPayload as exc:
                return error_page(request, 400, "Not valid", str(exc))
            except errors.DatabaseUnavailable:
                log.warning("portal.database_unavailable", path=request.url.path)
                return error_page(
                    request, 503, "Unavailable", "The gateway cannot reach its database."
                )

        return portal_handler


def portal_router() -> APIRouter:
    """A router whose routes are :class:`PortalRoute`s."""
    return APIRouter(route_class=PortalRoute, include_in_schema=False)
