"""One structured log line per request: method, path, status, duration; never a secret."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("wagate.http")
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# The token in a file_link's path is what lets anyone download the file.
_LINK_TOKEN = re.compile(r"^(/media/)[^/]+")


def loggable_path(path: str) -> str:
    """The path with a ``file_link`` token masked."""
    return _LINK_TOKEN.sub(r"\1…", path)


def bind_ids(**ids: str) -> None:
    """Name what a request made or touched (upload, message, delivery) in its log line."""
    structlog.contextvars.bind_contextvars(**ids)


class RequestLogMiddleware:
    """Logs each HTTP request when its response has been sent.

    Only the method, the path (no query string: it may carry a token; a
    ``file_link`` token masked), the outcome and the ids the route bound with
    :func:`bind_ids` are logged, under a ``request_id`` that is also sent back
    as ``X-Request-Id``; headers such as ``api-key`` never are.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        request_id = uuid.uuid4().hex[:16]

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, sending)
            finally:
                path = scope.get("path", "")
                if path not in QUIET_PATHS:
                    log.info(
                        "http.request",
                        method=scope.get("method"),
                        path=loggable_path(path),
                        status=status,
                        ms=round((time.perf_counter() - started) * 1000, 1),
                    )
