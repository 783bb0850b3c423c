"""Running deliveries: claim a batch, send each attempt, record the outcomes by batch."""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from wagate import metrics
from wagate.delivery.request import Signing, prepare, redact
from wagate.delivery.sender import REFUSED_TARGET, CallbackSender, SendResult
from wagate.domain.callbacks import Attempt, Delivery, DeliveryStatus
from wagate.domain.clock import Clock, utcnow
from wagate.domain.endpoint_health import EndpointHealth
from wagate.domain.ids import time_ordered_uuid
from wagate.domain.retry import JitteredSchedule, RetryPolicy, parse_retry_after
from wagate.services.group_commit import GroupCommit
from wagate.store import Connection, Database, delivery_queue, endpoints
from wagate.store import profiles as profile_rows
from wagate.store import tenancy as tenancy_rows
from wagate.store.delivery_outcomes import Outcome, outcome_rows, record_outcomes

__all__ = ["ClaimedDelivery", "DeliveryPolicy", "DeliveryRunner", "Outcome"]

log = structlog.get_logger("wagate.delivery")

RETRY_AFTER_STATUSES = frozenset({429, 503})
#: How long recording an attempt waits for others to share its transaction.
RECORD_LINGER_SECONDS = 0.005


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Retry schedule and the auto-disable threshold."""

    schedule: Sequence[float]
    disable_after_seconds: float
    jitter: float = 0.2
    rand: Callable[[], float] = random.random


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery leased to this worker, with what signs it (read in the claim's transaction)."""

    delivery: Delivery
    signing: Signing


class DeliveryRunner:
    """Claims due deliveries in batches, makes their attempts, and records them in batches."""

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
        self._retry = RetryPolicy(JitteredSchedule(policy.schedule, policy.jitter, policy.rand))
        self._clock = clock
        # Attempts that end together are recorded in one transaction, set-based; the writer
        # waits a moment for more, since attempts end one by one.
        self._recording: GroupCommit[Outcome, None] = GroupCommit(
            self._record_outcomes, linger=RECORD_LINGER_SECONDS
        )

    async def close(self) -> None:
        """Wait for the attempts being recorded."""
        await self._recording.close()

    async def claim(
        self,
        worker: str,
        limit: int,
        lease: timedelta,
        *,
        per_endpoint: int,
        held: Mapping[str, int] | None = None,
    ) -> list[ClaimedDelivery]:
        """Due deliveries of active profiles, leased to ``worker``, within per-endpoint room."""
        async with self._db.transaction() as connection:
            claimed = await delivery_queue.claim(
                connection,
                worker=worker,
                limit=limit,
                lease=lease,
                now=self._clock(),
                per_endpoint=per_endpoint,
                held=held,
            )
            signing = await signing_of(connection, claimed)
        return [ClaimedDelivery(delivery, signing[delivery.id]) for delivery in claimed]

    async def extend_leases(self, ids: Collection[str], worker: str, lease: timedelta) -> set[str]:
        """Keep deliveries claimed; the ids still this worker's."""
        async with self._db.transaction() as connection:
            return await delivery_queue.extend_leases(
                connection, ids, worker, self._clock() + lease
            )

    async def release(self, ids: Collection[str], worker: str) -> None:
        """Hand deliveries back unsent."""
        async with self._db.transaction() as connection:
            await delivery_queue.release(connection, ids, worker)

    async def postpone(self, delivery: Delivery, delay: timedelta, error: str) -> None:
        """Try a delivery again after ``delay`` (after an error of ours, not the receiver's)."""
        async with self._db.transaction() as connection:
            await delivery_queue.postpone(
                connection, delivery.id, run_at=self._clock() + delay, error=error
            )

    async def postpone_until(self, ids: Collection[str], until: datetime, reason: str) -> None:
        """Hand deliveries back, due again at ``until`` (an attempt not made is not counted)."""
        async with self._db.transaction() as connection:
            await delivery_queue.postpone_many(connection, ids, run_at=until, error=reason)

    async def record_endpoint(self, endpoint: str, health: EndpointHealth, now: datetime) -> None:
        """Record an endpoint's new state, for every worker's claims and for the API."""
        async with self._db.transaction() as connection:
            await endpoints.save(connection, endpoint, health, now)
        metrics.ENDPOINT_STATE_CHANGES.labels(health.state.value).inc()

    async def next_run_at(self, skip_endpoints: Sequence[str] = ()) -> datetime | None:
        """When the next pending delivery to an endpoint not in ``skip_endpoints`` is due."""
        async with self._db.transaction() as connection:
            return await delivery_queue.next_run_at(connection, skip_endpoints)

    async def send(self, claimed: ClaimedDelivery) -> Outcome | None:
        """Make one attempt; what it came to, not recorded yet (None: nothing to send, the
        delivery's profile was deleted meanwhile and its deliveries cancelled with it)."""
        delivery, signing = claimed.delivery, claimed.signing
        if delivery.profile_id and signing.profile is None:
            return None
        now = self._clock()
        request = prepare(delivery, signing, now)
        metrics.DELIVERY_LATENESS.observe(max(0.0, (now - delivery.run_at).total_seconds()))
        result = await self._sender.send(request.method, request.url, request.headers, request.body)
        attempt, status = self._outcome(delivery, result, redact(request.headers, signing.profile))
        metrics.DELIVERY_ATTEMPTS.labels(_OUTCOME_LABELS.get(status, "retry")).inc()
        log.info(
            "delivery.attempt",
            delivery_id=delivery.id,
            attempt_id=attempt.id,
            number=attempt.number,
            status=result.status,
            outcome=status.value,
            error=result.error_class,
            ms=result.duration_ms,
        )
        return Outcome(delivery, attempt, status)

    async def record(self, outcome: Outcome) -> None:
        """Record an attempt with its delivery's next state, with whatever else ended meanwhile."""
        await self._recording.submit(outcome)

    def _outcome(
        self, delivery: Delivery, result: SendResult, headers: dict[str, str]
    ) -> tuple[Attempt, DeliveryStatus]:
        now = self._clock()
        number = delivery.attempts + 1
        next_at: datetime | None = None
        if result.succeeded:
            status = DeliveryStatus.SUCCEEDED
        elif result.error_class == REFUSED_TARGET:  # policy refuses it: no retry can succeed
            status = DeliveryStatus.DEAD
        else:
            retry_after = (
                parse_retry_after(result.retry_after, now)
                if result.status in RETRY_AFTER_STATUSES
                else None
            )
            decision = self._retry.decide(number, retry_after=retry_after)
            if decision.retry and decision.delay is not None:
                status = DeliveryStatus.PENDING
                next_at = now + timedelta(seconds=decision.delay)
            else:
                status = DeliveryStatus.DEAD
        attempt = Attempt(
            id=str(time_ordered_uuid()),
            delivery_id=delivery.id,
            number=number,
            trigger=delivery.trigger,
            method=delivery.method,
            url=delivery.url,
            request_headers=headers,
            response_status=result.status,
            response_body=result.body,
            duration_ms=result.duration_ms,
            error_class=result.error_class,
            error=result.error,
            next_attempt_at=next_at,
            created_at=now,
        )
        return attempt, status

    async def _record_outcomes(self, outcomes: list[Outcome]) -> list[None]:
        """Record a batch of attempts, their deliveries' states and their profiles' health."""
        now = max(outcome.attempt.created_at for outcome in outcomes)
        succeeded = {
            o.delivery.profile_id
            for o in outcomes
            if o.delivery.profile_id and o.status is DeliveryStatus.SUCCEEDED
        }
        failed = {
            o.delivery.profile_id
            for o in outcomes
            if o.delivery.profile_id and o.status is not DeliveryStatus.SUCCEEDED
        }
        rows = outcome_rows(outcomes)
        async with self._db.transaction() as connection:
            await record_outcomes(connection, rows)
            disabled = await profile_rows.record_profile_health(
                connection,
                succeeded=succeeded,
                failed=failed,
                now=now,
                disable_after_seconds=self.policy.disable_after_seconds,
            )
        for profile_id in disabled:
            log.warning("profile.auto_disabled", profile_id=profile_id)
        return [None] * len(outcomes)


_OUTCOME_LABELS = {DeliveryStatus.SUCCEEDED: "succeeded", DeliveryStatus.DEAD: "dead"}


async def signing_of(connection: Connection, batch: Sequence[Delivery]) -> dict[str, Signing]:
    """What signs each delivery: its profile's secrets, or else its number's secret."""
    profiles = await profile_rows.get_profiles(
        connection, {d.profile_id for d in batch if d.profile_id}
    )
    secrets = await tenancy_rows.webhook_secrets_of(
        connection, {d.number for d in batch if d.number and not d.profile_id}
    )
    return {
        d.id: Signing(
            profiles.get(d.profile_id) if d.profile_id else None,
            secrets.get(d.number) if d.number else None,
        )
        for d in batch
    }
