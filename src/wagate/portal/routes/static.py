"""The portal's stylesheet and script, served from the package (never from another host)."""

from __future__ import annotations

from pathlib import PurePosixPath

from starlette.responses import Response

from wagate.domain import errors
from wagate.portal.pages import PREFIX, STATIC_FILES, STATIC_TYPES, secured
from wagate.portal.routing import portal_router

router = portal_router()


@router.get(PREFIX + "/static/{name}")
async def static_file(name: str) -> Response:
    """One of the files in the package's ``static`` folder."""
    content = STATIC_FILES.get(name)
    if content is None:
        raise errors.NotFound(name)
    media_type = STATIC_TYPES[PurePosixPath(name).suffix]
    response = Response(content, media_type=media_type)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return secured(response, cache=True)
