"""How fast a business number may send: Meta's throughput, and pauses Meta asks for.

The rate per number is a token bucket holding one second's worth of sends,
kept as a single instant (the generic cell rate algorithm): ``ready_at`` is
when the bucket will be full again if nothing more is sent. Granting ``n``
sends moves it ``n / rate`` seconds on; a send is allowed while that keeps it
within one second of now. One stored instant per number is all the state
there is, so every process that sends for the number shares it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from wagate.domain.backoff import Backoff
from wagate.domain.retry import RetryPolicy

__all__ = [
    "PAIR_PAUSE_CAP_SECONDS",
    "PAIR_PAUSE_SECONDS",
    "PAIR_RATE_EXCEEDED",
    "RETRY_BASE_SECONDS",
    "RETRY_CAP_SECONDS",
    "SEND_RETRY",
    "THROTTLE_PAUSE",
    "THROUGHPUT_EXCEEDED",
    "Grant",
    "SendRate",
    "grant",
    "next_allowed",
    "pair_pause",
    "throttled",
]

#: Meta's code for "this number sent more than its throughput allows".
THROUGHPUT_EXCEEDED: Final = 130429
#: Meta's code for "too many messages to this user in a short time" (the pair rate limit).
PAIR_RATE_EXCEEDED: Final = 131056
#: How long a number waits after Meta said 130429; how long one user waits after 131056.
THROTTLE_PAUSE: Final = timedelta(seconds=1)
PAIR_PAUSE_SECONDS: Final = 6.0
PAIR_PAUSE_CAP_SECONDS: Final = 60.0
#: Pauses after a transient failure of a queued send (5xx, no answer), doubling to the cap.
RETRY_BASE_SECONDS: Final = 1.0
RETRY_CAP_SECONDS: Final = 60.0
#: When a queued send that failed transiently is tried again: no limit, it expires first.
SEND_RETRY: Final = RetryPolicy(Backoff(base=RETRY_BASE_SECONDS, cap=RETRY_CAP_SECONDS, jitter=0.0))


@dataclass(frozen=True, slots=True)
class SendRate:
    """Sends per second allowed per business number; 0 or less means no limit."""

    per_second: float

    @property
    def limited(self) -> bool:
        """Whether sends are counted at all."""
        return self.per_second > 0

    @property
    def interval(self) -> timedelta:
        """The time one send takes of the bucket."""
        return timedelta(seconds=1.0 / self.per_second)

    @property
    def tolerance(self) -> timedelta:
        """How far ahead of now the bucket may be booked: one second's sends, less one (none
        below one send a second: one at a time)."""
        return max(timedelta(0), timedelta(seconds=1.0) - self.interval)


@dataclass(frozen=True, slots=True)
class Grant:
    """How many of the sends asked for may go now, and the bucket's instant after them."""

    granted: int
    ready_at: datetime | None


def grant(rate: SendRate, ready_at: datetime | None, now: datetime, wanted: int) -> Grant:
    """Allow up to ``wanted`` sends now from a bucket at ``ready_at`` (None: never used)."""
    if not rate.limited:
        return Grant(wanted, ready_at)
    start = max(ready_at or now, now)
    room_seconds = (now + rate.tolerance - start).total_seconds()
    room = 0 if room_seconds < 0 else math.floor(room_seconds * rate.per_second + 1e-9) + 1
    granted = max(0, min(wanted, room))
    return Grant(granted, start + rate.interval * granted)


def next_allowed(rate: SendRate, ready_at: datetime | None, now: datetime) -> datetime:
    """When the bucket allows its next send (now, when it already does)."""
    if not rate.limited or ready_at is None:
        return now
    return max(now, ready_at - rate.tolerance)


def throttled(rate: SendRate, now: datetime) -> datetime:
    """The bucket's instant after Meta said the number sent too much: empty, and nothing
    more for :data:`THROTTLE_PAUSE`."""
    return now + THROTTLE_PAUSE + (rate.tolerance if rate.limited else timedelta(0))


def pair_pause(attempts: int) -> timedelta:
    """How long one user's messages wait after the ``attempts``-th 131056 in a row."""
    seconds = PAIR_PAUSE_SECONDS * 2.0 ** min(max(attempts, 1) - 1, 16)
    return timedelta(seconds=min(PAIR_PAUSE_CAP_SECONDS, seconds))
