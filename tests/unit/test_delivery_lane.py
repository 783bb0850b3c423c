"""The delivery lane keeps sending what it holds while a claim waits for the database."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from wagate.domain.callbacks import Delivery, DeliveryStatus
from wagate.services.delivery_runs import ClaimedDelivery, DeliveryRunner
from wagate.worker.delivery_lane import DeliveryLane

NOW = datetime(2026, 1, 1, tzinfo=UTC)
#: Generous: the test waits on progress, never on a fixed delay.
PATIENCE = 60.0


def claimed(number: int) -> ClaimedDelivery:
    delivery = Delivery(
        id=f"d{number:03d}",
        sid="SID1",
        event_id=f"e{number}",
        subject_id=f"m{number}",
        profile_id=None,
        method="POST",
        url="http://127.0.0.1:9/callbacks",
        body="{}",
        endpoint="127.0.0.1:9",
        status=DeliveryStatus.PENDING,
        attempts=0,
        run_at=NOW,
        created_at=NOW,
        updated_at=NOW,
    )
    return ClaimedDelivery(delivery=delivery, signing=cast(Any, None))


class QuietRunner:
    """The rest of a runner: nothing due later, every lease kept, releases taken."""

    async def next_run_at(self, skip_endpoints: Collection[str] = ()) -> datetime | None:
        return None

    async def extend_leases(self, ids: Collection[str], worker: str, lease: timedelta) -> set[str]:
        return set(ids)

    async def release(self, ids: Collection[str], worker: str) -> None:
        return None


def lane_of(runner: QuietRunner, *, poll_interval: float) -> DeliveryLane:
    """A lane of two sends at a time, one per endpoint, around ``runner``."""
    return DeliveryLane(
        cast(DeliveryRunner, runner),
        concurrency=2,
        per_endpoint=1,
        lease=timedelta(seconds=60),
        poll_interval=poll_interval,
        grace_period=1.0,
        clock=lambda: NOW,
    )


@dataclass
class SlowClaims(QuietRunner):
    """A runner whose first claim returns ``first`` deliveries at once and whose later
    claims wait until ``unblock`` is set (a claim waiting for the writer turn)."""

    first: int
    unblock: asyncio.Event = field(default_factory=asyncio.Event)
    claims: int = 0
    claiming_again: asyncio.Event = field(default_factory=asyncio.Event)
    sent: list[str] = field(default_factory=list)
    all_sent: asyncio.Event = field(default_factory=asyncio.Event)

    async def claim(self, worker: str, limit: int, lease: timedelta, **_: Any) -> list[Any]:
        self.claims += 1
        if self.claims == 1:
            return [claimed(n) for n in range(min(limit, self.first))]
        self.claiming_again.set()
        await self.unblock.wait()
        return []

    async def send(self, item: ClaimedDelivery) -> None:
        if len(self.sent) >= self.first // 2:
            # The second half goes out only while the next claim waits.
            await self.claiming_again.wait()
        self.sent.append(item.delivery.id)
        if len(self.sent) == self.first:
            self.all_sent.set()


async def test_sends_go_on_while_a_claim_waits() -> None:
    # One request at a time to the endpoint: the lane claims again (and that claim
    # waits) once it holds half its capacity of eight; the other four still go out.
    runner = SlowClaims(first=8)
    lane = lane_of(runner, poll_interval=PATIENCE)
    stopping, wakeup = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(lane.run("w1", stopping, wakeup))
    try:
        await asyncio.wait_for(runner.all_sent.wait(), PATIENCE)
        assert not runner.unblock.is_set()
        assert runner.sent == [f"d{n:03d}" for n in range(8)]
    finally:
        runner.unblock.set()
        stopping.set()
        await asyncio.wait_for(running, PATIENCE)


@dataclass
class WorkAnnouncedDuringAClaim(QuietRunner):
    """A runner whose first claim waits until ``unblock`` and finds nothing (it read before
    the work was committed); the work is announced meanwhile, and any later claim finds it."""

    unblock: asyncio.Event = field(default_factory=asyncio.Event)
    claiming: asyncio.Event = field(default_factory=asyncio.Event)
    claims: int = 0
    sent: asyncio.Event = field(default_factory=asyncio.Event)

    async def claim(self, worker: str, limit: int, lease: timedelta, **_: Any) -> list[Any]:
        self.claims += 1
        if self.claims == 1:
            self.claiming.set()
            await self.unblock.wait()
            return []
        return [claimed(1)] if not self.sent.is_set() else []

    async def send(self, item: ClaimedDelivery) -> None:
        self.sent.set()


async def taken(event: asyncio.Event) -> None:
    """Return once the lane has taken (cleared) ``event``."""
    while event.is_set():
        await asyncio.sleep(0)


async def test_work_announced_while_a_claim_runs_is_claimed_when_that_claim_ends() -> None:
    # The lane polls only once an hour here: the delivery goes out only if the wake-up
    # that came during the first claim makes the lane claim again.
    runner = WorkAnnouncedDuringAClaim()
    lane = lane_of(runner, poll_interval=3600.0)
    stopping, wakeup = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(lane.run("w1", stopping, wakeup))
    try:
        await asyncio.wait_for(runner.claiming.wait(), PATIENCE)
        wakeup.set()  # committed after the claim's snapshot
        await asyncio.wait_for(taken(wakeup), PATIENCE)  # seen while the claim still runs
        runner.unblock.set()
        await asyncio.wait_for(runner.sent.wait(), PATIENCE)
        assert runner.claims == 2
    finally:
        runner.unblock.set()
        stopping.set()
        await asyncio.wait_for(running, PATIENCE)
