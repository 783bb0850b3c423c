"""``/media/{token}``: the ``file_link`` of an upload, or the ``media_url`` of an incoming
message's media, until it is purged."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import FileResponse, RedirectResponse, Response

from wagate.api import envelope
from wagate.api.deps import GatewayDep, UploadsDep
from wagate.domain.clock import utcnow

router = APIRouter()


@router.api_route("/media/{token}", methods=["GET", "HEAD"], include_in_schema=False)
async def download_media(token: str, gateway: GatewayDep, uploads: UploadsDep) -> Response:
    """The stored file with its media type; ``Range`` requests are honoured.

    From a bucket, the answer is a redirect to a presigned URL that lives until
    the upload is purged (at most the seven days a presigned URL can live).
    """
    upload = await uploads.find_by_link_token(token)
    if upload is None:
        incoming = await gateway.incoming_media.find_by_token(token)
        media = incoming.media if incoming is not None else None
        if incoming is not None and media is not None and media.blob_key is not None:
            path = gateway.blobs.local_path(media.blob_key)
            if path is not None and path.is_file():
                return FileResponse(
                    path,
                    media_type=media.media_type or "application/octet-stream",
                    filename=incoming.message.media.filename if incoming.message.media else None,
                    content_disposition_type="inline",
                    headers={"Cache-Control": "private, max-age=3600"},
                )
            url = await gateway.incoming_media.media_url(incoming)
            if url is not None and not url.endswith(f"/media/{token}"):
                return RedirectResponse(url, status_code=307)
    if upload is not None:
        path = gateway.blobs.local_path(upload.blob_key)
        if path is not None and path.is_file():
            return FileResponse(
                path,
                media_type=upload.media_type,
                filename=upload.file_name,
                content_disposition_type="inline",
                headers={"Cache-Control": "private, max-age=3600"},
            )
        url = await gateway.links.presigned(upload, utcnow())
        if url is not None:
            return RedirectResponse(url, status_code=307)
    return envelope.envelope(404, "WA404", "Resource not found", {}, {"error": "no such file"})
