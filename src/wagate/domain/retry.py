"""When to retry a failed callback delivery: a fixed schedule with jitter, as pure functions."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

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


def decide_retry(
    attempt_number: int,
    schedule: Sequence[float],
    *,
    retry_after: float | None,
    jitter: float = 0.2,
    rand: Callable[[], float],
) -> RetryDecision:
    """What to do after the ``attempt_number``-th failed attempt (1 after the first).

    The wait is ``schedule[attempt_number - 1]`` spread by ``±jitter`` of
    itself, ``rand()`` (in ``[0, 1)``) choosing where; a ``retry_after``
    (seconds the receiver asked for) raises it to at least that. Once the
    schedule is used up the delivery is dead: ``retry`` is False.
    """
    if attempt_number < 1:
        raise ValueError(f"attempt_number must be 1 or more, not {attempt_number}")
    if not 0 <= jitter <= 1:
        raise ValueError(f"jitter must be a fraction between 0 and 1, not {jitter}")
    if attempt_number > len(schedule):
        return RetryDecision(retry=False, delay=None)
    nominal = schedule[attempt_number - 1]
    spread = 2.0 * min(max(rand(), 0.0), 1.0) - 1.0
    delay = max(0.0, nominal * (1.0 + jitter * spread))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return RetryDecision(retry=True, delay=delay)


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
