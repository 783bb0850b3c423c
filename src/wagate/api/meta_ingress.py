"""``POST /webhooks/meta``, served ahead of the rest of the API.

Meta's webhooks are the gateway's hottest path (one number can send thousands
a second) and need none of what the customer API does per request (routing,
dependencies, the envelope), so this ASGI layer answers them before the
FastAPI application is entered. It refuses a body announced or found larger
than Meta ever sends (closing the connection, so the rest is never read),
cuts a body that stalls for the idle timeout or outlasts its deadline, checks
``X-Hub-Signature-256`` while the body streams in, and answers 200 only once
the webhook is durably stored. Everything else, ``GET /webhooks/meta``
(Meta's verification) included, goes on to the application.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wagate.api.body_bounds import BodyLimits, PacedBody, closing
from wagate.domain.errors import DatabaseUnavailable, RequestTimeout
from wagate.services.ingress import IngressService

log = structlog.get_logger("wagate.http")

PATH = "/webhooks/meta"
#: Meta's webhook payloads are at most 3 MB.
MAX_BODY_BYTES = 3 * 1024 * 1024
#: The longest a webhook's body may ever take to arrive, in seconds.
BODY_DEADLINE_SECONDS = 30.0
TOO_LARGE = {"error": "the body is larger than 3 MB"}


class MetaIngress:
    """An ASGI layer that serves ``POST /webhooks/meta`` itself and passes the rest on."""

    def __init__(
        self, app: ASGIApp, ingress: Callable[[], IngressService], *, limits: BodyLimits
    ) -> None:
        self.app = app
        self._ingress = ingress
        self._limits = BodyLimits(
            idle_seconds=limits.idle_seconds,
            deadline_seconds=min(limits.deadline_seconds, BODY_DEADLINE_SECONDS),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = await self._serve(scope, receive, send)
        log.info(
            "http.request",
            request_id=uuid.uuid4().hex[:16],
            method="POST",
            path=PATH,
            status=status,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> int:
        headers = dict(scope["headers"])
        announced = headers.get(b"content-length")
        if announced is not None and (not announced.isdigit() or int(announced) > MAX_BODY_BYTES):
            return await _answer(send, 413, TOO_LARGE, close=True)
        ingress = self._ingress()
        signature = headers.get(b"x-hub-signature-256", b"").decode("latin-1") or None
        check = ingress.signature_check()
        body = PacedBody(receive, self._limits, streamed=False)
        chunks: list[bytes] = []
        size = 0
        try:
            more = True
            while more:
                message = await body.receive()
                if message["type"] == "http.disconnect":
                    return 499
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    return await _answer(send, 413, TOO_LARGE, close=True)
                check.update(chunk)
                chunks.append(chunk)
                more = message.get("more_body", False)
        except RequestTimeout as exc:
            return await _answer(send, 408, {"error": exc.reason}, close=True)
        if not check.matches(signature):
            return await _answer(send, 401, {"error": "invalid signature"})
        try:
            await ingress.store(b"".join(chunks))
        except DatabaseUnavailable:
            log.warning("ingress.store_failed", reason="database unavailable")
            return await _answer(send, 503, {"error": "the webhook could not be stored"})
        return await _answer(send, 200, {"status": "received"})


async def _answer(send: Send, status: int, body: dict[str, str], *, close: bool = False) -> int:
    """Answer ``body`` as JSON; with ``close``, end the connection (the rest of the request
    body is not read)."""
    payload = json.dumps(body, separators=(",", ":")).encode()
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
        ],
    }
    await send(closing(start) if close else start)
    await send({"type": "http.response.body", "body": payload})
    return status
