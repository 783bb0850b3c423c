"""Meta's webhooks that could not be processed, for operators: listed, shown, reprocessed.

An entry whose body is not JSON is ``invalid``; one whose processing raised
is ``failed`` (its detail holds the error). Neither holds up the others. One
that reached nobody (its number is unknown, or no customer opted into its
fields) is ``unknown``: reprocessed after an opt-in, it is forwarded.
After a fix, reprocessing stores such entries again as new inbox entries
(split by business number anew, as when they arrived) and marks the old ones
``reprocessed``: the processor then takes them like any other webhook, and
what was already applied is not applied twice.
"""

from __future__ import annotations

from datetime import datetime

from wagate.domain import errors
from wagate.domain.clock import Clock, utcnow
from wagate.domain.inbox import InboxEntry, webhook_entries
from wagate.store import Database
from wagate.store import inbox as inbox_rows
from wagate.store import stored_webhooks as webhook_rows
from wagate.store.stored_webhooks import StoredEntry

__all__ = ["SET_ASIDE", "StoredWebhooks"]

#: The outcomes of entries set aside, that reprocessing takes by default.
SET_ASIDE = ("failed", "invalid")
#: Every outcome reprocessing may take again.
REPROCESSABLE = (*SET_ASIDE, "unknown")


class StoredWebhooks:
    """Looks at and reprocesses the webhooks that were set aside."""

    def __init__(self, database: Database, clock: Clock = utcnow) -> None:
        self._db = database
        self._clock = clock

    async def list(
        self,
        *,
        outcomes: tuple[str, ...] = SET_ASIDE,
        since: datetime | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> tuple[list[StoredEntry], int]:
        """A page of Meta's webhooks that came to ``outcomes``, newest first; and the total."""
        async with self._db.transaction() as connection:
            return await webhook_rows.list_entries(
                connection, outcomes=outcomes, since=since, limit=limit, offset=offset
            )

    async def show(self, seq: int) -> StoredEntry:
        """One entry with its body; :class:`NotFound` when there is none."""
        async with self._db.transaction() as connection:
            entry = await webhook_rows.get_entry(connection, seq)
        if entry is None:
            raise errors.NotFound(f"no stored Meta webhook has seq {seq}")
        return entry

    async def reprocess(self, since: datetime, outcomes: tuple[str, ...] = SET_ASIDE) -> int:
        """Store again every webhook received since ``since`` that came to ``outcomes``;
        how many were taken."""
        wrong = set(outcomes) - set(REPROCESSABLE)
        if wrong:
            raise errors.InvalidPayload(
                {"outcome": f"only {', '.join(REPROCESSABLE)} are reprocessed"}
            )
        now = self._clock()
        async with self._db.transaction() as connection:
            stored = await webhook_rows.set_aside_since(connection, since, outcomes)
            fresh: list[InboxEntry] = []
            for entry in stored:
                fresh += _anew(entry)
            await inbox_rows.append(connection, fresh, now)
            await webhook_rows.mark_reprocessed(connection, [e.seq for e in stored], now)
        return len(stored)


def _anew(entry: StoredEntry) -> list[InboxEntry]:
    """The entry a set-aside one becomes, split by number as today's code splits it: the
    one of its own number (of no number, for its WABA-wide changes)."""
    return [e for e in webhook_entries(entry.body or "") if e.scope == entry.scope]
