"""The delivery lane's source: claims deliveries, at most a few in flight per endpoint.

A hanging or failing endpoint can hold at most its own share of requests;
deliveries to every other endpoint are claimed past it, never queued behind it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from wagate.domain.callbacks import Delivery
from wagate.services.deliveries import DeliveryService


class DeliverySource:
    """A :class:`~wagate.worker.runner.LaneSource` over the deliveries table."""

    def __init__(self, service: DeliveryService, *, per_endpoint: int) -> None:
        self._service = service
        self._per_endpoint = per_endpoint
        self._in_flight: Counter[str] = Counter()
        #: Called when an endpoint frees a slot, so an idle lane claims again at once.
        self.on_capacity: Callable[[], None] | None = None

    def _saturated(self) -> list[str]:
        return [ep for ep, n in self._in_flight.items() if n >= self._per_endpoint]

    async def claim(self, worker: str, limit: int, lease: timedelta) -> Sequence[Delivery]:
        # The claim takes no more per endpoint than the room left beside what is in
        # flight; only this lane adds to the counts, so none can overflow meanwhile.
        claimed = await self._service.claim(
            worker, limit, lease, per_endpoint=self._per_endpoint, in_flight=self._in_flight
        )
        for delivery in claimed:
            self._in_flight[delivery.endpoint] += 1
        return claimed

    async def run(self, item: Delivery) -> None:
        try:
            await self._service.run(item)
        finally:
            self._in_flight[item.endpoint] -= 1
            if self._in_flight[item.endpoint] <= 0:
                del self._in_flight[item.endpoint]
            if self.on_capacity is not None:
                self.on_capacity()

    def log_fields(self, item: Delivery) -> dict[str, str]:
        fields = {"delivery_id": item.id, "endpoint": item.endpoint}
        if item.profile_id:
            fields["profile_id"] = item.profile_id
        return fields

    async def extend_lease(self, item: Delivery, lease: timedelta) -> bool:
        return await self._service.extend_lease(item, lease)

    async def release(self, item: Delivery) -> None:
        await self._service.release(item)

    async def retry_later(self, item: Delivery, delay: timedelta, error: str) -> None:
        await self._service.postpone(item, delay, error)

    async def next_run_at(self) -> datetime | None:
        return await self._service.next_run_at(self._saturated())
