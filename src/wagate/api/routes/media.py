"""``/media/{token}``: the ``file_link`` of an upload, until it is purged."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import FileResponse, Response

from wagate.api import envelope
from wagate.api.deps import GatewayDep, UploadsDep

router = APIRouter()


@router.api_route("/media/{token}", methods=["GET", "HEAD"], include_in_schema=False)
async def download_media(token: str, gateway: GatewayDep, uploads: UploadsDep) -> Response:
    """The stored file with its media type; ``Range`` requests are honoured."""
    upload = await uploads.find_by_link_token(token)
    path = gateway.blobs.path_of(upload.blob_key) if upload is not None else None
    if upload is None or path is None or not path.is_file():
        return envelope.envelope(404, "WA404", "Resource not found", {}, {"error": "no such file"})
    return FileResponse(
        path,
        media_type=upload.media_type,
        filename=upload.file_name,
        content_disposition_type="inline",
        headers={"Cache-Control": "private, max-age=3600"},
    )
