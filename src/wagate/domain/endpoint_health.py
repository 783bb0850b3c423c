"""How an endpoint has been answering, and what that allows: a circuit breaker, as pure rules.

An endpoint is ``healthy`` until it fails to answer ``OPEN_AFTER`` times in a
row (a timeout, a refused or reset connection; an error status is an answer,
and its delivery is retried on its own schedule): then it is ``open``
and nothing is sent to it until ``open_until``. After that one request, a
probe, is let through (``probing``): its success makes the endpoint healthy
again, its failure opens it for twice as long, up to ``MAX_COOLDOWN``.

Apart from the breaker, an endpoint whose answers are slow is ``slow``: its
requests then share a small pool of their own, so however many endpoints hang,
healthy ones keep the rest.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

__all__ = ["FIRST_COOLDOWN", "MAX_COOLDOWN", "OPEN_AFTER", "EndpointHealth", "EndpointState"]

OPEN_AFTER: Final = 5
FIRST_COOLDOWN: Final = timedelta(seconds=5)
MAX_COOLDOWN: Final = timedelta(minutes=5)


class EndpointState(enum.StrEnum):
    """Where an endpoint stands."""

    HEALTHY = "healthy"
    SLOW = "slow"
    OPEN = "open"
    PROBING = "probing"


@dataclass(frozen=True, slots=True)
class EndpointHealth:
    """An endpoint's breaker: its state, failures in a row, and when it may be tried again."""

    state: EndpointState = EndpointState.HEALTHY
    failures: int = 0
    open_until: datetime | None = None
    cooldown: timedelta = FIRST_COOLDOWN
    last_error: str | None = None

    def may_send(self, now: datetime) -> bool:
        """Whether a request may go to the endpoint now (an open one only once it cools down)."""
        if self.state is EndpointState.OPEN:
            return self.open_until is not None and now >= self.open_until
        return self.state is not EndpointState.PROBING

    def sending(self, now: datetime) -> EndpointHealth:
        """The state once a request is sent: an open endpoint that cooled down is probed."""
        if self.state is EndpointState.OPEN and self.may_send(now):
            return replace(self, state=EndpointState.PROBING)
        return self

    def succeeded(self, *, slow: bool) -> EndpointHealth:
        """After a 2xx answer: healthy (or slow, when it took too long), failures forgotten."""
        state = EndpointState.SLOW if slow else EndpointState.HEALTHY
        return EndpointHealth(state=state)

    def failed(self, now: datetime, error: str) -> EndpointHealth:
        """After a failure: open once failures in a row reach :data:`OPEN_AFTER`, or at once
        when a probe failed, each time for longer."""
        failures = self.failures + 1
        if self.state is EndpointState.PROBING:
            cooldown = min(self.cooldown * 2, MAX_COOLDOWN)
            return EndpointHealth(EndpointState.OPEN, failures, now + cooldown, cooldown, error)
        if failures >= OPEN_AFTER:
            return EndpointHealth(
                EndpointState.OPEN, failures, now + self.cooldown, self.cooldown, error
            )
        state = self.state if self.state is EndpointState.SLOW else EndpointState.HEALTHY
        return replace(self, state=state, failures=failures, last_error=error)

    def slowed(self) -> EndpointHealth:
        """A request has been waiting for its answer too long: the endpoint is slow."""
        if self.state is EndpointState.HEALTHY:
            return replace(self, state=EndpointState.SLOW)
        return self
