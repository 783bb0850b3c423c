"""Meta's throughput limits as the sandbox enforces them, when told to.

``messages_per_second`` caps what one business number may send (Meta answers
130429 beyond it), counted as Meta's bucket does: one second's worth may go
at once, then the rate. ``pair_interval_ms`` is the least time between two
messages from one number to one user (Meta answers 131056 sooner). Both are
off until set through ``POST /_sandbox/limits``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from wagate.domain.send_limits import SendRate, grant

_FIELDS = ("messages_per_second", "pair_interval_ms")
MAX_PAIRS = 100_000


class Limits:
    """The limits in force, the state they need, and how often they refused."""

    def __init__(self) -> None:
        self.messages_per_second: float | None = None
        self.pair_interval_ms: int | None = None
        self.throttled = 0
        self.pair_throttled = 0
        self._buckets: dict[str, datetime | None] = {}
        self._last_to: dict[tuple[str, str], datetime] = {}

    def update(self, changes: Mapping[str, object]) -> None:
        """Set the given limits (null turns one off); ValueError if one is wrong."""
        unknown = sorted(set(changes) - set(_FIELDS))
        if unknown:
            raise ValueError(f"unknown limits {unknown}; known: {list(_FIELDS)}")
        rate = changes.get("messages_per_second", self.messages_per_second)
        pair = changes.get("pair_interval_ms", self.pair_interval_ms)
        if rate is not None and (
            isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0
        ):
            raise ValueError(f"messages_per_second must be a positive number or null, not {rate!r}")
        if pair is not None and (isinstance(pair, bool) or not isinstance(pair, int) or pair <= 0):
            raise ValueError(f"pair_interval_ms must be a positive integer or null, not {pair!r}")
        if rate != self.messages_per_second:
            self._buckets.clear()
        self.messages_per_second = None if rate is None else float(rate)
        self.pair_interval_ms = pair
        self.throttled = self.pair_throttled = 0

    def admit(self, phone_number_id: str, wa_id: str) -> str | None:
        """Count a send; ``"throughput"`` or ``"pair"`` when a limit refuses it, else None."""
        now = datetime.now(UTC)
        if self.pair_interval_ms is not None:
            last = self._last_to.get((phone_number_id, wa_id))
            if last is not None and now - last < timedelta(milliseconds=self.pair_interval_ms):
                self.pair_throttled += 1
                return "pair"
        if self.messages_per_second is not None:
            rate = SendRate(self.messages_per_second)
            allowed = grant(rate, self._buckets.get(phone_number_id), now, 1)
            if not allowed.granted:
                self.throttled += 1
                return "throughput"
            self._buckets[phone_number_id] = allowed.ready_at
        if self.pair_interval_ms is not None:
            if len(self._last_to) >= MAX_PAIRS:
                self._last_to.clear()
            self._last_to[(phone_number_id, wa_id)] = now
        return None

    def as_json(self) -> dict[str, object]:
        """The limits and how often each refused a send since they were set."""
        return {
            "messages_per_second": self.messages_per_second,
            "pair_interval_ms": self.pair_interval_ms,
            "throttled": self.throttled,
            "pair_throttled": self.pair_throttled,
        }
