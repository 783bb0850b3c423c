"""The delivery lane: claims deliveries in batches, sends them fairly, records them in batches.

A claim takes up to a few hundred due deliveries in one statement and keeps
them in one queue per endpoint; the lane claims again when what it holds falls
below half of that, or when new work is announced. Endpoints are sent to in
turn within the slots of :class:`~wagate.worker.endpoint_slots.EndpointSlots`:
a fast pool for endpoints that answer, a small slow pool for those that do not
answer quickly, and a breaker per endpoint that stops sending to one that keeps
failing (its deliveries are put back until it cools down, then it is probed).
So any number of hanging or failing endpoints hold at most the slow pool, and
every other endpoint's deliveries go past them. Leases of everything held are
renewed together by one heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, OrderedDict, deque
from datetime import datetime, timedelta

import structlog

from wagate.domain import wakeups
from wagate.domain.clock import Clock, utcnow
from wagate.domain.endpoint_health import EndpointState
from wagate.services.delivery_runs import ClaimedDelivery, DeliveryRunner, Outcome
from wagate.worker.endpoint_slots import SLOW_AFTER, SLOW_HOLD, EndpointSlots
from wagate.worker.failures import UNEXPECTED_ERROR_BACKOFF, StepFailures
from wagate.worker.waits import first_of

__all__ = [
    "CLAIM_INTERVAL",
    "ENDPOINT_PREFETCH_FACTOR",
    "OVERDUE_CHECK",
    "PREFETCH_FACTOR",
    "DeliveryLane",
]

log = structlog.get_logger("wagate.worker")

#: How many deliveries a lane holds (claimed, queued or in flight) per request it may send.
PREFETCH_FACTOR = 4
#: How many deliveries to one endpoint a lane holds per request it may send to it.
ENDPOINT_PREFETCH_FACTOR = 16
#: While it holds work, a lane claims at most this often (seconds): claims stay batches.
CLAIM_INTERVAL = 0.05
#: How often requests in flight are checked for answers that take too long (seconds).
OVERDUE_CHECK = 0.25


class DeliveryLane:
    """A :class:`~wagate.worker.runner.RunningLane` over the deliveries table."""

    name = "deliveries"
    channel = wakeups.DELIVERIES

    def __init__(
        self,
        runner: DeliveryRunner,
        *,
        concurrency: int,
        per_endpoint: int,
        lease: timedelta,
        slow_after: float = SLOW_AFTER,
        poll_interval: float,
        grace_period: float,
        clock: Clock = utcnow,
    ) -> None:
        self._runner = runner
        self._concurrency = concurrency
        self._per_endpoint = per_endpoint
        self._lease = lease
        self._poll_interval = poll_interval
        self._grace_period = grace_period
        self._clock = clock
        self._capacity = concurrency * PREFETCH_FACTOR
        self._endpoint_capacity = per_endpoint * ENDPOINT_PREFETCH_FACTOR
        self.slots = EndpointSlots(
            fast=concurrency,
            slow=max(4, concurrency // 4),
            per_endpoint=per_endpoint,
            hold_per_endpoint=self._endpoint_capacity,
            slow_after=slow_after,
        )
        self._queues: OrderedDict[str, deque[ClaimedDelivery]] = OrderedDict()
        self._held: Counter[str] = Counter()
        self._held_ids: set[str] = set()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._freed = asyncio.Event()
        self._recording = 0
        self._worker = ""
        self._claim_failures = StepFailures("worker.claim_failed", lane=self.name)

    @property
    def held(self) -> int:
        """Deliveries claimed and not finished: queued here or in flight."""
        return len(self._held_ids)

    @property
    def _occupied(self) -> int:
        """What counts against the claim capacity: what is held, less the requests in the
        slow pool and (up to the capacity) the answered ones being recorded. The first wait
        on endpoints that do not answer and may go on waiting for the whole callback
        timeout; the second wait for a group commit. Counting either would hold back
        claims while nothing is being sent."""
        return self.held - self.slots.slow_used - min(self._recording, self._capacity)

    async def run(self, worker: str, stopping: asyncio.Event, wakeup: asyncio.Event) -> None:
        """Claim, send and record until ``stopping``; then wind down within the grace period."""
        self._worker = worker
        heartbeat = asyncio.create_task(self._heartbeat(stopping))
        watchdog = asyncio.create_task(self._watch_overdue(stopping))
        claiming: asyncio.Task[None] | None = None
        # Work announced while a claim runs may have come after the claim's snapshot: the
        # claim's end then wakes the loop to claim again, instead of the next poll.
        announced_during_claim = False
        claim_ended = asyncio.Event()
        try:
            loop = asyncio.get_running_loop()
            last_claim = -CLAIM_INTERVAL
            while not stopping.is_set():
                if claiming is not None and wakeup.is_set():
                    announced_during_claim = True
                wakeup.clear()
                self._freed.clear()
                claim_ended.clear()
                self._dispatch()
                timeout = self._poll_interval
                if claiming is not None and claiming.done():
                    claiming = None
                if claiming is None and self._occupied <= self._capacity // 2:
                    wait = last_claim + CLAIM_INTERVAL - loop.time()
                    if self.held == 0 or wait <= 0:
                        last_claim = loop.time()
                        announced_during_claim = False
                        # A claim waits for the database (on SQLite, for the writer turn):
                        # sends go on meanwhile, as answers free their slots.
                        claiming = asyncio.create_task(self._claim())
                        claiming.add_done_callback(lambda _task: claim_ended.set())
                    else:
                        timeout = wait
                if self.held == 0 and claiming is None:
                    timeout = await self._until_due()
                events = [stopping, wakeup, self._freed]
                if claiming is not None and announced_during_claim:
                    events.append(claim_ended)
                await first_of(*events, within=timeout)
        finally:
            heartbeat.cancel()
            watchdog.cancel()
            if claiming is not None:
                # Not cancelled: what it claims is leased to this worker and must be released.
                await asyncio.gather(claiming, return_exceptions=True)
            await self._wind_down()

    def _room_taken(self) -> dict[str, int]:
        """Per endpoint, how much of its claim capacity is taken: what it holds, plus what
        its state forbids (an open endpoint's whole capacity, most of a slow one's)."""
        now = self._clock()
        taken = dict(self._held)
        for endpoint in self.slots.health:
            limit = self.slots.hold_limit(endpoint, now)
            taken[endpoint] = taken.get(endpoint, 0) + self._endpoint_capacity - limit
        return taken

    async def _claim(self) -> None:
        try:
            claimed = await self._runner.claim(
                self._worker,
                self._capacity - self._occupied,
                self._lease,
                per_endpoint=self._endpoint_capacity,
                held=self._room_taken(),
            )
        except Exception as exc:
            self._claim_failures.failed(exc)
            return
        self._claim_failures.succeeded()
        for item in claimed:
            delivery = item.delivery
            self._queues.setdefault(delivery.endpoint, deque()).append(item)
            self._held[delivery.endpoint] += 1
            self._held_ids.add(delivery.id)
        if claimed:
            self._freed.set()

    def _dispatch(self) -> None:
        """Start sends, endpoints in turn, while their slots allow."""
        now = self._clock()
        started = True
        while started:
            started = False
            for endpoint in list(self._queues):
                if not self.slots.can_start(endpoint, now):
                    continue
                queue = self._queues[endpoint]
                item = queue.popleft()
                if not queue:
                    del self._queues[endpoint]
                else:
                    self._queues.move_to_end(endpoint)
                self._start(item, now)
                started = True

    def _start(self, item: ClaimedDelivery, now: datetime) -> None:
        delivery = item.delivery
        self.slots.start(delivery.id, delivery.endpoint, now, asyncio.get_running_loop().time())
        fields = {"delivery_id": delivery.id, "endpoint": delivery.endpoint}
        if delivery.profile_id:
            fields["profile_id"] = delivery.profile_id
        with structlog.contextvars.bound_contextvars(**fields):
            task = asyncio.create_task(self._send(item))
        self._tasks[delivery.id] = task

    async def _send(self, item: ClaimedDelivery) -> None:
        """Send, free the request's slot as soon as the answer is in, then record: the
        endpoint's next request does not wait for this one's bookkeeping."""
        delivery = item.delivery
        answered = False
        try:
            outcome = await self._runner.send(item)
            answered = True
            self.slots.answered(delivery.id)
            self._freed.set()
            if outcome is not None:
                await self._judge(delivery.endpoint, outcome)
                self._recording += 1
                try:
                    await self._runner.record(outcome)
                finally:
                    self._recording -= 1
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            delay = UNEXPECTED_ERROR_BACKOFF(max(1, delivery.attempts + 1))
            log.exception("delivery.error", delivery_id=delivery.id, retry_in=round(delay, 1))
            with contextlib.suppress(Exception):
                await self._runner.postpone(delivery, timedelta(seconds=delay), repr(exc))
        finally:
            if not answered:
                self.slots.answered(delivery.id)
            self._tasks.pop(delivery.id, None)
            self._forget(delivery.id, delivery.endpoint)
            self._freed.set()

    async def _judge(self, endpoint: str, outcome: Outcome) -> None:
        """Take an attempt into its endpoint's health; act on a change of state."""
        attempt = outcome.attempt
        # The breaker judges whether the host answers: an error status is an answer (its
        # delivery is retried on its own schedule); no answer at all is what opens it.
        changed = self.slots.judge(
            endpoint,
            succeeded=attempt.response_status is not None,
            seconds=attempt.duration_ms / 1000,
            error=attempt.error,
            now=attempt.created_at,
        )
        if changed is None:
            return
        log.info(
            "endpoint.state",
            endpoint=endpoint,
            state=changed.state.value,
            failures=changed.failures,
            open_until=changed.open_until.isoformat() if changed.open_until else None,
        )
        with contextlib.suppress(Exception):
            await self._runner.record_endpoint(endpoint, changed, attempt.created_at)
        if changed.state is EndpointState.OPEN and changed.open_until is not None:
            await self._put_back(endpoint, until=changed.open_until)
        elif changed.state is EndpointState.SLOW:
            await self._put_back(endpoint, keep=SLOW_HOLD)

    async def _put_back(
        self, endpoint: str, *, until: datetime | None = None, keep: int = 0
    ) -> None:
        """Hand back what the lane holds queued for ``endpoint`` beyond ``keep`` of it, due
        again at ``until`` (an open breaker's end) or at once."""
        queue = self._queues.get(endpoint)
        if not queue or len(queue) <= keep:
            return
        returned = [queue.pop().delivery for _ in range(len(queue) - keep)]
        if not queue:
            del self._queues[endpoint]
        for delivery in returned:
            self._forget(delivery.id, endpoint)
        ids = [delivery.id for delivery in returned]
        with contextlib.suppress(Exception):
            if until is not None:
                await self._runner.postpone_until(ids, until, "the endpoint's breaker is open")
            else:
                await self._runner.release(ids, self._worker)

    async def _watch_overdue(self, stopping: asyncio.Event) -> None:
        """Move requests that wait too long for an answer to the slow pool, so that their
        fast slots go to endpoints that answer."""
        loop = asyncio.get_running_loop()
        while not stopping.is_set():
            await first_of(stopping, within=OVERDUE_CHECK)
            slowed = self.slots.overdue(loop.time())
            if slowed:
                self._freed.set()
            for endpoint in slowed:
                log.info("endpoint.state", endpoint=endpoint, state=EndpointState.SLOW.value)
                with contextlib.suppress(Exception):
                    await self._runner.record_endpoint(
                        endpoint, self.slots.state(endpoint), self._clock()
                    )
                await self._put_back(endpoint, keep=SLOW_HOLD)

    def _forget(self, delivery_id: str, endpoint: str) -> None:
        if delivery_id in self._held_ids:
            self._held_ids.discard(delivery_id)
            self._held[endpoint] -= 1
            if self._held[endpoint] <= 0:
                del self._held[endpoint]

    async def _until_due(self) -> float:
        with contextlib.suppress(Exception):
            due = await self._runner.next_run_at()
            if due is not None:
                seconds = (due - self._clock()).total_seconds()
                return min(self._poll_interval, max(0.01, seconds))
        return self._poll_interval

    async def _heartbeat(self, stopping: asyncio.Event) -> None:
        interval = self._lease.total_seconds() / 3
        while not stopping.is_set():
            await first_of(stopping, within=interval)
            ids = set(self._held_ids)
            if not ids or stopping.is_set():
                continue
            try:
                kept = await self._runner.extend_leases(ids, self._worker, self._lease)
            except Exception as exc:
                log.warning("delivery.heartbeat_failed", error=str(exc))
                continue
            # Deliveries finished while the leases were renewed are no longer held, not lost.
            lost = (ids - kept) & self._held_ids
            if lost:
                log.warning("delivery.leases_lost", count=len(lost))
                self._drop_queued(lost)

    def _drop_queued(self, ids: set[str]) -> None:
        """Forget queued deliveries among ``ids`` (no longer ours); sends under way go on."""
        for endpoint in list(self._queues):
            queue = self._queues[endpoint]
            kept = deque(item for item in queue if item.delivery.id not in ids)
            for item in queue:
                if item.delivery.id in ids:
                    self._forget(item.delivery.id, endpoint)
            if kept:
                self._queues[endpoint] = kept
            else:
                del self._queues[endpoint]

    async def _wind_down(self) -> None:
        queued = [item.delivery for queue in self._queues.values() for item in queue]
        self._queues.clear()
        for delivery in queued:
            self._forget(delivery.id, delivery.endpoint)
        if queued:
            with contextlib.suppress(Exception):
                await self._runner.release([d.id for d in queued], self._worker)
            log.info("delivery.unsent_released", count=len(queued))
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks.values()), timeout=self._grace_period)
            unfinished = [
                delivery_id for delivery_id, task in self._tasks.items() if task in pending
            ]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            if unfinished:
                with contextlib.suppress(Exception):
                    await self._runner.release(unfinished, self._worker)
                for delivery_id in unfinished:
                    log.info("item.released", lane=self.name, delivery_id=delivery_id)
