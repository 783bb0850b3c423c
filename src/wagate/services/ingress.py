"""Meta's webhooks coming in: verified, then stored before they are acknowledged.

On PostgreSQL storing is a group commit: webhooks that arrive together are
committed to the inbox in one transaction, each caller answered once its own
webhook is durable. On the embedded SQLite, once :meth:`IngressService.open_spool`
was called, a webhook is appended to the ingress spool
(:mod:`wagate.store.ingress_spool`) and acknowledged, and a mover task takes
spooled webhooks into the inbox in batches, in order, so acknowledgements do
not wait for the worker's turn to write. Processing reads the stored body
later (:mod:`wagate.services.inbox_processing`), so a crash between the
acknowledgement and the processing loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import structlog

from wagate import metrics
from wagate.domain import errors
from wagate.domain.clock import Clock, utcnow
from wagate.domain.inbox import InboxEntry, webhook_entries
from wagate.services.group_commit import GroupCommit
from wagate.store import Database
from wagate.store import inbox as inbox_rows
from wagate.store.ingress_spool import IngressSpool, SpooledWebhook, SpoolWriteFailed

__all__ = [
    "MAX_UNMOVED",
    "MOVE_BATCH",
    "MOVE_RETRY_SECONDS",
    "ROOM_WAIT_SECONDS",
    "IngressService",
    "SignatureCheck",
]

log = structlog.get_logger("wagate.ingress")

#: The most spooled webhooks moved into the inbox in one transaction.
MOVE_BATCH = 512
#: Spooled webhooks not yet in the inbox past which acknowledgements wait for the mover.
MAX_UNMOVED = 20_000
#: How long an acknowledgement waits for room before the webhook is refused (503).
ROOM_WAIT_SECONDS = 10.0
#: Pause before the mover tries again after a failed move.
MOVE_RETRY_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class _Unmoved:
    """A spooled webhook not yet in the inbox."""

    number: int
    received_at: datetime
    entries: list[InboxEntry]


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
        self._spool: IngressSpool | None = None
        self._unmoved: list[_Unmoved] = []
        self._mover: asyncio.Task[None] | None = None
        self._moved = asyncio.Condition()

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

    async def store(self, body: bytes) -> None:
        """Store a verified webhook, durably, with whatever else arrived meanwhile.

        :class:`DatabaseUnavailable` when it cannot be stored.
        """
        entries = _entries(body)
        if self._spool is None:
            await self._storing.submit(entries)
        else:
            await self._spool_webhook(self._spool, body, entries)
        metrics.META_WEBHOOKS.labels("stored").inc()

    async def open_spool(self, directory: Path) -> int:
        """Spool webhooks in ``directory`` from now on, after moving into the inbox what an
        earlier run spooled there and did not move; how many that was.

        For the embedded SQLite only, and only in the one process that serves the API.
        """
        spool = IngressSpool(directory)
        async with self._db.transaction() as connection:
            position = await inbox_rows.spool_position(connection)
        leftovers = spool.read_unmoved(position)
        for start in range(0, len(leftovers), MOVE_BATCH):
            await self._move(
                [_unmoved(webhook) for webhook in leftovers[start : start + MOVE_BATCH]]
            )
        if leftovers:
            log.info("ingress.spool_recovered", webhooks=len(leftovers))
        spool.moved_through(leftovers[-1].number if leftovers else position)
        self._spool = spool
        return len(leftovers)

    async def settled(self) -> None:
        """Wait until every spooled webhook is in the inbox."""
        async with self._moved:
            await self._moved.wait_for(lambda: not self._unmoved)

    async def _spool_webhook(
        self, spool: IngressSpool, body: bytes, entries: list[InboxEntry]
    ) -> None:
        if len(self._unmoved) >= MAX_UNMOVED:
            async with self._moved:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(ROOM_WAIT_SECONDS):
                        await self._moved.wait_for(lambda: len(self._unmoved) < MAX_UNMOVED)
            if len(self._unmoved) >= MAX_UNMOVED:
                raise errors.DatabaseUnavailable("the inbox is not taking webhooks")
        received_at = self._clock()
        try:
            number = spool.append(body, received_at)
        except SpoolWriteFailed as exc:
            raise errors.DatabaseUnavailable(str(exc)) from exc
        self._unmoved.append(_Unmoved(number, received_at, entries))
        metrics.INGRESS_SPOOLED.set(len(self._unmoved))
        if self._mover is None or self._mover.done():
            self._mover = asyncio.create_task(self._move_spooled(spool))

    async def _move_spooled(self, spool: IngressSpool) -> None:
        """Move spooled webhooks into the inbox, oldest first, until none is left."""
        while self._unmoved:
            batch = self._unmoved[:MOVE_BATCH]
            try:
                await self._move(batch)
            except Exception as exc:
                log.warning("ingress.spool_move_failed", error=str(exc), waiting=len(self._unmoved))
                await asyncio.sleep(MOVE_RETRY_SECONDS)
                continue
            del self._unmoved[: len(batch)]
            metrics.INGRESS_SPOOLED.set(len(self._unmoved))
            spool.moved_through(batch[-1].number)
            async with self._moved:
                self._moved.notify_all()

    async def _move(self, batch: list[_Unmoved]) -> None:
        """Store spooled webhooks in the inbox, with how far the spool is moved, in one
        transaction."""
        entries = [entry for webhook in batch for entry in webhook.entries]
        times = [webhook.received_at for webhook in batch for _ in webhook.entries]
        async with self._db.transaction() as connection:
            await inbox_rows.append(connection, entries, times)
            await inbox_rows.set_spool_position(connection, batch[-1].number)

    async def _store(self, webhooks: list[list[InboxEntry]]) -> list[None]:
        """Store webhooks' entries in one transaction (one statement, on PostgreSQL)."""
        entries = [entry for listed in webhooks for entry in listed]
        if self._db.is_sqlite:
            async with self._db.transaction() as connection:
                await inbox_rows.append(connection, entries, self._clock())
        else:
            async with self._db.autocommit() as connection:
                await inbox_rows.append_committing(connection, entries, self._clock())
        return [None] * len(webhooks)

    async def close(self, *, within: float = 10.0) -> None:
        """Finish storing what was received; what the spool could not move ``within``
        seconds stays in it for the next start."""
        await self._storing.close()
        if self._spool is None:
            return
        if self._mover is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(within):
                    await self.settled()
            self._mover.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._mover
        self._spool.close()
        self._spool = None


def _entries(body: bytes) -> list[InboxEntry]:
    """The inbox entries of a webhook's body as received."""
    return webhook_entries(body.decode("utf-8", errors="replace"))


def _unmoved(webhook: SpooledWebhook) -> _Unmoved:
    """A webhook read back from the spool, with its inbox entries."""
    return _Unmoved(webhook.number, webhook.received_at, _entries(webhook.body))
