"""The delivery lane: claims deliveries in batches, sends them fairly, records them in batches.

A claim takes up to a few hundred due deliveries in one statement and keeps
them in one queue per endpoint; the lane claims again when what it holds falls
below half of that, or when new work is announced. Sending is bounded twice:
``concurrency`` requests in flight in all, at most ``per_endpoint`` to one
endpoint, endpoints taken in turn, so a hanging or failing endpoint holds at
most its own share and every other endpoint's deliveries go past it. Leases of
everything held are renewed together by one heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, OrderedDict, deque
from datetime import timedelta

import structlog

from wagate.domain import wakeups
from wagate.domain.backoff import Backoff
from wagate.domain.clock import Clock, utcnow
from wagate.domain.errors import DatabaseUnavailable
from wagate.services.delivery_runs import ClaimedDelivery, DeliveryRunner
from wagate.worker.waits import first_of

log = structlog.get_logger("wagate.worker")

UNEXPECTED_ERROR_BACKOFF = Backoff(base=2.0, cap=300.0, jitter=0.2)
#: How many deliveries a lane holds (claimed, queued or in flight) per request it may send.
PREFETCH_FACTOR = 4
#: How many deliveries to one endpoint a lane holds per request it may send to it.
ENDPOINT_PREFETCH_FACTOR = 16
#: While it holds work, a lane claims at most this often (seconds): claims stay batches.
CLAIM_INTERVAL = 0.05


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
        self._queues: OrderedDict[str, deque[ClaimedDelivery]] = OrderedDict()
        self._in_flight: Counter[str] = Counter()
        self._held: Counter[str] = Counter()
        self._held_ids: set[str] = set()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._sending = 0
        self._freed = asyncio.Event()
        self._worker = ""

    @property
    def held(self) -> int:
        """Deliveries claimed and not finished: queued here or in flight."""
        return len(self._held_ids)

    async def run(self, worker: str, stopping: asyncio.Event, wakeup: asyncio.Event) -> None:
        """Claim, send and record until ``stopping``; then wind down within the grace period."""
        self._worker = worker
        heartbeat = asyncio.create_task(self._heartbeat(stopping))
        try:
            loop = asyncio.get_running_loop()
            last_claim = -CLAIM_INTERVAL
            while not stopping.is_set():
                wakeup.clear()
                timeout = self._poll_interval
                if self.held <= self._capacity // 2:
                    wait = last_claim + CLAIM_INTERVAL - loop.time()
                    if self.held == 0 or wait <= 0:
                        last_claim = loop.time()
                        await self._claim()
                    else:
                        timeout = wait
                self._dispatch()
                self._freed.clear()
                if self.held == 0:
                    timeout = await self._until_due()
                await first_of(stopping, wakeup, self._freed, within=timeout)
        finally:
            heartbeat.cancel()
            await self._wind_down()

    async def _claim(self) -> None:
        try:
            claimed = await self._runner.claim(
                self._worker,
                self._capacity - self.held,
                self._lease,
                per_endpoint=self._endpoint_capacity,
                held=self._held,
            )
        except DatabaseUnavailable as exc:
            log.warning("worker.claim_failed", lane=self.name, error=str(exc))
            return
        except Exception:
            log.exception("worker.claim_failed", lane=self.name)
            return
        for item in claimed:
            delivery = item.delivery
            self._queues.setdefault(delivery.endpoint, deque()).append(item)
            self._held[delivery.endpoint] += 1
            self._held_ids.add(delivery.id)

    def _dispatch(self) -> None:
        """Start sends, endpoints in turn, within both limits."""
        started = True
        while started and self._sending < self._concurrency:
            started = False
            for endpoint in list(self._queues):
                if self._sending >= self._concurrency:
                    break
                queue = self._queues[endpoint]
                if self._in_flight[endpoint] >= self._per_endpoint:
                    continue
                item = queue.popleft()
                if not queue:
                    del self._queues[endpoint]
                else:
                    self._queues.move_to_end(endpoint)
                self._start(item)
                started = True

    def _start(self, item: ClaimedDelivery) -> None:
        delivery = item.delivery
        self._sending += 1
        self._in_flight[delivery.endpoint] += 1
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
        sending = True
        try:
            outcome = await self._runner.send(item)
            sending = False
            self._free_slot(delivery.endpoint)
            if outcome is not None:
                await self._runner.record(outcome)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            delay = UNEXPECTED_ERROR_BACKOFF(max(1, delivery.attempts + 1))
            log.exception("delivery.error", delivery_id=delivery.id, retry_in=round(delay, 1))
            with contextlib.suppress(Exception):
                await self._runner.postpone(delivery, timedelta(seconds=delay), repr(exc))
        finally:
            if sending:
                self._free_slot(delivery.endpoint)
            self._tasks.pop(delivery.id, None)
            self._forget(delivery.id, delivery.endpoint)
            self._freed.set()

    def _free_slot(self, endpoint: str) -> None:
        self._sending -= 1
        self._in_flight[endpoint] -= 1
        if self._in_flight[endpoint] <= 0:
            del self._in_flight[endpoint]
        self._freed.set()

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
            lost = ids - kept
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
