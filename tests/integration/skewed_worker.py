"""A worker process whose clock is off: it adds deliveries of one order key.

Run as ``python -m tests.integration.skewed_worker URL OFFSET_SECONDS SUBJECT ID…``:
the process clock (``time.time``, ``time.time_ns``) and the times it writes are
``OFFSET_SECONDS`` away from the real ones, as on a machine whose clock drifted.
The ids given are added in one transaction, in that order.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta

from wagate.domain.callbacks import Delivery, DeliveryStatus
from wagate.store import Database, delivery_queue

ENDPOINT = "http://a.example:80"


def skew_process_clock(offset: float) -> None:
    """Move this process's wall clock by ``offset`` seconds."""
    real_time, real_time_ns = time.time, time.time_ns
    time.time = lambda: real_time() + offset
    time.time_ns = lambda: real_time_ns() + int(offset * 1e9)


def _delivery(delivery_id: str, subject: str, now: datetime) -> Delivery:
    return Delivery(
        id=delivery_id, sid="SID1", event_id="e", subject_id=subject, profile_id=None,
        method="GET", url=ENDPOINT + "/hook", body=None, endpoint=ENDPOINT,
        status=DeliveryStatus.PENDING, attempts=0, run_at=now, created_at=now, updated_at=now,
    )  # fmt: skip


async def add(url: str, offset: float, subject: str, ids: list[str]) -> None:
    now = datetime.now(UTC) + timedelta(seconds=offset)
    database = Database(url)
    try:
        async with database.transaction() as connection:
            await delivery_queue.insert_deliveries(
                connection,
                [_delivery(delivery_id, subject, now) for delivery_id in ids],
            )
    finally:
        await database.close()


def main() -> None:
    url, offset, subject, *ids = sys.argv[1:]
    skew_process_clock(float(offset))
    asyncio.run(add(url, float(offset), subject, ids))


if __name__ == "__main__":
    main()
