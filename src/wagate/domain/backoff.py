"""How long to wait before retrying: exponential backoff with jitter, as pure functions."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Backoff", "backoff_delay"]

_MAX_DOUBLINGS = 1000


def backoff_delay(
    attempt: int, *, base: float, cap: float, jitter: float, rand: Callable[[], float]
) -> float:
    """Seconds to wait after the ``attempt``-th consecutive failure (1 for the first).

    The nominal delay is ``base * 2 ** (attempt - 1)``, capped at ``cap``; it is
    then spread by ``±jitter`` of itself, ``rand()`` (a number in ``[0, 1)``)
    choosing where, so the result lies in ``[nominal * (1 - jitter),
    nominal * (1 + jitter)]``.
    """
    if attempt < 1:
        raise ValueError(f"attempt must be 1 or more, not {attempt}")
    if base < 0 or cap < 0:
        raise ValueError("base and cap must not be negative")
    if not 0 <= jitter <= 1:
        raise ValueError(f"jitter must be a fraction between 0 and 1, not {jitter}")
    nominal = min(cap, base * 2.0 ** min(attempt - 1, _MAX_DOUBLINGS))
    spread = 2.0 * min(max(rand(), 0.0), 1.0) - 1.0
    return max(0.0, nominal * (1.0 + jitter * spread))


@dataclass(frozen=True)
class Backoff:
    """A backoff schedule; call it with the attempt number to get a delay in seconds."""

    base: float = 0.5
    cap: float = 30.0
    jitter: float = 0.2
    rand: Callable[[], float] = random.random

    def __call__(self, attempt: int) -> float:
        return backoff_delay(
            attempt, base=self.base, cap=self.cap, jitter=self.jitter, rand=self.rand
        )
