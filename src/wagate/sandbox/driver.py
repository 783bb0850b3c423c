"""Sending the sandbox's webhooks to the gateway, signed, retried, and recorded.

Each webhook is POSTed with Meta's headers to the current target. A refused
connection, a timeout or an answer other than 2xx is tried again after a short
pause, a few times, as Meta does; every try is recorded for the tests.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp
import structlog

from wagate.sandbox.webhooks import (
    LEGACY_SIGNATURE_HEADER,
    SIGNATURE_HEADER,
    encode,
    legacy_signature,
    signature,
)

log = structlog.get_logger("wagate.sandbox")

#: Pauses before the second, third and fourth try of a webhook.
RETRY_DELAYS = (0.2, 0.5, 1.0)
#: How many webhooks ``GET /_sandbox/webhooks`` remembers.
MAX_RECORDS = 10_000
USER_AGENT = "facebookexternalua"


def check_target(url: object) -> str:
    """``url`` if it is an absolute http(s) URL; ValueError if not."""
    if not isinstance(url, str):
        raise ValueError(f"webhook_url must be a string, not {url!r}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"webhook_url must be an absolute http(s) URL, not {url!r}")
    return url


@dataclass
class Attempt:
    """One POST of a webhook: the gateway's status, or why there was none."""

    at: float
    status: int | None = None
    error: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"at": self.at, "status": self.status, "error": self.error}


@dataclass
class WebhookRecord:
    """One webhook and its tries. A duplicate is a record of its own with the same body."""

    id: int
    kind: str
    wamid: str
    target: str
    body: bytes
    signature: str
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def status(self) -> int | None:
        """The gateway's status to the last try; None if it never answered."""
        return self.attempts[-1].status if self.attempts else None

    @property
    def delivered(self) -> bool:
        """Whether the gateway took it (answered 2xx)."""
        return self.status is not None and 200 <= self.status < 300

    def as_json(self) -> dict[str, object]:
        """What ``GET /_sandbox/webhooks`` shows: the exact body and how it went."""
        return {
            "id": self.id,
            "kind": self.kind,
            "wamid": self.wamid,
            "target": self.target,
            "body": self.body.decode("ascii"),
            "signature": self.signature,
            "status": self.status,
            "delivered": self.delivered,
            "attempts": [a.as_json() for a in self.attempts],
        }


class WebhookDriver:
    """Signs webhooks with the app secret and POSTs them to ``target``.

    ``start`` opens the HTTP client and ``close`` closes it; the records of the
    last ``MAX_RECORDS`` webhooks stay readable throughout.
    """

    def __init__(
        self,
        app_secret: str,
        target: str,
        *,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        timeout_seconds: float = 5.0,
    ) -> None:
        self.app_secret = app_secret
        self.target = check_target(target)
        self.retry_delays = tuple(retry_delays)
        self.timeout = aiohttp.ClientTimeout(
            total=timeout_seconds, connect=min(2.0, timeout_seconds)
        )
        self._records: deque[WebhookRecord] = deque(maxlen=MAX_RECORDS)
        self._ids = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the HTTP client."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)

    async def close(self) -> None:
        """Close the HTTP client."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def retarget(self, url: object) -> str:
        """Send the next webhooks to ``url``; ValueError if it is no http(s) URL."""
        self.target = check_target(url)
        return self.target

    def records(self, wamid: str | None = None) -> list[WebhookRecord]:
        """The webhooks sent, oldest first; only those about ``wamid`` when given."""
        return [r for r in self._records if wamid is None or r.wamid == wamid]

    def clear(self) -> None:
        """Forget the webhooks sent so far."""
        self._records.clear()

    async def send(
        self, kind: str, wamid: str, payload: Mapping[str, object], *, copies: int = 1
    ) -> list[WebhookRecord]:
        """Encode and sign ``payload`` once, and deliver those exact bytes ``copies`` times."""
        body = encode(payload)
        records = []
        for _ in range(copies):
            record = WebhookRecord(
                id=next(self._ids),
                kind=kind,
                wamid=wamid,
                target=self.target,
                body=body,
                signature=signature(body, self.app_secret),
            )
            self._records.append(record)
            await self._deliver(record)
            records.append(record)
        return records

    async def _deliver(self, record: WebhookRecord) -> None:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: record.signature,
            LEGACY_SIGNATURE_HEADER: legacy_signature(record.body, self.app_secret),
        }
        for pause in (0.0, *self.retry_delays):
            if pause:
                await asyncio.sleep(pause)
            attempt = await self._post(record, headers)
            record.attempts.append(attempt)
            log.info(
                "sandbox.webhook",
                id=record.id,
                kind=record.kind,
                wamid=record.wamid,
                status=attempt.status,
                error=attempt.error,
            )
            if record.delivered:
                return

    async def _post(self, record: WebhookRecord, headers: Mapping[str, str]) -> Attempt:
        attempt = Attempt(at=time.time())
        if self._session is None:
            attempt.error = "the sandbox is not running"
            return attempt
        try:
            async with self._session.post(
                record.target, data=record.body, headers=headers, allow_redirects=False
            ) as response:
                await response.read()
                attempt.status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            attempt.error = f"{type(exc).__name__}: {exc}"
        return attempt
