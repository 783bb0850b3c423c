"""Which webhook event types a WABA or a number opts into, and a WABA's Graph API version.

A number's own subscription, when it has one, replaces its WABA's; removing
it (``null``) lets the WABA's apply again. Setting a subscription does not
forward what arrived before: ``wagate webhooks reprocess --outcome unknown``
does, for the webhooks nobody had opted into.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from wagate.domain import errors
from wagate.domain.clock import Clock, utcnow
from wagate.domain.tenancy import PhoneNumber
from wagate.domain.webhook_events import EventScope, effective_types, validated_types
from wagate.store import Connection, Database, tenancy
from wagate.store import webhook_events as field_rows

__all__ = ["GRAPH_VERSION", "Subscription", "WebhookSubscriptions"]

#: A Graph API version as it appears in request paths.
GRAPH_VERSION: Final = re.compile(r"v\d+\.\d+")


@dataclass(frozen=True, slots=True)
class Subscription:
    """What an owner set (None: nothing of its own) and what applies to it."""

    owner_kind: EventScope
    owner_id: str
    event_types: tuple[str, ...] | None
    effective: tuple[str, ...]


class WebhookSubscriptions:
    """Reads and sets the event types WABAs and numbers opt into."""

    def __init__(self, database: Database, clock: Clock = utcnow) -> None:
        self._db = database
        self._clock = clock

    async def of_waba(self, sid: str, waba_id: str) -> Subscription:
        """The WABA's subscription; :class:`WabaNotFound` when it is not the account's."""
        async with self._db.transaction() as connection:
            await _waba_of(connection, sid, waba_id)
            found = await field_rows.subscriptions_of(connection, [("waba", waba_id)])
        own = found.get(("waba", waba_id))
        return Subscription(EventScope.WABA, waba_id, own, own or ())

    async def set_for_waba(self, sid: str, waba_id: str, event_types: object) -> Subscription:
        """Set the WABA's event types (a list of catalogue names, or None to clear them)."""
        chosen = _checked(event_types)
        async with self._db.transaction() as connection:
            await _waba_of(connection, sid, waba_id)
            await field_rows.set_subscription(
                connection, ("waba", waba_id), sid, chosen, self._clock()
            )
        return Subscription(EventScope.WABA, waba_id, chosen, chosen or ())

    async def of_number(self, sid: str, number: str) -> Subscription:
        """The number's subscription; :class:`NotFound` when it is not the account's."""
        async with self._db.transaction() as connection:
            phone = await _number_of(connection, sid, number)
            found = await field_rows.subscriptions_of(
                connection, [("number", number), ("waba", phone.waba_id)]
            )
        own = found.get(("number", number))
        return Subscription(
            EventScope.NUMBER, number, own, effective_types(own, found.get(("waba", phone.waba_id)))
        )

    async def set_for_number(self, sid: str, number: str, event_types: object) -> Subscription:
        """Set the number's event types (None: take its WABA's)."""
        chosen = _checked(event_types)
        async with self._db.transaction() as connection:
            phone = await _number_of(connection, sid, number)
            await field_rows.set_subscription(
                connection, ("number", number), sid, chosen, self._clock()
            )
            waba = await field_rows.subscriptions_of(connection, [("waba", phone.waba_id)])
        return Subscription(
            EventScope.NUMBER,
            number,
            chosen,
            effective_types(chosen, waba.get(("waba", phone.waba_id))),
        )

    async def set_graph_version(self, sid: str, waba_id: str, version: str | None) -> None:
        """Set the Graph API version of the WABA's upstream calls (None: the configured one)."""
        if version is not None and GRAPH_VERSION.fullmatch(version) is None:
            raise errors.InvalidPayload({"graph_version": "must look like v24.0"})
        async with self._db.transaction() as connection:
            await _waba_of(connection, sid, waba_id)
            await field_rows.set_graph_version(connection, waba_id, version)


def _checked(event_types: object) -> tuple[str, ...] | None:
    if event_types is None:
        return None
    try:
        return validated_types(event_types)
    except ValueError as exc:
        raise errors.InvalidPayload({"event_types": str(exc)}) from None


async def _waba_of(connection: Connection, sid: str, waba_id: str) -> None:
    waba = await tenancy.get_waba(connection, waba_id)
    if waba is None or waba.sid != sid:
        raise errors.WabaNotFound()


async def _number_of(connection: Connection, sid: str, number: str) -> PhoneNumber:
    phone = await tenancy.get_number(connection, number)
    if phone is None or phone.sid != sid:
        raise errors.NotFound(f"number {number} is not the account's")
    return phone
