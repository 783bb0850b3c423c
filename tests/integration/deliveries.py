"""The deliveries an account has queued to the customer, read back in the order written."""

from __future__ import annotations

from wagate.domain.callbacks import Delivery
from wagate.store import Database
from wagate.store import deliveries as delivery_rows

__all__ = ["queued_deliveries"]


async def queued_deliveries(
    database: Database, sid: str = "SID1", profile_id: str | None = None
) -> list[Delivery]:
    """Every delivery of ``sid`` (of ``profile_id`` only, when given), oldest first."""
    async with database.transaction() as connection:
        page, _ = await delivery_rows.list_deliveries(
            connection, sid, profile_id=profile_id, status=None,
            since=None, until=None, limit=100, offset=0,
        )  # fmt: skip
    return sorted(page, key=lambda d: d.seq)
