"""Who may send to which endpoint now: two pools of slots and every endpoint's breaker.

Requests to endpoints in good standing share the *fast* pool, at most
``per_endpoint`` each. A request that has waited for its answer longer than
``slow_after`` (:data:`SLOW_AFTER` unless configured) gives its fast slot
back and counts in the small *slow* pool instead, and its endpoint becomes
slow: from then on that endpoint sends one request at a time, from the slow
pool, until it answers quickly again. So the fast pool only ever holds
requests younger than ``slow_after``, and
however many endpoints hang, healthy endpoints wait at most that long for a
slot. An endpoint that keeps failing is opened by its breaker
(:mod:`wagate.domain.endpoint_health`) and gets nothing until it cools down,
then one probe.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from wagate.domain.endpoint_health import EndpointHealth, EndpointState

__all__ = ["SLOW_AFTER", "SLOW_HOLD", "SLOW_PER_ENDPOINT", "EndpointSlots"]

#: Seconds an answer may take before its endpoint counts as slow, unless told otherwise.
SLOW_AFTER = 1.0
#: Requests a slow (or probed) endpoint may have in flight.
SLOW_PER_ENDPOINT = 1
#: Deliveries a slow endpoint may hold claimed, per request it may send.
SLOW_HOLD = 2


@dataclass
class _Request:
    endpoint: str
    fast: bool
    started: float


class EndpointSlots:
    """The fast and slow pools, what is in flight, and each endpoint's health."""

    def __init__(
        self,
        *,
        fast: int,
        slow: int,
        per_endpoint: int,
        hold_per_endpoint: int,
        slow_after: float = SLOW_AFTER,
    ) -> None:
        self.fast_size = fast
        self.slow_after = slow_after
        self.slow_size = slow
        self.per_endpoint = per_endpoint
        self.hold_per_endpoint = hold_per_endpoint
        self.health: dict[str, EndpointHealth] = {}
        self._requests: dict[str, _Request] = {}
        self._in_flight: Counter[str] = Counter()
        self.fast_used = 0
        self.slow_used = 0

    def state(self, endpoint: str) -> EndpointHealth:
        """The endpoint's health (healthy when nothing is known of it)."""
        return self.health.get(endpoint) or EndpointHealth()

    def hold_limit(self, endpoint: str, now: datetime) -> int:
        """How many deliveries to ``endpoint`` the lane may hold claimed now."""
        health = self.state(endpoint)
        if not health.may_send(now) and health.state is EndpointState.OPEN:
            return 0
        if health.state is EndpointState.HEALTHY:
            return self.hold_per_endpoint
        return SLOW_HOLD

    def can_start(self, endpoint: str, now: datetime) -> bool:
        """Whether a request to ``endpoint`` may start now."""
        health = self.state(endpoint)
        if not health.may_send(now):
            return False
        if health.state is EndpointState.HEALTHY:
            return self._in_flight[endpoint] < self.per_endpoint and self.fast_used < self.fast_size
        return self._in_flight[endpoint] < SLOW_PER_ENDPOINT and self.slow_used < self.slow_size

    def start(self, delivery_id: str, endpoint: str, now: datetime, at: float) -> None:
        """A request to ``endpoint`` starts (``at`` on the loop's clock)."""
        health = self.state(endpoint)
        fast = health.state is EndpointState.HEALTHY
        if health.state is EndpointState.OPEN:
            self.health[endpoint] = health.sending(now)
        self._requests[delivery_id] = _Request(endpoint, fast, at)
        self._in_flight[endpoint] += 1
        if fast:
            self.fast_used += 1
        else:
            self.slow_used += 1

    def answered(self, delivery_id: str) -> None:
        """The request's answer (or failure) is in: its slot is free."""
        request = self._requests.pop(delivery_id, None)
        if request is None:
            return
        self._in_flight[request.endpoint] -= 1
        if self._in_flight[request.endpoint] <= 0:
            del self._in_flight[request.endpoint]
        if request.fast:
            self.fast_used -= 1
        else:
            self.slow_used -= 1

    def judge(
        self, endpoint: str, *, succeeded: bool, seconds: float, error: str | None, now: datetime
    ) -> EndpointHealth | None:
        """Take an answer into the endpoint's health; the new health when its state changed."""
        before = self.state(endpoint)
        if succeeded:
            after = before.succeeded(slow=seconds > self.slow_after)
        else:
            after = before.failed(now, error or "failed")
        self.health[endpoint] = after
        if after.state is EndpointState.HEALTHY and after.failures == 0:
            self.health.pop(endpoint, None)
        return after if after.state is not before.state else None

    def overdue(self, at: float) -> list[str]:
        """Move requests in flight longer than ``slow_after`` to the slow pool; the
        endpoints this made slow."""
        slowed: list[str] = []
        for request in self._requests.values():
            if request.fast and at - request.started > self.slow_after:
                request.fast = False
                self.fast_used -= 1
                self.slow_used += 1
                before = self.state(request.endpoint)
                after = before.slowed()
                if after is not before:
                    self.health[request.endpoint] = after
                    slowed.append(request.endpoint)
        return slowed

    def counts(self) -> Counter[str]:
        """How many endpoints this lane knows in each state (healthy ones it forgot aside)."""
        return Counter(health.state.value for health in self.health.values())
