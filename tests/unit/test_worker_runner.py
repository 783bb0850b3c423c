"""The worker's claim loop winds down on stop: grace period, release, no claims after."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from structlog.testing import capture_logs

from wagate.domain.errors import DatabaseUnavailable
from wagate.worker.runner import Lane, Worker, WorkerSettings

GRACE = 0.3


@dataclass
class Item:
    id: str
    attempts: int = 1


@dataclass
class FakeSource:
    """Hands out as many items as asked; each runs for ``run_seconds``."""

    run_seconds: float
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    claimed: list[str] = field(default_factory=list)
    claimed_after_stop: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)

    async def claim(self, worker: str, limit: int, lease: timedelta) -> Sequence[Item]:
        items = [Item(f"item-{len(self.claimed) + n}") for n in range(limit)]
        self.claimed.extend(item.id for item in items)
        if self.stopped.is_set():
            self.claimed_after_stop.extend(item.id for item in items)
        return items

    async def run(self, item: Item) -> None:
        await asyncio.sleep(self.run_seconds)
        self.finished.append(item.id)

    async def extend_lease(self, item: Item, lease: timedelta) -> bool:
        return True

    async def release(self, item: Item) -> None:
        self.released.append(item.id)

    async def retry_later(self, item: Item, delay: timedelta, error: str) -> None:
        raise AssertionError(f"{item.id} failed: {error}")

    def log_fields(self, item: Item) -> dict[str, str]:
        return {"item_id": str(item.id)}

    async def next_run_at(self) -> datetime | None:
        return None


async def run_then_stop(source: FakeSource, concurrency: int) -> float:
    """Start a worker with one lane, stop it once the lane is full; seconds the stop took."""
    worker = Worker([Lane("test", source, concurrency)], WorkerSettings(grace_period=GRACE))
    running = asyncio.create_task(worker.run())
    while len(source.claimed) < concurrency:
        await asyncio.sleep(0.01)
    loop = asyncio.get_running_loop()
    source.stopped.set()
    worker.stop()
    started = loop.time()
    await asyncio.wait_for(running, timeout=5)
    return loop.time() - started


async def test_a_full_lane_of_stuck_items_is_released_after_the_grace_period() -> None:
    source = FakeSource(run_seconds=3600)
    took = await run_then_stop(source, concurrency=3)
    assert took < GRACE + 1.0, "the stop waited for a slot of the full lane"
    assert sorted(source.released) == sorted(source.claimed) == ["item-0", "item-1", "item-2"]
    assert source.claimed_after_stop == []
    assert source.finished == []


async def test_items_that_finish_within_the_grace_period_are_not_released_nor_followed() -> None:
    source = FakeSource(run_seconds=GRACE / 3)
    await run_then_stop(source, concurrency=2)
    assert source.finished == source.claimed == ["item-0", "item-1"]
    assert source.released == []
    assert source.claimed_after_stop == [], "a slot freed after the stop was filled again"


@dataclass
class UnreachableSource(FakeSource):
    """Its database is down: every claim fails."""

    claims: int = 0

    async def claim(self, worker: str, limit: int, lease: timedelta) -> Sequence[Item]:
        self.claims += 1
        raise DatabaseUnavailable("cannot connect: ConnectionRefusedError(111)")


async def test_a_database_outage_is_logged_as_such_and_the_lane_keeps_trying() -> None:
    source = UnreachableSource(run_seconds=0)
    worker = Worker([Lane("test", source, 1)], WorkerSettings(poll_interval=0.01))
    with capture_logs() as logs:
        running = asyncio.create_task(worker.run())
        while source.claims < 3:
            await asyncio.sleep(0.01)
        worker.stop()
        await asyncio.wait_for(running, timeout=5)
    failures = [entry for entry in logs if entry["event"] == "worker.claim_failed"]
    assert len(failures) >= 3
    assert {entry["log_level"] for entry in failures} == {"warning"}
    assert all("exc_info" not in entry for entry in failures), "no traceback for an outage"
    assert "ConnectionRefusedError" in failures[0]["error"]
