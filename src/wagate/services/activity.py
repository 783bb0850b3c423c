"""Looking back at an account's activity: messages with their statuses, a subject's deliveries."""

from __future__ import annotations

from dataclasses import dataclass

from wagate.domain import errors
from wagate.domain.activity import DeliverySummary, MessageRecord, MessageView, RecordedStatus
from wagate.domain.messages import Billing, price_for
from wagate.store import Connection, Database, tenancy
from wagate.store import activity as activity_rows

__all__ = ["ActivityService", "MessageHistory", "MessagePage"]


@dataclass(frozen=True, slots=True)
class MessagePage:
    """A page of messages, and whether older ones follow."""

    items: list[MessageView]
    has_more: bool


@dataclass(frozen=True, slots=True)
class MessageHistory:
    """A message, every status Meta reported of it, and the callbacks and pushes it caused."""

    view: MessageView
    deliveries: list[DeliverySummary]


class ActivityService:
    """What the portal shows of an account beyond its uploads, deliveries and profiles."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def messages(
        self, sid: str, *, search: str | None, limit: int, offset: int
    ) -> MessagePage:
        """The account's messages, newest first, those matching ``search`` (recipient, ref, id)."""
        async with self._db.transaction() as connection:
            found = await activity_rows.list_messages(
                connection, sid, search=search or None, limit=limit + 1, offset=offset
            )
            page = found[:limit]
            statuses = await activity_rows.statuses_of(connection, [m.wamid for m in page])
            billing = await _billing(connection, sid)
        views = [
            MessageView(m, statuses.get(m.wamid, []), _price(m, statuses.get(m.wamid, []), billing))
            for m in page
        ]
        return MessagePage(views, has_more=len(found) > limit)

    async def message(self, sid: str, message_id: str) -> MessageHistory:
        """One message of the account with its history; :class:`NotFound` otherwise."""
        async with self._db.transaction() as connection:
            message = await activity_rows.get_message(connection, sid, message_id)
            if message is None:
                raise errors.NotFound(f"no message {message_id}")
            statuses = (await activity_rows.statuses_of(connection, [message.wamid])).get(
                message.wamid, []
            )
            billing = await _billing(connection, sid)
            sent = await activity_rows.deliveries_about(connection, sid, message.id)
        return MessageHistory(
            MessageView(message, statuses, _price(message, statuses, billing)), sent
        )

    async def message_of_number(self, sid: str, number: str, key: str) -> MessageView:
        """The number's message whose id or wamid is ``key``, with every status Meta
        reported; :class:`NotFound` otherwise."""
        async with self._db.transaction() as connection:
            message = await activity_rows.find_message_of_number(connection, sid, number, key)
            if message is None:
                raise errors.NotFound(f"no message {key} of number {number}")
            views = await _views(connection, sid, [message])
        return views[0]

    async def messages_with_ref(
        self, sid: str, number: str, ref: str, *, limit: int, offset: int
    ) -> tuple[list[MessageView], int]:
        """The number's messages sent with ``ref``, newest first, with their statuses; and
        how many there are."""
        async with self._db.transaction() as connection:
            found, total = await activity_rows.messages_with_ref(
                connection, sid, number, ref, limit=limit, offset=offset
            )
            return await _views(connection, sid, found), total

    async def deliveries_about(self, sid: str, subject_id: str) -> list[DeliverySummary]:
        """The callbacks (and pushes) an upload or a message of the account caused."""
        async with self._db.transaction() as connection:
            return await activity_rows.deliveries_about(connection, sid, subject_id)

    async def subject_kind(self, sid: str, subject_id: str) -> str | None:
        """``message`` or ``upload``: what a delivery is about, while that is kept."""
        async with self._db.transaction() as connection:
            return await activity_rows.subject_kind(connection, sid, subject_id)


async def _views(connection: Connection, sid: str, found: list[MessageRecord]) -> list[MessageView]:
    statuses = await activity_rows.statuses_of(connection, [m.wamid for m in found if m.wamid])
    billing = await _billing(connection, sid)
    return [
        MessageView(m, statuses.get(m.wamid, []), _price(m, statuses.get(m.wamid, []), billing))
        for m in found
    ]


async def _billing(connection: Connection, sid: str) -> Billing:
    account = await tenancy.get_account(connection, sid)
    if account is None:
        return Billing(account_type="postpaid", rate_card={})
    return Billing(account_type=account.account_type, rate_card=account.rate_card)


def _price(message: MessageRecord, statuses: list[RecordedStatus], billing: Billing) -> str | None:
    """The price the message's callbacks carried (seed 002), if any: the one decided from
    Meta's pricing, or, for messages from before prices were decided so, the delivered
    callback's."""
    if message.price is not None:
        return message.price or None
    for recorded in statuses:
        if recorded.status == "delivered":
            return price_for({**recorded.payload, "status": "delivered"}, billing)
    return None
