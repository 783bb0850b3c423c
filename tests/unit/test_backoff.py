from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wagate.domain.backoff import Backoff, backoff_delay


def middle() -> float:
    return 0.5


@pytest.mark.parametrize(
    ("attempt", "expected"), [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (7, 30.0), (10**6, 30.0)]
)
def test_the_delay_doubles_from_base_up_to_the_cap(attempt: int, expected: float) -> None:
    assert backoff_delay(attempt, base=0.5, cap=30.0, jitter=0.2, rand=middle) == expected


def test_jitter_spreads_the_delay_by_its_fraction_either_way() -> None:
    assert backoff_delay(3, base=1.0, cap=60.0, jitter=0.25, rand=lambda: 0.0) == 3.0
    assert backoff_delay(3, base=1.0, cap=60.0, jitter=0.25, rand=lambda: 1.0) == 5.0


@given(
    attempt=st.integers(min_value=1, max_value=5000),
    base=st.floats(min_value=0, max_value=100),
    cap=st.floats(min_value=0, max_value=3600),
    jitter=st.floats(min_value=0, max_value=1),
    r=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_the_delay_stays_within_the_jittered_nominal(
    attempt: int, base: float, cap: float, jitter: float, r: float
) -> None:
    nominal = min(cap, base * 2.0 ** min(attempt - 1, 1000))
    delay = backoff_delay(attempt, base=base, cap=cap, jitter=jitter, rand=lambda: r)
    assert delay >= 0
    assert nominal * (1 - jitter) - 1e-9 <= delay <= nominal * (1 + jitter) + 1e-9


@given(attempt=st.integers(min_value=1, max_value=60))
def test_without_jitter_the_delay_never_shrinks(attempt: int) -> None:
    def delay(n: int) -> float:
        return backoff_delay(n, base=0.1, cap=10.0, jitter=0.0, rand=middle)

    assert delay(attempt) <= delay(attempt + 1) <= 10.0


@pytest.mark.parametrize(
    "arguments",
    [
        {"attempt": 0},
        {"attempt": -1},
        {"base": -1.0},
        {"cap": -1.0},
        {"jitter": 1.5},
        {"jitter": -0.1},
    ],
)
def test_nonsense_arguments_are_refused(arguments: dict[str, float]) -> None:
    values: dict[str, float] = {"attempt": 1, "base": 1.0, "cap": 10.0, "jitter": 0.1}
    values.update(arguments)
    with pytest.raises(ValueError, match=r"."):
        backoff_delay(
            int(values["attempt"]),
            base=values["base"],
            cap=values["cap"],
            jitter=values["jitter"],
            rand=middle,
        )


def test_a_backoff_schedule_is_called_with_the_attempt_number() -> None:
    schedule = Backoff(base=2.0, cap=5.0, jitter=0.5, rand=middle)
    assert [schedule(n) for n in (1, 2, 3)] == [2.0, 4.0, 5.0]
