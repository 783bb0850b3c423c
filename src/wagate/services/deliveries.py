"""The deliveries API: the log of a customer's callbacks, replay and recovery.

Running deliveries is :mod:`wagate.services.delivery_runs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from wagate.domain import errors
from wagate.domain.callbacks import Attempt, Delivery, DeliveryStatus
from wagate.domain.clock import Clock, utcnow
from wagate.store import Database
from wagate.store import deliveries as delivery_rows
from wagate.store import endpoints as endpoint_rows
from wagate.store import profiles as profile_rows

__all__ = ["DeliveryService"]


class DeliveryService:
    """Answers the deliveries API: list, show, replay, recover."""

    def __init__(self, database: Database, clock: Clock = utcnow) -> None:
        self._db = database
        self._clock = clock

    async def endpoint_states(self, endpoints: Sequence[str]) -> dict[str, str]:
        """What the workers recorded of these endpoints that are not healthy."""
        async with self._db.transaction() as connection:
            return await endpoint_rows.states_of(connection, set(endpoints))

    async def get(self, sid: str, delivery_id: str) -> tuple[Delivery, list[Attempt]]:
        """A delivery of the account with its attempts."""
        async with self._db.transaction() as connection:
            delivery = await delivery_rows.get_delivery(connection, sid, delivery_id)
            if delivery is None:
                raise errors.NotFound(f"no delivery {delivery_id}")
            return delivery, await delivery_rows.attempts_of(connection, delivery_id)

    async def list(
        self,
        sid: str,
        *,
        profile_id: str | None,
        status: DeliveryStatus | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        offset: int,
    ) -> tuple[list[Delivery], int]:
        """A page of the account's deliveries and the total."""
        async with self._db.transaction() as connection:
            return await delivery_rows.list_deliveries(
                connection,
                sid,
                profile_id=profile_id,
                status=status,
                since=since,
                until=until,
                limit=limit,
                offset=offset,
            )

    async def replay(self, sid: str, delivery_id: str) -> Delivery:
        """Send a delivery again now, whatever its state (a manual attempt)."""
        async with self._db.transaction() as connection:
            delivery = await delivery_rows.get_delivery(connection, sid, delivery_id)
            if delivery is None:
                raise errors.NotFound(f"no delivery {delivery_id}")
            await delivery_rows.replay(connection, delivery_id, self._clock())
            replayed = await delivery_rows.get_delivery(connection, sid, delivery_id)
        assert replayed is not None
        return replayed

    async def recover(self, sid: str, profile_id: str, since: datetime, *, dry_run: bool) -> int:
        """Replay every failed or dead delivery of a profile since ``since``; how many."""
        async with self._db.transaction() as connection:
            if await profile_rows.get_profile(connection, profile_id, sid) is None:
                raise errors.NotFound(f"no callback profile {profile_id}")
            return await delivery_rows.recover(
                connection, profile_id, since, self._clock(), dry_run=dry_run
            )
