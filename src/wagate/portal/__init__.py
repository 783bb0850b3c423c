"""The customer portal: server-rendered pages under ``/portal/`` of the gateway's own port.

A customer signs in with its SID and API key and sees its uploads, messages
(with every status Meta sent), deliveries (with every attempt, replay and
recovery) and callback profiles. The pages are Jinja2 templates with a small
stylesheet and script shipped in this package; nothing is loaded from another
host. The portal reads and changes data through the gateway's services only.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import Response

from wagate.portal.pages import PREFIX
from wagate.portal.routes import auth, deliveries, messages, profiles, static, targets, uploads
from wagate.portal.routing import error_page, portal_router

__all__ = ["install_portal"]


def install_portal(app: FastAPI) -> None:
    """Serve the portal from ``app`` (whose lifespan sets ``app.state.gateway``)."""
    for module in (static, auth, uploads, messages, deliveries, profiles, targets):
        app.include_router(module.router)
    app.include_router(_fallback())


def _fallback() -> APIRouter:
    """A page for every other path under the portal's prefix."""
    router = portal_router()

    @router.api_route(PREFIX + "/{rest:path}", methods=["GET", "POST"])
    async def unknown(request: Request, rest: str) -> Response:
        return error_page(request, 404, "Not found", "There is no such page.")

    return router
