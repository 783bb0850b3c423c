"""The sandbox's media endpoints: Meta's, and its own control to store a user's file.

Graph (as Meta serves it):

- ``POST /{version}/{phone_number_id}/media``: upload a file (multipart ``file``,
  ``type``, ``messaging_product``); answers ``{"id"}``.
- ``GET /{version}/{media_id}``: the file's download ``url``, ``mime_type``,
  ``sha256``, ``file_size``.
- ``GET /whatsapp_business/attachments/?mid=…&hash=…``: the bytes, to a request
  that carries the access token.

Control: ``POST /_sandbox/media`` stores its raw body with its ``Content-Type``
(a user's photo, for ``POST /_sandbox/inbound`` to name); ``GET /_sandbox/media``
lists the files.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import BodyPartReader, web

from wagate.sandbox import graph_errors
from wagate.sandbox.auth import authenticate
from wagate.sandbox.faults import Faults
from wagate.sandbox.media import DOWNLOAD_PATH, MediaStore, StoredMedia

#: The largest file the media endpoints take (Meta's largest: documents).
MAX_MEDIA_BYTES = 100 * 1024 * 1024
READ_CHUNK_BYTES = 256 * 1024
_WRONG_SHA256 = "0" * 64


@dataclass
class MediaServer:
    """What the media endpoints share."""

    store: MediaStore
    faults: Faults
    access_token: str


MEDIA = web.AppKey("media", MediaServer)


def add_media_routes(app: web.Application, server: MediaServer, *, version: str) -> None:
    """Serve the media endpoints on ``app``; call it before any catch-all route."""
    app[MEDIA] = server
    app.router.add_post(f"/{version}/{{phone_number_id}}/media", _upload)
    app.router.add_get(f"/{version}/{{media_id:[0-9]+}}", _lookup)
    app.router.add_get(DOWNLOAD_PATH, _download)
    app.router.add_post("/_sandbox/media", _store_raw)
    app.router.add_get("/_sandbox/media", _list)


async def _upload(request: web.Request) -> web.Response:
    """``POST /{version}/{phone_number_id}/media``: keep a business's file."""
    server = request.app[MEDIA]
    authenticate(request, server.access_token)
    if request.content_type != "multipart/form-data":
        raise graph_errors.invalid_parameter("The request must be multipart/form-data")
    fields: dict[str, str] = {}
    data: bytes | None = None
    file_name: str | None = None
    file_type: str | None = None
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "file":
            data = await _read_capped(part.read_chunk)
            file_name, file_type = part.filename, part.headers.get("Content-Type")
        elif part.name:
            fields[part.name] = (await part.text())[:1024]
    if fields.get("messaging_product") != "whatsapp":
        raise graph_errors.whatsapp_invalid_parameter(
            "The parameter messaging_product is required."
        )
    if data is None:
        raise graph_errors.whatsapp_invalid_parameter("The parameter file is required.")
    media_type = fields.get("type") or file_type
    if not media_type:
        raise graph_errors.whatsapp_invalid_parameter("The parameter type is required.")
    media = server.store.add(
        data,
        media_type,
        origin="upload",
        phone_number_id=request.match_info["phone_number_id"],
        file_name=file_name,
    )
    return web.json_response({"id": media.id})


async def _lookup(request: web.Request) -> web.Response:
    """``GET /{version}/{media_id}``: where the file is and what it is."""
    server = request.app[MEDIA]
    authenticate(request, server.access_token)
    media = _media(server, request.match_info["media_id"])
    sha256 = _WRONG_SHA256 if server.faults.take_wrong_sha256() else media.sha256
    url = f"{request.scheme}://{request.host}{DOWNLOAD_PATH}?mid={media.id}&hash={media.url_key}"
    return web.json_response(
        {
            "messaging_product": "whatsapp",
            "url": url,
            "mime_type": media.mime_type,
            "sha256": sha256,
            "file_size": len(media.data),
            "id": media.id,
        }
    )


async def _download(request: web.Request) -> web.StreamResponse:
    """The download URL: the bytes, to a request carrying the access token."""
    server = request.app[MEDIA]
    authenticate(request, server.access_token)
    media = server.store.get(request.query.get("mid", ""))
    if media is None or not hmac.compare_digest(
        request.query.get("hash", "").encode(), media.url_key.encode()
    ):
        raise web.HTTPNotFound(text="no such media")
    media.downloads += 1
    cut = server.faults.take_download_cut()
    response = web.StreamResponse(
        headers={"Content-Type": media.mime_type, "Content-Length": str(len(media.data))}
    )
    await response.prepare(request)
    if cut is not None:
        await response.write(media.data[:cut])
        if request.transport is not None:
            request.transport.abort()
        return response
    await response.write(media.data)
    await response.write_eof()
    return response


async def _store_raw(request: web.Request) -> web.Response:
    """``POST /_sandbox/media``: keep the raw body, typed by its ``Content-Type``."""
    data = await _read_capped(request.content.read)
    media_type = request.headers.get("Content-Type", "application/octet-stream")
    media = request.app[MEDIA].store.add(data, media_type.split(";")[0].strip(), origin="user")
    return web.json_response({"id": media.id, **media.as_json()})


async def _list(request: web.Request) -> web.Response:
    return web.json_response({"data": [m.as_json() for m in request.app[MEDIA].store]})


def _media(server: MediaServer, media_id: str) -> StoredMedia:
    media = server.store.get(media_id)
    if media is None:
        raise graph_errors.invalid_parameter(
            f"Unsupported get request. Object with ID '{media_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation",
            subcode=33,
        )
    return media


async def _read_capped(read: Callable[[int], Awaitable[bytes]]) -> bytes:
    """A body or part read whole with ``read(n)``, refused past :data:`MAX_MEDIA_BYTES`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await read(READ_CHUNK_BYTES)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_MEDIA_BYTES:
            raise graph_errors.invalid_parameter(
                f"The file is larger than the {MAX_MEDIA_BYTES} bytes Meta takes"
            )
        chunks.append(chunk)
