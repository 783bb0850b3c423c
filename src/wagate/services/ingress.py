"""Meta's webhooks coming in: verified, then stored in the inbox before they are acknowledged.

Storing is a group commit: webhooks that arrive together are committed in one
transaction, each caller answered once its own webhook is durable. Processing
reads the stored body later (:mod:`wagate.services.inbox_processing`), so a
crash between the acknowledgement and the processing loses nothing.
"""

from __future__ import annotations

import hashlib
import hmac

from wagate import metrics
from wagate.domain import errors
from wagate.domain.clock import Clock, utcnow
from wagate.domain.inbox import InboxEntry, webhook_entries
from wagate.services.group_commit import GroupCommit
from wagate.store import Database
from wagate.store import inbox as inbox_rows


def signature_matches(app_secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``X-Hub-Signature-256`` is ``sha256=`` the HMAC of the raw body, in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256=") :].strip().lower())


class SignatureCheck:
    """``X-Hub-Signature-256`` checked as the body streams in, without keeping a copy."""

    def __init__(self, app_secret: str) -> None:
        self._mac = hmac.new(app_secret.encode(), digestmod=hashlib.sha256)

    def update(self, chunk: bytes) -> None:
        """Add the next part of the body."""
        self._mac.update(chunk)

    def matches(self, header: str | None) -> bool:
        """Whether ``header`` is ``sha256=`` the HMAC of the whole body, in constant time."""
        if not header or not header.startswith("sha256="):
            metrics.META_WEBHOOKS.labels("rejected").inc()
            return False
        good = hmac.compare_digest(self._mac.hexdigest(), header[len("sha256=") :].strip().lower())
        if not good:
            metrics.META_WEBHOOKS.labels("rejected").inc()
        return good


class IngressService:
    """Receives Meta's webhooks."""

    def __init__(
        self, database: Database, *, app_secret: str, verify_token: str, clock: Clock = utcnow
    ) -> None:
        self._db = database
        self._app_secret = app_secret
        self._verify_token = verify_token
        self._clock = clock
        self._storing: GroupCommit[list[InboxEntry], None] = GroupCommit(self._store)

    def verify_subscription(
        self, mode: str | None, token: str | None, challenge: str | None
    ) -> str:
        """The challenge to echo when Meta verifies the endpoint; :class:`Forbidden` otherwise."""
        if (
            mode != "subscribe"
            or token is None
            or challenge is None
            or not hmac.compare_digest(token.encode(), self._verify_token.encode())
        ):
            raise errors.Forbidden("webhook verification refused")
        return challenge

    def signature_check(self) -> SignatureCheck:
        """A check of ``X-Hub-Signature-256`` to feed the body to as it arrives."""
        return SignatureCheck(self._app_secret)

    def check_signature(self, body: bytes, signature: str | None) -> None:
        """:class:`SignatureInvalid` unless ``X-Hub-Signature-256`` signs ``body``."""
        if not signature_matches(self._app_secret, body, signature):
            metrics.META_WEBHOOKS.labels("rejected").inc()
            raise errors.SignatureInvalid("X-Hub-Signature-256 does not match the body")

    async def receive(self, body: bytes, signature: str | None) -> None:
        """Check the signature and store the webhook in the inbox, durably."""
        self.check_signature(body, signature)
        await self.store(body)

    async def store(self, body: bytes) -> None:
        """Store a verified webhook, durably, with whatever else arrived meanwhile."""
        entries = webhook_entries(body.decode("utf-8", errors="replace"))
        await self._storing.submit(entries)
        metrics.META_WEBHOOKS.labels("stored").inc()

    async def _store(self, webhooks: list[list[InboxEntry]]) -> list[None]:
        """Store webhooks' entries in one transaction."""
        async with self._db.transaction() as connection:
            await inbox_rows.append(
                connection, [entry for entries in webhooks for entry in entries], self._clock()
            )
        return [None] * len(webhooks)

    async def close(self) -> None:
        """Finish storing what was received."""
        await self._storing.close()
