"""Delivering callbacks: sign, send, log the attempt, and decide what comes next."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import structlog

from wagate import metrics
from wagate.delivery.sender import CallbackSender, SendResult
from wagate.delivery.signing import headers_for, sign
from wagate.domain import errors
from wagate.domain.callbacks import (
    Attempt,
    AttemptTrigger,
    CallbackProfile,
    Delivery,
    DeliveryStatus,
)
from wagate.domain.clock import Clock, utcnow
from wagate.domain.retry import decide_retry, parse_retry_after
from wagate.services.group_commit import GroupCommit
from wagate.store import Connection, Database
from wagate.store import deliveries as delivery_rows
from wagate.store import messages as message_rows
from wagate.store import profiles as profile_rows

log = structlog.get_logger("wagate.delivery")

REDACTED = "[redacted]"
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key"}
)
RETRY_AFTER_STATUSES = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Retry schedule and the auto-disable threshold."""

    schedule: Sequence[float]
    disable_after_seconds: float
    jitter: float = 0.2
    rand: Callable[[], float] = random.random


@dataclass(frozen=True, slots=True)
class _Signing:
    """What signs a claimed delivery: its profile (None for a number's message
    callback), and the number's secret for those."""

    profile: CallbackProfile | None
    number_secret: str | None


@dataclass(frozen=True, slots=True)
class _Outcome:
    """One attempt (made at its ``created_at``, next due at its ``next_attempt_at``)
    to be recorded with the delivery's next status."""

    delivery: Delivery
    attempt: Attempt
    status: DeliveryStatus


class DeliveryService:
    """Runs deliveries and answers the deliveries API."""

    def __init__(
        self,
        database: Database,
        sender: CallbackSender,
        policy: DeliveryPolicy,
        clock: Clock = utcnow,
    ) -> None:
        self._db = database
        self._sender = sender
        self.policy = policy
        self._clock = clock
        # Attempts that end together are recorded in one transaction: on SQLite every
        # transaction waits for the one connection, and a commit costs more than a row.
        self._recording: GroupCommit[_Outcome, bool] = GroupCommit(self._record_outcomes)
        # Read with the claim, in its transaction, for the deliveries not yet run.
        self._signing: dict[str, _Signing] = {}

    async def close(self) -> None:
        """Wait for the attempts being recorded."""
        await self._recording.close()

    async def claim(
        self,
        worker: str,
        limit: int,
        lease: timedelta,
        *,
        per_endpoint: int | None = None,
        in_flight: Mapping[str, int] | None = None,
    ) -> list[Delivery]:
        """Due deliveries of active profiles, leased to ``worker``, within per-endpoint room."""
        async with self._db.transaction() as connection:
            claimed = await delivery_rows.claim(
                connection,
                worker=worker,
                limit=limit,
                lease=lease,
                now=self._clock(),
                per_endpoint=per_endpoint,
                in_flight=in_flight,
            )
            self._signing.update(await _signing_of(connection, claimed))
        return claimed

    async def extend_lease(self, delivery: Delivery, lease: timedelta) -> bool:
        """Keep a delivery being sent."""
        async with self._db.transaction() as connection:
            return await delivery_rows.extend_lease(connection, delivery, self._clock() + lease)

    async def release(self, delivery: Delivery) -> None:
        """Hand a delivery back unsent."""
        self._signing.pop(delivery.id, None)
        async with self._db.transaction() as connection:
            await delivery_rows.release(connection, delivery)

    async def postpone(self, delivery: Delivery, delay: timedelta, error: str) -> None:
        """Try a delivery again after ``delay`` (after an error of ours, not the receiver's)."""
        async with self._db.transaction() as connection:
            await delivery_rows.postpone(
                connection, delivery, run_at=self._clock() + delay, error=error
            )

    async def next_run_at(self, skip_endpoints: Sequence[str] = ()) -> datetime | None:
        """When the next pending delivery to an endpoint not in ``skip_endpoints`` is due."""
        async with self._db.transaction() as connection:
            return await delivery_rows.next_run_at(connection, skip_endpoints)

    async def run(self, delivery: Delivery) -> None:
        """Make one attempt and record it with the delivery's next state."""
        now = self._clock()
        signing = self._signing.pop(delivery.id, None)
        if signing is None:  # not claimed through this service
            async with self._db.transaction() as connection:
                signing = (await _signing_of(connection, [delivery]))[delivery.id]
        profile, number_secret = signing.profile, signing.number_secret
        if delivery.profile_id and profile is None:
            return  # the profile was deleted; its deliveries were cancelled with it
        body = delivery.body.encode("utf-8") if delivery.body is not None else None
        timestamp = int(now.timestamp())
        signed = body if body is not None else _request_target(delivery.url).encode("utf-8")
        if profile is not None:
            secrets = profile.signing_secrets(now)
        else:
            secrets = [number_secret] if number_secret else []
        headers = dict(profile.headers) if profile is not None else {}
        if secrets:
            signatures = [sign(secret, delivery.id, timestamp, signed) for secret in secrets]
            headers.update(headers_for(delivery.id, timestamp, signatures))
        else:
            headers.update({"webhook-id": delivery.id, "webhook-timestamp": str(timestamp)})
        if body is not None:
            headers["Content-Type"] = "application/json"
        metrics.DELIVERY_LATENESS.observe(max(0.0, (now - delivery.run_at).total_seconds()))
        result = await self._sender.send(delivery.method, delivery.url, headers, body)
        await self._record(delivery, result, headers, delivery.trigger)

    async def _record(
        self,
        delivery: Delivery,
        result: SendResult,
        headers: dict[str, str],
        trigger: AttemptTrigger,
    ) -> None:
        now = self._clock()
        number = delivery.attempts + 1
        next_at: datetime | None = None
        if result.succeeded:
            status = DeliveryStatus.SUCCEEDED
        else:
            retry_after = (
                parse_retry_after(result.retry_after, now)
                if result.status in RETRY_AFTER_STATUSES
                else None
            )
            decision = decide_retry(
                number,
                self.policy.schedule,
                retry_after=retry_after,
                jitter=self.policy.jitter,
                rand=self.policy.rand,
            )
            if decision.retry and decision.delay is not None:
                status = DeliveryStatus.PENDING
                next_at = now + timedelta(seconds=decision.delay)
            else:
                status = DeliveryStatus.DEAD
        attempt = Attempt(
            id=str(uuid.uuid4()),
            delivery_id=delivery.id,
            number=number,
            trigger=trigger,
            method=delivery.method,
            url=delivery.url,
            request_headers=redact(headers),
            response_status=result.status,
            response_body=result.body,
            duration_ms=result.duration_ms,
            error_class=result.error_class,
            error=result.error,
            next_attempt_at=next_at,
            created_at=now,
        )
        outcome = {DeliveryStatus.SUCCEEDED: "succeeded", DeliveryStatus.DEAD: "dead"}
        metrics.DELIVERY_ATTEMPTS.labels(outcome.get(status, "retry")).inc()
        disabled = await self._recording.submit(_Outcome(delivery, attempt, status))
        log.info(
            "delivery.attempt",
            delivery_id=delivery.id,
            attempt_id=attempt.id,
            number=number,
            status=result.status,
            outcome=status.value,
            error=result.error_class,
            ms=result.duration_ms,
        )
        if disabled:
            log.warning("profile.auto_disabled", profile_id=delivery.profile_id)

    async def _record_outcomes(self, outcomes: list[_Outcome]) -> list[bool]:
        """Record each attempt and its delivery's next state; whether each disabled its profile."""
        disabled: list[bool] = []
        async with self._db.transaction() as connection:
            for outcome in outcomes:
                await delivery_rows.record_attempt(
                    connection,
                    outcome.delivery,
                    outcome.attempt,
                    status=outcome.status,
                    run_at=outcome.attempt.next_attempt_at,
                    now=outcome.attempt.created_at,
                )
                profile_id = outcome.delivery.profile_id
                turned_off = False
                if profile_id:
                    turned_off = await profile_rows.record_outcome(
                        connection,
                        profile_id,
                        succeeded=outcome.status is DeliveryStatus.SUCCEEDED,
                        now=outcome.attempt.created_at,
                        disable_after_seconds=self.policy.disable_after_seconds,
                    )
                disabled.append(turned_off)
        return disabled

    async def get(self, sid: str, delivery_id: str) -> tuple[Delivery, list[Attempt]]:
        """A delivery of the account with its attempts."""
        async with self._db.transaction() as connection:
            delivery = await delivery_rows.get_delivery(connection, sid, delivery_id)
            if delivery is None:
                raise errors.NotFound(f"no delivery {delivery_id}")
            return delivery, await delivery_rows.attempts_of(connection, delivery_id)

    async def list(
        self,
        sid: str,
        *,
        profile_id: str | None,
        status: DeliveryStatus | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        offset: int,
    ) -> tuple[list[Delivery], int]:
        """A page of the account's deliveries and the total."""
        async with self._db.transaction() as connection:
            return await delivery_rows.list_deliveries(
                connection,
                sid,
                profile_id=profile_id,
                status=status,
                since=since,
                until=until,
                limit=limit,
                offset=offset,
            )

    async def replay(self, sid: str, delivery_id: str) -> Delivery:
        """Send a delivery again now, whatever its state (a manual attempt)."""
        async with self._db.transaction() as connection:
            delivery = await delivery_rows.get_delivery(connection, sid, delivery_id)
            if delivery is None:
                raise errors.NotFound(f"no delivery {delivery_id}")
            await delivery_rows.replay(connection, delivery_id, self._clock())
            replayed = await delivery_rows.get_delivery(connection, sid, delivery_id)
        assert replayed is not None
        return replayed

    async def recover(self, sid: str, profile_id: str, since: datetime, *, dry_run: bool) -> int:
        """Replay every failed or dead delivery of a profile since ``since``; how many."""
        async with self._db.transaction() as connection:
            if await profile_rows.get_profile(connection, profile_id, sid) is None:
                raise errors.NotFound(f"no callback profile {profile_id}")
            return await delivery_rows.recover(
                connection, profile_id, since, self._clock(), dry_run=dry_run
            )


def redact(headers: dict[str, str]) -> dict[str, str]:
    """Headers as logged: credentials replaced."""
    return {
        name: REDACTED if name.lower() in SENSITIVE_HEADERS else value
        for name, value in headers.items()
    }


async def _signing_of(
    connection: Connection, deliveries: Sequence[Delivery]
) -> dict[str, _Signing]:
    """What signs each delivery: its profile's secrets, or else its number's secret."""
    profiles = await profile_rows.get_profiles(
        connection, {d.profile_id for d in deliveries if d.profile_id}
    )
    secrets = await message_rows.webhook_secrets_of(
        connection, {d.number for d in deliveries if d.number and not d.profile_id}
    )
    return {
        d.id: _Signing(
            profiles.get(d.profile_id) if d.profile_id else None,
            secrets.get(d.number) if d.number else None,
        )
        for d in deliveries
    }


def _request_target(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
