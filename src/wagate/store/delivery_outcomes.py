"""Recording the outcomes of delivery attempts, by batch: the attempts logged, the
deliveries moved on, and each finished delivery's successor let go.

Deliveries of one order key go out one at a time (:mod:`wagate.store.delivery_queue`);
a delivery that succeeded or died hands its key's turn to the next
(:func:`wagate.store.order_heads.promote_successors`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from wagate.domain import json_text
from wagate.domain.callbacks import Attempt, AttemptTrigger, Delivery, DeliveryStatus, order_key
from wagate.store import order_heads
from wagate.store.bulk import execute_many
from wagate.store.tables import deliveries, delivery_attempts

__all__ = ["Outcome", "OutcomeRows", "outcome_rows", "record_outcomes"]

_FINISHED = (DeliveryStatus.SUCCEEDED, DeliveryStatus.DEAD)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ATTEMPT_COLUMNS = [
    "id", "delivery_id", "number", "trigger", "method", "url", "request_headers",
    "response_status", "response_body", "duration_ms", "error_class", "error",
    "next_attempt_at", "created_at",
]  # fmt: skip
# An attempt is logged only while its delivery exists: past retention a delivery goes
# with its subject even while a worker is making an attempt of it.
_INSERT_ATTEMPTS = insert(delivery_attempts).from_select(
    _ATTEMPT_COLUMNS,
    select(
        *(bindparam(name, type_=delivery_attempts.c[name].type) for name in _ATTEMPT_COLUMNS)
    ).where(
        exists().where(
            deliveries.c.id == bindparam("delivery_id", type_=delivery_attempts.c.delivery_id.type)
        )
    ),
)
_RECORD_OUTCOME = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        attempts=deliveries.c.attempts + 1,
        locked_by=None,
        locked_until=None,
        trigger=AttemptTrigger.SCHEDULED.value,
        last_response_status=bindparam("b_response_status"),
        last_error=bindparam("b_error"),
        updated_at=bindparam("b_now"),
        run_at=func.coalesce(
            bindparam("b_run_at", type_=deliveries.c.run_at.type), deliveries.c.run_at
        ),
        delivered_at=func.coalesce(
            bindparam("b_delivered_at", type_=deliveries.c.delivered_at.type),
            deliveries.c.delivered_at,
        ),
    )
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt made, and the state its delivery moves to."""

    delivery: Delivery
    attempt: Attempt
    status: DeliveryStatus


@dataclass(frozen=True, slots=True)
class OutcomeRows:
    """A batch of outcomes as the rows :func:`record_outcomes` writes, built before its
    transaction: on SQLite every other writer waits while that transaction is open."""

    attempts: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]
    finished: dict[str, str]
    finished_at: datetime


def outcome_rows(outcomes: Sequence[Outcome]) -> OutcomeRows:
    """The rows that record ``outcomes``."""
    return OutcomeRows(
        attempts=[_attempt_row(outcome.attempt) for outcome in outcomes],
        deliveries=[
            {
                "b_id": outcome.delivery.id,
                "b_status": outcome.status.value,
                "b_response_status": outcome.attempt.response_status,
                "b_error": outcome.attempt.error,
                "b_now": outcome.attempt.created_at,
                "b_run_at": outcome.attempt.next_attempt_at,
                "b_delivered_at": (
                    outcome.attempt.created_at
                    if outcome.status is DeliveryStatus.SUCCEEDED
                    else None
                ),
            }
            for outcome in sorted(outcomes, key=lambda o: o.delivery.id)
        ],
        finished={
            order_key(outcome.delivery): outcome.delivery.id
            for outcome in outcomes
            if outcome.status in _FINISHED
        },
        finished_at=max((outcome.attempt.created_at for outcome in outcomes), default=_EPOCH),
    )


async def record_outcomes(connection: AsyncConnection, rows: OutcomeRows) -> None:
    """Move the deliveries on and log their attempts, then let each finished
    delivery's successor (the next of its order key) go.

    A delivery purged meanwhile (past retention) is neither written nor logged. Its
    row is updated first: on PostgreSQL that locks it, or waits for the purge that is
    deleting it, so the attempt is logged exactly when the delivery is still there.
    """
    if not rows.attempts:
        return
    await execute_many(connection, _RECORD_OUTCOME, rows.deliveries)
    await execute_many(connection, _INSERT_ATTEMPTS, rows.attempts)
    await order_heads.promote_successors(connection, rows.finished, rows.finished_at)


def _attempt_row(attempt: Attempt) -> dict[str, Any]:
    return {
        "id": attempt.id,
        "delivery_id": attempt.delivery_id,
        "number": attempt.number,
        "trigger": attempt.trigger.value,
        "method": attempt.method,
        "url": attempt.url,
        "request_headers": json_text.compact(attempt.request_headers),
        "response_status": attempt.response_status,
        "response_body": attempt.response_body,
        "duration_ms": attempt.duration_ms,
        "error_class": attempt.error_class,
        "error": attempt.error,
        "next_attempt_at": attempt.next_attempt_at,
        "created_at": attempt.created_at,
    }
