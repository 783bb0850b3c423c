"""Endpoints' breakers and the slots they may send from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wagate.domain.endpoint_health import (
    FIRST_COOLDOWN,
    MAX_COOLDOWN,
    OPEN_AFTER,
    EndpointHealth,
    EndpointState,
)
from wagate.worker.endpoint_slots import SLOW_AFTER, SLOW_HOLD, EndpointSlots

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_failures_in_a_row_open_the_breaker_and_a_probe_decides() -> None:
    health = EndpointHealth()
    for _ in range(OPEN_AFTER - 1):
        health = health.failed(T0, "HTTP 500")
        assert health.state is EndpointState.HEALTHY
    health = health.failed(T0, "HTTP 500")
    assert health.state is EndpointState.OPEN
    assert health.open_until == T0 + FIRST_COOLDOWN
    assert not health.may_send(T0 + FIRST_COOLDOWN / 2)
    assert health.may_send(T0 + FIRST_COOLDOWN)

    probing = health.sending(T0 + FIRST_COOLDOWN)
    assert probing.state is EndpointState.PROBING
    assert not probing.may_send(T0 + FIRST_COOLDOWN), "one probe at a time"
    reopened = probing.failed(T0 + FIRST_COOLDOWN, "timeout")
    assert reopened.state is EndpointState.OPEN
    assert reopened.cooldown == FIRST_COOLDOWN * 2

    assert probing.succeeded(slow=False) == EndpointHealth()


def test_the_cooldown_doubles_up_to_its_cap() -> None:
    health = EndpointHealth(EndpointState.PROBING, cooldown=MAX_COOLDOWN)
    assert health.failed(T0, "x").cooldown == MAX_COOLDOWN


def test_a_success_between_failures_starts_the_count_again() -> None:
    health = EndpointHealth()
    for _ in range(OPEN_AFTER - 1):
        health = health.failed(T0, "HTTP 503")
    health = health.succeeded(slow=False).failed(T0, "HTTP 503")
    assert (health.state, health.failures) == (EndpointState.HEALTHY, 1)


def slots() -> EndpointSlots:
    return EndpointSlots(fast=4, slow=2, per_endpoint=2, hold_per_endpoint=8)


def test_requests_that_hang_leave_the_fast_pool_to_endpoints_that_answer() -> None:
    pool = slots()
    for n in range(2):
        for endpoint in ("hang-a", "hang-b"):
            assert pool.can_start(endpoint, T0)
            pool.start(f"{endpoint}-{n}", endpoint, T0, at=0.0)
    assert not pool.can_start("healthy", T0), "the fast pool is full"

    slowed = pool.overdue(at=SLOW_AFTER + 0.01)
    assert sorted(slowed) == ["hang-a", "hang-b"]
    assert pool.fast_used == 0
    assert pool.can_start("healthy", T0)
    assert not pool.can_start("hang-a", T0), "a slow endpoint waits for its request in flight"
    assert pool.hold_limit("hang-a", T0) == SLOW_HOLD

    pool.answered("hang-a-0")
    pool.answered("hang-a-1")
    assert pool.judge("hang-a", succeeded=True, seconds=0.05, error=None, now=T0) is not None
    assert pool.state("hang-a").state is EndpointState.HEALTHY, "it answers quickly again"


def test_an_open_endpoint_holds_nothing_until_it_cools_down() -> None:
    pool = slots()
    for n in range(OPEN_AFTER):
        pool.start(f"d{n}", "down", T0, at=0.0)
        pool.answered(f"d{n}")
        changed = pool.judge("down", succeeded=False, seconds=0.01, error="HTTP 500", now=T0)
    assert changed is not None
    assert changed.state is EndpointState.OPEN
    assert pool.hold_limit("down", T0) == 0
    assert not pool.can_start("down", T0)
    later = T0 + FIRST_COOLDOWN + timedelta(seconds=1)
    assert pool.can_start("down", later)
    pool.start("probe", "down", later, at=10.0)
    assert pool.state("down").state is EndpointState.PROBING
    assert not pool.can_start("down", later)
