"""Sending one callback request and describing what happened, never raising."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from yarl import URL

from wagate.delivery.resolver import CheckedResolver
from wagate.delivery.ssrf import AddressPolicy, check_url
from wagate.domain.errors import CallbackTargetRefused

__all__ = [
    "KEEPALIVE_SECONDS",
    "REFUSED_TARGET",
    "RESPONSE_BODY_LIMIT",
    "USER_AGENT",
    "CallbackSender",
    "SendResult",
]

RESPONSE_BODY_LIMIT = 16 * 1024
USER_AGENT = "wagate-callbacks/1"
#: Seconds an idle connection to an endpoint is kept for the next callback.
KEEPALIVE_SECONDS = 4.0
#: The ``error_class`` of a request the address policy refused: it was never sent.
REFUSED_TARGET = "refused_target"


@dataclass(frozen=True, slots=True)
class SendResult:
    """The outcome of one HTTP request."""

    status: int | None
    body: str | None
    duration_ms: int
    error_class: str | None
    error: str | None
    retry_after: str | None

    @property
    def succeeded(self) -> bool:
        """2xx, and nothing else, is success."""
        return self.status is not None and 200 <= self.status < 300


class CallbackSender:
    """An aiohttp client for callbacks: no redirects, timeouts, and checked addresses.

    Only addresses the :class:`AddressPolicy` allows are connected to, whether
    the URL names them literally or through DNS (the resolver refuses the rest,
    so a name cannot be re-pointed between the check and the connection).
    """

    def __init__(
        self,
        addresses: AddressPolicy,
        *,
        connect_timeout: float,
        total_timeout: float,
    ) -> None:
        self._addresses = addresses
        self._timeout = aiohttp.ClientTimeout(total=total_timeout, sock_connect=connect_timeout)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                resolver=CheckedResolver(self._addresses),
                # No limit of the connector's own: the delivery lane's slots decide what is
                # sent. A request to an endpoint that does not answer leaves its fast slot
                # after a second but holds its connection until it times out; a pool of
                # connections would fill with those and make healthy endpoints queue.
                limit=0,
                limit_per_host=0,
                # Idle connections close before the 5 s after which common servers
                # (uvicorn, Node.js) close theirs: a callback written to a connection the
                # endpoint is closing fails although the endpoint is up.
                keepalive_timeout=KEEPALIVE_SECONDS,
                ttl_dns_cache=30,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                auto_decompress=True,
                headers={"User-Agent": USER_AGENT},
            )
        return self._session

    async def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> SendResult:
        """Make the request; every failure becomes a result, not an exception."""
        started = time.perf_counter()
        refused = check_url(url, self._addresses)
        if refused is not None:
            return _failure(started, REFUSED_TARGET, refused)
        try:
            # encoded=True: send the target byte for byte as rendered and signed;
            # yarl would otherwise re-normalise its percent-encoding.
            async with self._client().request(
                method,
                URL(url, encoded=True),
                headers=dict(headers),
                data=body,
                allow_redirects=False,
            ) as response:
                raw = await response.content.read(RESPONSE_BODY_LIMIT)
                return SendResult(
                    status=response.status,
                    body=raw.decode("utf-8", errors="replace"),
                    duration_ms=_elapsed(started),
                    error_class=None if 200 <= response.status < 300 else "http_status",
                    error=None if 200 <= response.status < 300 else f"HTTP {response.status}",
                    retry_after=response.headers.get("Retry-After"),
                )
        except CallbackTargetRefused as exc:
            return _failure(started, REFUSED_TARGET, str(exc))
        except TimeoutError as exc:
            return _failure(started, "timeout", str(exc) or "timed out")
        except aiohttp.ClientConnectorError as exc:
            return _failure(started, "connect_error", str(exc))
        except aiohttp.ClientError as exc:
            return _failure(started, "http_error", f"{type(exc).__name__}: {exc}")
        except (OSError, asyncio.IncompleteReadError) as exc:
            return _failure(started, "connection_error", f"{type(exc).__name__}: {exc}")

    async def close(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def _elapsed(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _failure(started: float, kind: str, message: str) -> SendResult:
    return SendResult(
        status=None,
        body=None,
        duration_ms=_elapsed(started),
        error_class=kind,
        error=message,
        retry_after=None,
    )
