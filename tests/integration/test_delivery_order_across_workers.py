"""Deliveries of one order key go out in the order they were added, whatever the clocks
of the processes that added them say (two worker processes, one clock an hour ahead,
the other an hour behind)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from wagate.domain.callbacks import Attempt, AttemptTrigger, DeliveryStatus
from wagate.store import Database, delivery_outcomes, delivery_queue

AHEAD, BEHIND = 3600.0, -3600.0
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def database(worker_database: Database) -> Database:
    return worker_database


def add_from_worker(url: str, offset: float, subject: str, ids: list[str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "tests.integration.skewed_worker", url, str(offset), subject, *ids],
        cwd=ROOT,
        check=True,
        timeout=120,
    )


async def send_in_turn(database: Database, subject: str) -> list[str]:
    """Claim the key's head, record it succeeded, and again until none is left: the ids
    in the order they were sent."""
    far_future = datetime.now(UTC) + timedelta(days=1)
    sent: list[str] = []
    while True:
        async with database.transaction() as connection:
            claimed = await delivery_queue.claim(
                connection, worker="w", limit=10, lease=timedelta(seconds=30),
                now=far_future, per_endpoint=10,
            )  # fmt: skip
        mine = [d for d in claimed if d.subject_id == subject]
        if not mine:
            return sent
        assert len(mine) == 1, "one delivery of a key at a time"
        (delivery,) = mine
        attempt = Attempt(
            id=str(uuid.uuid4()), delivery_id=delivery.id, number=1,
            trigger=AttemptTrigger.SCHEDULED, method="GET", url=delivery.url,
            request_headers={}, response_status=200, response_body="", duration_ms=1,
            error_class=None, error=None, next_attempt_at=None, created_at=far_future,
        )  # fmt: skip
        outcome = delivery_outcomes.Outcome(delivery, attempt, DeliveryStatus.SUCCEEDED)
        async with database.transaction() as connection:
            await delivery_outcomes.record_outcomes(
                connection, delivery_outcomes.outcome_rows([outcome])
            )
        sent.append(delivery.id)


async def test_order_within_a_key_survives_skewed_worker_clocks(
    database: Database, database_url: str
) -> None:
    subject = "message-1"
    added: list[str] = []
    for offset, count in ((AHEAD, 1), (BEHIND, 2), (AHEAD, 1), (BEHIND, 1), (AHEAD, 2)):
        ids = [f"dlv_{len(added) + i}" for i in range(count)]
        add_from_worker(database_url, offset, subject, ids)
        added.extend(ids)

    assert await send_in_turn(database, subject) == added
