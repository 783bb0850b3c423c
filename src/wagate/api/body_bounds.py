"""Every request body arrives in bounded time, or the request is cut.

A client that opens a request and then sends nothing, or a byte now and then,
would otherwise hold a connection, a task and (for an upload) a partial file
for as long as it likes. :class:`BodyBounds` wraps the ASGI ``receive`` of
every request that has a body and cuts it, by raising
:class:`~wagate.domain.errors.RequestTimeout` out of ``receive``, when

- nothing arrived for the idle timeout;
- a streamed body (an upload) carried less than its minimum rate over a
  stretch of the idle timeout's length;
- any other body is still arriving at its deadline.

The route's error handling answers 408 (when no answer has started yet), and
whatever was being written is removed by the code that wrote it, as for any
other error. Only the time spent waiting for the client counts: a slow blob
store delays reading, not the client. An answer that starts before the body
was read whole closes the connection, so the rest of the body is never read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wagate.domain.errors import RequestTimeout


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """How long a body may stall, take in all, and how slowly a streamed one may arrive."""

    idle_seconds: float
    deadline_seconds: float
    min_bytes_per_second: float = 0.0


class PacedBody:
    """The ``receive`` of one request, cut when its body breaks the limits.

    With ``streamed``, the body has no deadline but must carry
    ``min_bytes_per_second`` over each stretch of ``idle_seconds`` spent
    waiting for it; otherwise it must arrive whole within ``deadline_seconds``.
    """

    def __init__(
        self,
        receive: Receive,
        limits: BodyLimits,
        *,
        streamed: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._receive = receive
        self._limits = limits
        self._streamed = streamed
        self._clock = clock
        self.complete = False
        self.cut = False
        self._waited = 0.0
        self._idle = 0.0
        self._window_waited = 0.0
        self._window_bytes = 0

    async def receive(self) -> Message:
        """The next message of the request; :class:`RequestTimeout` when the body broke
        a limit."""
        if self.cut:
            raise RequestTimeout("the request was cut")
        if self.complete:
            return await self._receive()
        while True:
            started = self._clock()
            try:
                async with asyncio.timeout(self._budget()):
                    message = await self._receive()
            except TimeoutError:
                self._account(self._clock() - started, 0)
                continue
            size = len(message.get("body", b"")) if message["type"] == "http.request" else 0
            if message["type"] == "http.request" and not message.get("more_body", False):
                self.complete = True
            self._account(self._clock() - started, size)
            return message

    def _budget(self) -> float:
        """How long the next wait may last before a limit must be looked at."""
        limits = self._limits
        budget = limits.idle_seconds - self._idle
        if self._streamed:
            if limits.min_bytes_per_second > 0:
                budget = min(budget, limits.idle_seconds - self._window_waited)
        else:
            budget = min(budget, limits.deadline_seconds - self._waited)
        return max(budget, 0.0)

    def _account(self, waited: float, size: int) -> None:
        """Count a wait and what it brought; cut the request when a limit is broken."""
        limits = self._limits
        self._waited += waited
        self._idle = 0.0 if size else self._idle + waited
        self._window_waited += waited
        self._window_bytes += size
        if self.complete:
            return
        if self._idle >= limits.idle_seconds:
            self._cut(f"the request body sent nothing for {limits.idle_seconds:g} s")
        if not self._streamed and self._waited >= limits.deadline_seconds:
            self._cut(f"the request body took longer than {limits.deadline_seconds:g} s")
        if self._streamed and self._window_waited >= limits.idle_seconds:
            wanted = limits.min_bytes_per_second * self._window_waited
            if self._window_bytes < wanted:
                self._cut(
                    f"the upload arrived slower than {limits.min_bytes_per_second:g} bytes a second"
                )
            self._window_waited = 0.0
            self._window_bytes = 0

    def _cut(self, reason: str) -> None:
        self.cut = True
        raise RequestTimeout(reason)


def has_body(scope: Scope) -> bool:
    """Whether the request announces a body (a non-zero length, or chunks)."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.strip() not in (b"", b"0"):
            return True
        if name == b"transfer-encoding":
            return True
    return False


def closing(message: Message) -> Message:
    """A response start that also ends the connection."""
    headers = list(message.get("headers", []))
    if not any(name.lower() == b"connection" for name, _ in headers):
        headers.append((b"connection", b"close"))
    return {**message, "headers": headers}


class BodyBounds:
    """An ASGI layer that bounds the time every request body may take (see the module)."""

    def __init__(
        self, app: ASGIApp, *, limits: BodyLimits, streamed: Callable[[Scope], bool]
    ) -> None:
        self.app = app
        self._limits = limits
        self._streamed = streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not has_body(scope):
            await self.app(scope, receive, send)
            return
        body = PacedBody(receive, self._limits, streamed=self._streamed(scope))

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and not body.complete:
                message = closing(message)
            await send(message)

        await self.app(scope, body.receive, sending)
