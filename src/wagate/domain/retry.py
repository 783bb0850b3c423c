"""When to retry failed work: one decision for every job, as pure functions.

:meth:`RetryPolicy.decide` is what deliveries, upload transfers, media downloads and
queued sends all ask after a failure: give up on a permanent error, past the last
attempt or past a deadline, else wait what the schedule says (at least what the
other side asked for). A schedule is the deliveries' fixed list of waits with jitter
(:class:`JitteredSchedule`) or an exponential backoff
(:class:`~wagate.domain.backoff.Backoff`).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

__all__ = [
    "DEFAULT_SCHEDULE",
    "GIVE_UP",
    "RETRY_AFTER_CAP",
    "JitteredSchedule",
    "RetryDecision",
    "RetryPolicy",
    "parse_retry_after",
    "parse_schedule",
]

DEFAULT_SCHEDULE: Final[tuple[float, ...]] = (
    5,
    30,
    120,
    600,
    1800,
    3600,
    7200,
    14400,
    28800,
    43200,
    86400,
    64800,
)
"""Seconds to wait before each retry: 12 retries, 13 attempts in all.

They start within seconds and add up to 250,955 s (2 days 21 h 42 m), a little
under the 3 days (259,200 s) after which an upload's data is purged; jitter
spreads each wait by its fraction either way.
"""

RETRY_AFTER_CAP: Final = 86400.0
_UNITS: Final = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_ENTRY_RE: Final = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)")


@dataclass(frozen=True)
class RetryDecision:
    """Whether to try again, and after how many seconds (None when not)."""

    retry: bool
    delay: float | None


def parse_schedule(text: str) -> tuple[float, ...]:
    """A schedule from a comma-separated list of waits: ``"5,30,120"`` or ``"5s,10m,2h,1d"``.

    Raises ValueError for an empty list or an entry that is not a number of
    seconds, optionally with a unit (s, m, h, d).
    """
    entries = [entry.strip().lower() for entry in text.split(",")]
    if not any(entries):
        raise ValueError("a retry schedule needs at least one wait")
    schedule: list[float] = []
    for entry in entries:
        match = _ENTRY_RE.fullmatch(entry)
        if match is None:
            raise ValueError(f"{entry!r} is not a wait in seconds (or with a unit s, m, h, d)")
        schedule.append(float(match.group(1)) * _UNITS[match.group(2)])
    return tuple(schedule)


@dataclass(frozen=True, slots=True)
class JitteredSchedule:
    """A fixed list of waits, each spread by ``±jitter`` of itself; exhausted after the last.

    Called with the number of the failed attempt (1 after the first), it gives the
    wait before the next, ``rand()`` (in ``[0, 1)``) choosing where in the spread,
    or None once the list is used up.
    """

    waits: Sequence[float]
    jitter: float = 0.2
    rand: Callable[[], float] = random.random

    def __post_init__(self) -> None:
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be a fraction between 0 and 1, not {self.jitter}")

    def __call__(self, attempt: int) -> float | None:
        if attempt > len(self.waits):
            return None
        nominal = self.waits[attempt - 1]
        spread = 2.0 * min(max(self.rand(), 0.0), 1.0) - 1.0
        return max(0.0, nominal * (1.0 + self.jitter * spread))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a job tries again after a failure, and when it gives up."""

    #: The wait after the n-th failed attempt; None when there is no next one.
    schedule: Callable[[int], float | None]
    #: Attempts after which it gives up whatever the schedule says (None: no limit).
    max_attempts: int | None = None

    def decide(
        self,
        attempt: int,
        *,
        permanent: bool = False,
        past_deadline: bool = False,
        retry_after: float | None = None,
    ) -> RetryDecision:
        """What to do after the ``attempt``-th failed attempt (1 after the first).

        No retry for a ``permanent`` failure, ``past_deadline`` (the work is no longer
        wanted), at ``max_attempts`` or once the schedule is used up; otherwise the
        schedule's wait, raised to at least ``retry_after`` (seconds the other side
        asked for).
        """
        if attempt < 1:
            raise ValueError(f"attempt_number must be 1 or more, not {attempt}")
        if permanent or past_deadline:
            return GIVE_UP
        if self.max_attempts is not None and attempt >= self.max_attempts:
            return GIVE_UP
        delay = self.schedule(attempt)
        if delay is None:
            return GIVE_UP
        if retry_after is not None:
            delay = max(delay, retry_after)
        return RetryDecision(retry=True, delay=delay)


#: The decision not to try again.
GIVE_UP: Final = RetryDecision(retry=False, delay=None)


def parse_retry_after(
    value: str | None, now: datetime, *, cap: float = RETRY_AFTER_CAP
) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait, at most ``cap``; None when unusable.

    Takes delta-seconds (``120``) and HTTP-dates (``Wed, 21 Oct 2015 07:28:00
    GMT``); a date in the past means 0. ``now`` without a time zone is UTC.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return min(float(int(text)), cap)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    when = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    seconds = (when - now).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), cap)
