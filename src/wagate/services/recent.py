"""A small cache of what was read recently, for lookups on every request."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["RecentlyRead"]

Key = TypeVar("Key")
Value = TypeVar("Value")


class RecentlyRead(Generic[Key, Value]):
    """Values read within the last ``ttl`` seconds, at most ``size`` of them, oldest dropped.

    Only what was found is kept: a lookup that found nothing asks again next time.
    """

    def __init__(
        self, ttl: float, size: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._size = size
        self._clock = clock
        self._values: OrderedDict[Key, tuple[float, Value]] = OrderedDict()

    def get(self, key: Key) -> Value | None:
        """The value kept for ``key`` if it is recent enough, else None."""
        found = self._values.get(key)
        if found is None:
            return None
        if found[0] < self._clock():
            del self._values[key]
            return None
        return found[1]

    def put(self, key: Key, value: Value) -> None:
        """Keep ``value`` for ``key`` for ``ttl`` seconds."""
        self._values[key] = (self._clock() + self._ttl, value)
        self._values.move_to_end(key)
        while len(self._values) > self._size:
            self._values.popitem(last=False)

    def forget(self, key: Key) -> None:
        """Drop what is kept for ``key``."""
        self._values.pop(key, None)
