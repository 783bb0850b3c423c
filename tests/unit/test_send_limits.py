"""The send bucket of a business number: one second's worth at once, then the rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wagate.domain.send_limits import (
    SEND_RETRY,
    SendRate,
    grant,
    next_allowed,
    pair_pause,
    throttled,
)
from wagate.sandbox.limits import Limits

T0 = datetime(2026, 1, 1, tzinfo=UTC)
RATE = SendRate(80.0)


def test_an_unused_bucket_allows_one_seconds_worth_at_once() -> None:
    first = grant(RATE, None, T0, 100)
    assert first.granted == 80
    assert grant(RATE, first.ready_at, T0, 1).granted == 0


def test_then_it_refills_at_the_rate() -> None:
    full = grant(RATE, None, T0, 80).ready_at
    assert grant(RATE, full, T0 + timedelta(milliseconds=100), 100).granted == 8
    assert grant(RATE, full, T0 + timedelta(seconds=1), 100).granted == 80
    assert grant(RATE, full, T0 + timedelta(seconds=60), 1000).granted == 80


def test_over_a_long_burst_it_allows_the_rate_and_no_more() -> None:
    ready_at = None
    sent = 0
    for tick in range(101):  # ten seconds, every 100 ms
        step = grant(RATE, ready_at, T0 + timedelta(milliseconds=100 * tick), 1000)
        sent += step.granted
        ready_at = step.ready_at
    assert 80 * 10 <= sent <= 80 * 11


def test_next_allowed_is_when_one_more_may_go() -> None:
    full = grant(RATE, None, T0, 80).ready_at
    moment = next_allowed(RATE, full, T0)
    assert timedelta(0) < moment - T0 <= timedelta(milliseconds=13)
    assert grant(RATE, full, moment, 1).granted == 1
    assert next_allowed(RATE, None, T0) == T0


def test_no_limit_allows_everything_and_throttling_pauses_a_second() -> None:
    assert grant(SendRate(0), None, T0, 10_000).granted == 10_000
    assert grant(RATE, throttled(RATE, T0), T0 + timedelta(milliseconds=500), 1).granted == 0
    assert grant(RATE, throttled(RATE, T0), T0 + timedelta(seconds=2), 1).granted == 1


def test_pauses_double_to_their_cap() -> None:
    assert [pair_pause(n).total_seconds() for n in (1, 2, 3, 9)] == [6.0, 12.0, 24.0, 60.0]
    assert [SEND_RETRY.decide(n).delay for n in (1, 2, 10)] == [1.0, 2.0, 60.0]


def test_the_sandbox_refuses_past_its_rate_and_between_a_pair_too_soon() -> None:
    limits = Limits()
    assert all(limits.admit("PN1", f"1555000{i:04}") is None for i in range(500))
    limits.update({"messages_per_second": 5})
    answers = [limits.admit("PN1", f"1555000{i:04}") for i in range(8)]
    assert answers.count(None) == 5
    assert answers[5:] == ["throughput"] * 3
    assert limits.admit("PN2", "15550000001") is None, "each number has its own bucket"
    limits.update({"messages_per_second": None, "pair_interval_ms": 60_000})
    assert limits.admit("PN1", "15550000001") is None
    assert limits.admit("PN1", "15550000001") == "pair"
    assert limits.admit("PN1", "15550000002") is None
    assert limits.as_json()["pair_throttled"] == 1


def test_a_rate_below_one_a_second_allows_one_at_a_time() -> None:
    slow = SendRate(0.5)
    first = grant(slow, None, T0, 5)
    assert first.granted == 1
    assert grant(slow, first.ready_at, T0 + timedelta(seconds=1), 5).granted == 0
    assert grant(slow, first.ready_at, T0 + timedelta(seconds=2), 5).granted == 1
