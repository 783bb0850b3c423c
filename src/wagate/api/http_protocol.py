"""uvicorn's HTTP protocol, with a limit on how long a request head may take.

uvicorn closes a keep-alive connection that stays silent between requests,
but not one that sends nothing at all after it opens, or trickles a request
line and headers a byte at a time: such a connection is never handed to the
application, so no timeout of the application can end it. This protocol
closes a connection whose request head is not complete within the idle
timeout, counted from when the connection opened or the previous request was
answered, and answers 400 (and closes) a request head larger than
:data:`MAX_HEAD_BYTES`, which uvicorn would otherwise keep in memory whole.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: The largest request line and headers taken, together.
MAX_HEAD_BYTES = 64 * 1024


class RequestHeadTooLarge(ValueError):
    """The request line and headers are longer than :data:`MAX_HEAD_BYTES`."""


class _HeadTimeoutProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` that closes a connection whose request head stalls."""

    head_timeout_seconds = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes = 0

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout_seconds, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        if self._head_timer is None:  # a keep-alive connection's next request
            self._arm_head_timer()

    def _count_head(self, size: int) -> None:
        # Raised inside the parser, it makes uvicorn answer 400 and close the connection.
        self._head_bytes += size
        if self._head_bytes > MAX_HEAD_BYTES:
            raise RequestHeadTooLarge(f"the request head is larger than {MAX_HEAD_BYTES} bytes")

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm_head_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)


def head_timeout_protocol(seconds: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol closing connections whose request head takes longer than
    ``seconds`` (pass it as ``uvicorn.Config(http=…)``)."""
    return type("HeadTimeoutProtocol", (_HeadTimeoutProtocol,), {"head_timeout_seconds": seconds})
