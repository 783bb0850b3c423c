"""The sandbox's HTTP surface: Meta's Resumable Upload API and the fault controls.

The messaging endpoints (send, status, button and inbound webhooks, limits) are
in ``message_routes``, the media endpoints in ``media_routes``.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import structlog
from aiohttp import web

from wagate.sandbox import graph_errors
from wagate.sandbox.auth import authenticate
from wagate.sandbox.faults import Faults
from wagate.sandbox.field_emissions import add_field_routes
from wagate.sandbox.graph_errors import GraphApiError
from wagate.sandbox.media import MediaStore
from wagate.sandbox.media_routes import MediaServer, add_media_routes
from wagate.sandbox.message_routes import add_message_routes
from wagate.sandbox.messaging import Messaging
from wagate.sandbox.progression import AutoProgression
from wagate.sandbox.settings import SandboxSettings
from wagate.sandbox.uploads import (
    SESSION_PREFIX,
    BodyOutcome,
    UploadSession,
    UploadSessionStore,
)

log = structlog.get_logger("wagate.sandbox")

SETTINGS = web.AppKey("settings", SandboxSettings)
FAULTS = web.AppKey("faults", Faults)
SESSIONS = web.AppKey("sessions", UploadSessionStore)

#: The file types Meta's Resumable Upload API takes.
FILE_TYPES = frozenset({"application/pdf", "image/jpeg", "image/jpg", "image/png", "video/mp4"})
MAX_FILE_NAME_LENGTH = 255
READ_CHUNK_BYTES = 256 * 1024
_VERSION = r"{version:v\d+\.\d+}"
_CONTROL_PREFIX = "/_sandbox/"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_sandbox_app(
    settings: SandboxSettings,
    *,
    storage_dir: Path | None = None,
    faults: Faults | None = None,
    webhook_url: str | None = None,
    auto: AutoProgression | None = None,
) -> web.Application:
    """The sandbox as an aiohttp application.

    Session bytes are stored under ``storage_dir``; without one, under a fresh
    temporary directory removed when the application shuts down. Webhooks go
    to ``webhook_url`` (default ``settings.webhook_url``); ``auto``
    sets the automatic status progression (default off).
    """
    app = web.Application(middlewares=[_graph_middleware])
    if storage_dir is None:
        temporary = Path(tempfile.mkdtemp(prefix="wagate-sandbox-"))
        app.on_cleanup.append(_remover(temporary))
        storage_dir = temporary
    app[SETTINGS] = settings
    app[FAULTS] = faults if faults is not None else Faults()
    app[SESSIONS] = UploadSessionStore(storage_dir)
    app.router.add_get("/_sandbox/faults", _get_faults)
    app.router.add_post("/_sandbox/faults", _set_faults)
    app.router.add_delete("/_sandbox/faults", _reset_faults)
    app.router.add_get("/_sandbox/sessions", _list_sessions)
    app.router.add_get("/_sandbox/sessions/{session_id}", _show_session)
    media = MediaStore()
    messaging = Messaging(settings, webhook_url=webhook_url, auto=auto, media=media)
    add_message_routes(app, messaging, version=_VERSION)
    add_field_routes(app)
    add_media_routes(
        app,
        MediaServer(media, app[FAULTS], settings.access_token),
        version=_VERSION,
    )
    app.router.add_post(f"/{_VERSION}/{{app_id}}/uploads", _start_session)
    app.router.add_post(f"/{_VERSION}/{{node}}", _upload_chunk)
    app.router.add_get(f"/{_VERSION}/{{node}}", _read_offset)
    app.router.add_route("*", "/{tail:.*}", _unknown_path)
    return app


def _remover(directory: Path) -> Callable[[web.Application], Awaitable[None]]:
    async def remove(app: web.Application) -> None:
        await asyncio.to_thread(shutil.rmtree, directory, True)

    return remove


@web.middleware
async def _graph_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render Graph errors, and inject the armed faults into Graph requests."""
    if request.path.startswith(_CONTROL_PREFIX):
        try:
            return await handler(request)
        except GraphApiError as exc:
            return exc.response()
    faults = request.app[FAULTS]
    try:
        status = faults.take_failure()
        if status is not None:
            log.info("sandbox.fault.fail", path=request.path, status=status)
            raise graph_errors.unexpected(status)
        response = await handler(request)
    except GraphApiError as exc:
        response = exc.response()
    if faults.delay_ms:
        await asyncio.sleep(faults.delay_ms / 1000)
    return response


def _authenticate(request: web.Request) -> None:
    authenticate(request, request.app[SETTINGS].access_token)


def _session(request: web.Request, method: str) -> UploadSession:
    node = request.match_info["node"]
    session = request.app[SESSIONS].get(node) if node.startswith(SESSION_PREFIX) else None
    if session is None:
        raise graph_errors.invalid_parameter(
            f"Unsupported {method} request. Object with ID '{node}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation",
            subcode=33,
        )
    return session


def _positive_int(value: str | None) -> int | None:
    if value is None or not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if number > 0 else None


def _check_file_name(name: str | None) -> str:
    if not name:
        raise graph_errors.invalid_parameter("The parameter file_name is required")
    if len(name) > MAX_FILE_NAME_LENGTH or any(
        ch in "/\\" or ord(ch) < 32 or ord(ch) == 127 for ch in name
    ):
        raise graph_errors.invalid_parameter(
            f"Param file_name must be 1 to {MAX_FILE_NAME_LENGTH} characters "
            "without slashes or control characters"
        )
    return name


async def _start_session(request: web.Request) -> web.Response:
    """``POST /{version}/{app_id}/uploads``: open an upload session."""
    _authenticate(request)
    params = dict(request.query)
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    app_id = request.match_info["app_id"]
    if app_id != request.app[SETTINGS].app_id:
        raise graph_errors.invalid_parameter(
            f"Unsupported post request. Object with ID '{app_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation",
            subcode=33,
        )
    file_name = _check_file_name(params.get("file_name"))
    file_length = _positive_int(params.get("file_length"))
    if file_length is None:
        raise graph_errors.invalid_parameter(
            f"Param file_length must be a positive integer, not {params.get('file_length')!r}"
        )
    file_type = params.get("file_type")
    if file_type not in FILE_TYPES:
        raise graph_errors.invalid_parameter(
            f"Param file_type must be one of {', '.join(sorted(FILE_TYPES))}, not {file_type!r}"
        )
    session = request.app[SESSIONS].create(
        app_id=app_id, file_name=file_name, file_length=file_length, file_type=file_type
    )
    log.info("sandbox.session.start", id=session.graph_id, file_length=file_length)
    return web.json_response({"id": session.graph_id})


async def _upload_chunk(request: web.Request) -> web.StreamResponse:
    """``POST /{version}/upload:<id>``: append the body at ``file_offset``."""
    _authenticate(request)
    session = _session(request, "post")
    session.requests += 1
    try:
        outcome = await _store_body(request, session)
    except ConnectionError:
        log.info("sandbox.body.broken", id=session.graph_id, file_offset=session.file_offset)
        return _dropped()
    if outcome is BodyOutcome.CUT:
        return _dropped()
    if outcome is BodyOutcome.OVERFLOW:
        raise _overflow(session)
    if session.handle is not None:
        log.info("sandbox.session.complete", id=session.graph_id, sha256=session.sha256())
        return web.json_response({"h": session.handle})
    return web.json_response({"id": session.graph_id, "file_offset": session.file_offset})


async def _store_body(request: web.Request, session: UploadSession) -> BodyOutcome:
    """Check the offset and store the body; refused bodies are read, counted and dropped."""
    body = request.content.iter_chunked(READ_CHUNK_BYTES)
    header = request.headers.get("file_offset")
    if header is None or not header.isascii() or not header.isdigit():
        await session.discard(body)
        raise graph_errors.invalid_parameter(
            f"Header file_offset must be a non-negative integer, not {header!r}"
        )
    offset = int(header)
    async with session.lock:
        if offset != session.file_offset:
            await session.discard(body)
            raise graph_errors.offset_mismatch(offset, session.file_offset)
        length = request.content_length
        if length is not None and offset + length > session.file_length:
            await session.discard(body)
            raise _overflow(session)
        cut_after = request.app[FAULTS].take_cut()
        outcome = await session.receive(body, cut_after=cut_after)
    if outcome is BodyOutcome.CUT:
        log.info("sandbox.fault.cut", id=session.graph_id, after_bytes=cut_after)
        if request.transport is not None:
            request.transport.abort()
    return outcome


def _dropped() -> web.Response:
    """What a handler returns when the connection is gone: it is never sent."""
    return web.Response(status=499)


def _overflow(session: UploadSession) -> GraphApiError:
    return graph_errors.invalid_parameter(
        f"The body goes past file_length {session.file_length} of this upload session"
    )


async def _read_offset(request: web.Request) -> web.Response:
    """``GET /{version}/upload:<id>``: how many bytes the session holds."""
    _authenticate(request)
    session = _session(request, "get")
    session.offset_reads += 1
    return web.json_response({"id": session.graph_id, "file_offset": session.file_offset})


async def _unknown_path(request: web.Request) -> web.Response:
    raise graph_errors.unknown_path()


async def _get_faults(request: web.Request) -> web.Response:
    return web.json_response(request.app[FAULTS].as_json())


async def _set_faults(request: web.Request) -> web.Response:
    faults = request.app[FAULTS]
    try:
        changes = await request.json()
        if not isinstance(changes, dict):
            raise ValueError("the body must be a JSON object")
        faults.update(changes)
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    log.info("sandbox.faults", **faults.as_json())
    return web.json_response(faults.as_json())


async def _reset_faults(request: web.Request) -> web.Response:
    request.app[FAULTS].reset()
    return web.json_response(request.app[FAULTS].as_json())


async def _list_sessions(request: web.Request) -> web.Response:
    return web.json_response({"data": [s.as_json() for s in request.app[SESSIONS]]})


async def _show_session(request: web.Request) -> web.Response:
    session = request.app[SESSIONS].get(request.match_info["session_id"])
    if session is None:
        return web.json_response({"error": "no such upload session"}, status=404)
    return web.json_response(session.as_json())
