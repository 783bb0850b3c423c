"""A batch of the inbox as the processor claims and decides it, and its writes.

:class:`~wagate.services.inbox_processing.InboxProcessor` claims entries, parses each
(:class:`ClaimedEntry`), decides every row the batch writes (:class:`DecidedBatch`), and
writes them in one transaction with :func:`write_batch`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from wagate.domain.entry_changes import EntryChanges
from wagate.domain.identity import IdentityChange
from wagate.domain.jobs import JobKind
from wagate.domain.status_plan import StatusPlan
from wagate.services import field_fanout
from wagate.services.inbound_recording import InboundRecording
from wagate.services.status_fanout import Writes
from wagate.store import Connection, delivery_queue, queue
from wagate.store import events as event_rows
from wagate.store import identities as identity_rows
from wagate.store import inbound as inbound_rows
from wagate.store import inbox as inbox_rows
from wagate.store import messages as message_rows
from wagate.store.inbox import InboxItem, ProcessedMark

__all__ = ["ClaimedEntry", "DecidedBatch", "write_batch"]


@dataclass
class ClaimedEntry:
    """One claimed entry, parsed: what it reports and what it came to."""

    item: InboxItem
    changes: EntryChanges
    counts: Counter[str] = field(default_factory=Counter)


@dataclass
class DecidedBatch:
    """A claimed batch, decided: every row it writes."""

    entries: list[ClaimedEntry]
    assigned: list[tuple[str, str]]
    statuses: StatusPlan
    prices: dict[str, str]
    recorded: InboundRecording
    users: list[identity_rows.KnownUser]
    identity_changes: list[tuple[str, IdentityChange]]
    writes: Writes
    marks: list[ProcessedMark]
    fields: field_fanout.FieldWrites = field(default_factory=field_fanout.FieldWrites)


async def write_batch(connection: Connection, batch: DecidedBatch, now: datetime) -> None:
    """Write what the inbox processor decided, one statement per stage."""
    await message_rows.assign_wamids(connection, batch.assigned, now)
    await message_rows.insert_statuses(connection, batch.statuses.new_statuses, now)
    await message_rows.release_held(connection, batch.statuses.released)
    await message_rows.set_forwarded_ranks(connection, batch.statuses.ranks, now, batch.prices)
    await inbound_rows.insert_inbound(connection, batch.recorded.rows, now)
    await identity_rows.remember(connection, batch.users, now)
    await identity_rows.apply_changes(connection, batch.identity_changes, now)
    if batch.recorded.downloads:
        await queue.enqueue_many(
            connection, JobKind.DOWNLOAD_MEDIA, batch.recorded.downloads, now, now
        )
    await field_fanout.write_fields(connection, batch.fields, now)
    await event_rows.insert_events(connection, batch.writes.events, now)
    await inbox_rows.mark_processed(connection, batch.marks, now)
    # Last: it locks the unfinished deliveries of the same messages until the commit.
    await delivery_queue.insert_deliveries(connection, batch.writes.deliveries)
