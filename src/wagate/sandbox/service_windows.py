"""Customer service windows: the 24 hours after a user last wrote to a business number.

Under per-message pricing Meta bills nothing for what a business sends within
the window: a free-form reply, and a utility template, carry ``pricing`` of
type ``free_customer_service`` (not billable). The sandbox opens a window with
every inbound message it sends, for the user's number and BSUID alike.
"""

from __future__ import annotations

from typing import Final

__all__ = ["SERVICE_WINDOW_SECONDS", "ServiceWindows", "free_service_pricing"]

SERVICE_WINDOW_SECONDS: Final = 24 * 3600
#: Users remembered at most; the oldest windows are forgotten first.
MAX_WINDOWS: Final = 100_000


class ServiceWindows:
    """When each user last wrote to each business number (epoch seconds)."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], int] = {}

    def user_wrote(self, phone_number_id: str, users: tuple[str | None, ...], at: int) -> None:
        """A user, known by any of ``users`` (number, BSUID), wrote to the number at ``at``."""
        for user in users:
            if not user:
                continue
            key = (phone_number_id, user)
            # Moved to the end: the dict is in the order users last wrote.
            self._last[key] = max(at, self._last.pop(key, at))
            while len(self._last) > MAX_WINDOWS:
                del self._last[next(iter(self._last))]

    def is_open(self, phone_number_id: str, users: tuple[str | None, ...], at: int) -> bool:
        """Whether one of ``users`` wrote to the number within the 24 hours before ``at``."""
        return any(
            0 <= at - self._last[(phone_number_id, user)] < SERVICE_WINDOW_SECONDS
            for user in users
            if user and (phone_number_id, user) in self._last
        )


def free_service_pricing(category: str) -> dict[str, object]:
    """A status's ``pricing`` for a message sent within the window (not billed)."""
    return {
        "billable": False,
        "pricing_model": "PMP",
        "category": category,
        "type": "free_customer_service",
    }
