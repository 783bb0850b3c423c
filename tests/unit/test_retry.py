from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wagate.domain.backoff import Backoff
from wagate.domain.retry import (
    DEFAULT_SCHEDULE,
    JitteredSchedule,
    RetryDecision,
    RetryPolicy,
    parse_retry_after,
    parse_schedule,
)

NOW = datetime(2025, 2, 7, 9, 18, 10, tzinfo=UTC)


def middle() -> float:
    return 0.5


def decide_retry(
    attempt_number: int,
    schedule: Sequence[float],
    *,
    retry_after: float | None,
    jitter: float = 0.2,
    rand: Callable[[], float],
) -> RetryDecision:
    """The deliveries' decision: their schedule of waits with jitter, no other limit."""
    policy = RetryPolicy(JitteredSchedule(schedule, jitter, rand))
    return policy.decide(attempt_number, retry_after=retry_after)


def test_a_permanent_failure_or_a_passed_deadline_gives_up_at_once() -> None:
    policy = RetryPolicy(Backoff(base=5.0, cap=600.0, jitter=0.0))
    assert policy.decide(1) == RetryDecision(True, 5.0)
    assert policy.decide(1, permanent=True) == RetryDecision(False, None)
    assert policy.decide(1, past_deadline=True) == RetryDecision(False, None)


def test_a_job_gives_up_at_its_last_attempt() -> None:
    policy = RetryPolicy(Backoff(base=5.0, cap=600.0, jitter=0.0), max_attempts=3)
    assert [policy.decide(n).delay for n in (1, 2)] == [5.0, 10.0]
    assert not policy.decide(3).retry


def test_a_schedule_is_parsed_from_seconds_and_units() -> None:
    assert parse_schedule("5,30,120") == (5.0, 30.0, 120.0)
    assert parse_schedule(" 5s, 10m ,2h,1d, 0.5 ") == (5.0, 600.0, 7200.0, 86400.0, 0.5)


@pytest.mark.parametrize("text", ["", " , ", "5,,30", "5,-1", "ten", "5,1w", "nan", "inf"])
def test_a_bad_schedule_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="wait"):
        parse_schedule(text)


def test_the_default_starts_within_seconds_and_spans_about_three_days() -> None:
    assert DEFAULT_SCHEDULE[0] <= 10
    assert 2.75 * 86400 <= sum(DEFAULT_SCHEDULE) <= 3 * 86400
    assert sum(DEFAULT_SCHEDULE) == 250955
    assert parse_schedule(",".join(str(int(s)) for s in DEFAULT_SCHEDULE)) == DEFAULT_SCHEDULE


def test_each_failure_takes_the_next_wait() -> None:
    schedule = (5.0, 30.0, 120.0)
    delays = [decide_retry(n, schedule, retry_after=None, rand=middle).delay for n in (1, 2, 3)]
    assert delays == [5.0, 30.0, 120.0]


def test_dead_after_the_last_wait() -> None:
    assert decide_retry(3, (5.0, 30.0, 120.0), retry_after=None, rand=middle) == RetryDecision(
        True, 120.0
    )
    assert decide_retry(4, (5.0, 30.0, 120.0), retry_after=None, rand=middle) == RetryDecision(
        False, None
    )
    assert not decide_retry(
        len(DEFAULT_SCHEDULE) + 1, DEFAULT_SCHEDULE, retry_after=3, rand=middle
    ).retry


def test_retry_after_raises_the_delay_but_never_lowers_it() -> None:
    assert decide_retry(1, (5.0,), retry_after=60.0, rand=middle).delay == 60.0
    assert decide_retry(1, (5.0,), retry_after=1.0, rand=middle).delay == 5.0


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="attempt_number"):
        decide_retry(0, (5.0,), retry_after=None, rand=middle)
    with pytest.raises(ValueError, match="jitter"):
        decide_retry(1, (5.0,), retry_after=None, jitter=1.5, rand=middle)


@given(
    attempt=st.integers(min_value=1, max_value=len(DEFAULT_SCHEDULE)),
    jitter=st.floats(min_value=0, max_value=1),
    r=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_jitter_keeps_the_delay_within_its_fraction(attempt: int, jitter: float, r: float) -> None:
    nominal = DEFAULT_SCHEDULE[attempt - 1]
    decision = decide_retry(
        attempt, DEFAULT_SCHEDULE, retry_after=None, jitter=jitter, rand=lambda: r
    )
    assert decision.retry
    assert decision.delay is not None
    assert nominal * (1 - jitter) - 1e-9 <= decision.delay <= nominal * (1 + jitter) + 1e-9


@given(
    attempt=st.integers(min_value=1, max_value=len(DEFAULT_SCHEDULE)),
    retry_after=st.floats(min_value=0, max_value=86400),
    r=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_the_delay_is_at_least_retry_after(attempt: int, retry_after: float, r: float) -> None:
    decision = decide_retry(attempt, DEFAULT_SCHEDULE, retry_after=retry_after, rand=lambda: r)
    assert decision.delay is not None
    assert decision.delay >= retry_after


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("999999999", 86400.0),
        ("Fri, 07 Feb 2025 09:20:10 GMT", 120.0),
        ("Friday, 07-Feb-25 09:20:10 GMT", 120.0),
        ("Fri Feb  7 09:20:10 2025", 120.0),
        ("Fri, 07 Feb 2025 09:00:00 GMT", 0.0),
        ("Fri, 07 Feb 2030 09:00:00 GMT", 86400.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("١٢٣", None),
    ],
)
def test_retry_after_is_parsed(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_retry_after_with_a_naive_now_is_utc_and_the_cap_can_be_set() -> None:
    naive = NOW.replace(tzinfo=None)
    assert parse_retry_after("Fri, 07 Feb 2025 09:20:10 GMT", naive) == 120.0
    later = (NOW + timedelta(hours=2)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after(later, NOW, cap=3600) == 3600


@given(st.text())
def test_garbage_never_raises(value: str) -> None:
    result = parse_retry_after(value, NOW)
    assert result is None or 0 <= result <= 86400
