"""Processing the inbox: a batch of Meta's webhooks (and of our sent records) at a time.

A batch takes one statement per stage: claim the entries, read the numbers,
messages, statuses and incoming messages the batch names, decide
(:func:`~wagate.domain.status_flow.decide_batch`, the rule that runs), then
write the wamids Meta gave our messages, the statuses, the messages' forwarded
ranks, the incoming messages (once each) and the downloads of their media, the
events and their deliveries, and mark the entries processed. The writes are one
transaction: a crash anywhere rolls the whole batch back, and it is taken again,
in the same order. On PostgreSQL the reads are in that transaction too (the
claim locks a partition); on SQLite they come before it, outside the one
writer's turn, and the batch is written only if its entries are still pending.

An entry that makes processing raise never holds up the others: the batch is
taken again one entry at a time, and the one at fault is set aside as
``failed``, its error in its detail, for an operator to reprocess after a fix.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import structlog

from wagate import metrics
from wagate.domain.clock import Clock, utcnow
from wagate.domain.entry_changes import entry_outcome, parse_entry
from wagate.domain.errors import DatabaseUnavailable
from wagate.domain.identity import IdentityChange, status_identity
from wagate.domain.inbound import InboundMessage
from wagate.domain.pricing import RateCard
from wagate.domain.status_plan import ForwardedStatus, plan_statuses
from wagate.domain.tenancy import PhoneNumber
from wagate.services import field_fanout
from wagate.services.inbound_recording import ArrivedMessages, record_inbound
from wagate.services.inbox_batch import ClaimedEntry, DecidedBatch, write_batch
from wagate.services.status_fanout import Writes, fan_out_statuses, status_profile_of
from wagate.store import Connection, Database
from wagate.store import identities as identity_rows
from wagate.store import inbound as inbound_rows
from wagate.store import inbox as inbox_rows
from wagate.store import messages as message_rows
from wagate.store import profiles as profile_rows
from wagate.store import tenancy as tenancy_rows
from wagate.store.inbox import ProcessedMark

__all__ = ["BATCH_ENTRIES", "BATCH_ITEMS", "BatchOutcome", "InboxProcessor"]

log = structlog.get_logger("wagate.ingress")

#: Statuses and messages one batch takes at most (one entry more when it is alone). A batch
#: is CPU work on the worker's event loop: bigger ones would hold up its sends.
BATCH_ITEMS = 250
#: Entries one batch looks at.
BATCH_ENTRIES = 512


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What one call of :meth:`InboxProcessor.process_next` came to."""

    processed: int
    #: Entries are pending, but every partition that has any is being processed elsewhere.
    busy: bool = False


class _PartitionsBusy(Exception):
    """Every partition with pending entries is another processor's (PostgreSQL)."""


class InboxProcessor:
    """Applies inbox entries to messages and turns them into callbacks and pushes."""

    def __init__(
        self,
        database: Database,
        *,
        clock: Clock = utcnow,
        batch_items: int = BATCH_ITEMS,
        batch_entries: int = BATCH_ENTRIES,
        rate_card: RateCard | None = None,
    ) -> None:
        self._db = database
        self._rate_card = rate_card or RateCard()
        self._clock = clock
        self._batch_items = batch_items
        self._batch_entries = batch_entries

    async def process_next(self) -> BatchOutcome:
        """Process the next batch of one partition (of all, on SQLite): how many entries,
        and whether pending partitions were all being processed elsewhere.

        When the batch raises, its entries are taken again one at a time, and an entry
        that raises alone (twice) is marked ``failed`` and passed over.
        """
        claimed: list[int] = []
        try:
            return BatchOutcome(
                await self._process(self._batch_items, self._batch_entries, claimed)
            )
        except _PartitionsBusy:
            return BatchOutcome(0, busy=True)
        except DatabaseUnavailable:
            raise
        except Exception:
            if not claimed:
                raise
            log.exception("inbox.batch_failed", entries=len(claimed))
        done = 0
        for _ in claimed:
            done += await self._process_alone()
        return BatchOutcome(done)

    async def _process_alone(self) -> int:
        """Process the next entry by itself; one that raises twice is set aside as failed."""
        for attempt in (1, 2):
            claimed: list[int] = []
            try:
                return await self._process(1, 1, claimed)
            except _PartitionsBusy:
                return 0
            except DatabaseUnavailable:
                raise
            except Exception as exc:
                if not claimed:
                    raise
                if attempt == 2:
                    log.exception("inbox.entry_failed", seq=claimed[0])
                    await self._set_aside(claimed[0], exc)
                    return 1
        return 0  # pragma: no cover - the loop returns

    async def _set_aside(self, seq: int, error: Exception) -> None:
        detail = json.dumps({"error": f"{type(error).__name__}: {error}"[:4000]})
        async with self._db.transaction() as connection:
            marked = await inbox_rows.mark_failed(connection, seq, detail, self._clock())
        if marked:
            metrics.META_WEBHOOKS_FAILED.inc()

    async def _process(self, max_items: int, max_entries: int, claimed: list[int]) -> int:
        now = self._clock()
        batch: DecidedBatch | None = None
        if self._db.is_sqlite:
            # SQLite has one writer at a time, and every other writer waits while this one
            # holds the turn. So the batch is read and decided outside it, and the turn is
            # taken only to write, once its entries are seen to be still pending: what it
            # read changes only by processing them, in order. Should another processor
            # have taken them meanwhile, the next batch is read and written in the turn.
            async with self._db.reading() as connection:
                batch = await self._plan(connection, max_items, max_entries, claimed, now)
            if batch is None:
                return 0
        async with self._db.transaction() as connection:
            if batch is None or not await inbox_rows.all_pending(
                connection, [entry.item.seq for entry in batch.entries]
            ):
                claimed.clear()
                batch = await self._plan(connection, max_items, max_entries, claimed, now)
                if batch is None:
                    return 0
            await write_batch(connection, batch, now)
        _log_batch(batch.entries, len(batch.writes.deliveries))
        return len(batch.entries)

    async def _plan(
        self,
        connection: Connection,
        max_items: int,
        max_entries: int,
        claimed: list[int],
        now: datetime,
    ) -> DecidedBatch | None:
        """Claim the next batch, read what it names and decide what to write; None when
        nothing is pending."""
        items = await inbox_rows.claim_batch(
            connection, max_items=max_items, max_entries=max_entries
        )
        if items is None:
            raise _PartitionsBusy
        if not items:
            return None
        claimed.extend(item.seq for item in items)
        entries = [
            ClaimedEntry(item, parse_entry(item.kind, item.seq, item.scope, item.body))
            for item in items
        ]
        phones = await tenancy_rows.numbers_by_phone_number_id(
            connection, {e.item.scope for e in entries if e.item.scope}
        )
        for entry in entries:
            if entry.item.scope not in phones:
                entry.changes.statuses, entry.changes.inbound = [], []
        assigned = [a for entry in entries for a in entry.changes.assigned]
        wamids = {s.wamid for e in entries for s in e.changes.statuses} | {
            a.wamid for a in assigned
        }
        incoming = [m for e in entries for m in e.changes.inbound]
        replied_to = {m.reply_to for m in incoming if m.reply_to}
        messages = await message_rows.by_wamid(connection, wamids | replied_to)
        # The wamids this batch assigns are written with it: read as they will be.
        sent = await message_rows.by_ids(connection, {a.message_id for a in assigned})
        for pair in assigned:
            if pair.message_id in sent:
                messages[pair.wamid] = replace(sent[pair.message_id], wamid=pair.wamid)
        stored = await message_rows.statuses_of(connection, wamids)
        seen = await inbound_rows.known_wamids(connection, {m.wamid for m in incoming})

        statuses = plan_statuses(
            [s for e in entries for s in e.changes.statuses], assigned, messages, stored
        )
        for applied in statuses.not_forwarded:
            log.info(
                "message.status_not_forwarded",
                message_id=applied.message_id,
                status=applied.status.status,
            )
        profiles = await profile_rows.get_profiles(
            connection, _profiles_wanted(statuses.forwarded, incoming, phones, entries)
        )
        writes = Writes()
        prices = await fan_out_statuses(
            connection, statuses.forwarded, phones, profiles, self._rate_card, writes, now
        )
        recorded = record_inbound(
            [
                ArrivedMessages(e.item.seq, phone, e.changes.inbound, e.counts)
                for e in entries
                if (phone := phones.get(e.item.scope or "")) is not None
            ],
            replied_to=messages,
            seen=seen,
            profiles=profiles,
            writes=writes,
            now=now,
        )
        changes: list[tuple[str, IdentityChange]] = []
        for entry in entries:
            entry.counts.update(statuses.counts.get(entry.item.seq, Counter()))
            phone = phones.get(entry.item.scope or "")
            if phone is not None and entry.changes.identity_changes:
                changes.extend((phone.waba_id, c) for c in entry.changes.identity_changes)
                entry.counts["identity_changed"] += len(entry.changes.identity_changes)
        # Meta's other fields (echoes, opt-outs, templates, account, played, errors).
        fields = await field_fanout.plan_fields(
            connection, [(e.item, e.counts) for e in entries], writes, now
        )
        return DecidedBatch(
            entries=entries,
            assigned=[(a.message_id, a.wamid) for a in assigned],
            statuses=statuses,
            prices=prices,
            recorded=recorded,
            users=[
                *(
                    identity_rows.KnownUser(new.phone.waba_id, new.message.user)
                    for _, new in recorded.rows
                ),
                *(
                    identity_rows.KnownUser(
                        f.message.waba_id, status_identity(f.payload, f.contact)
                    )
                    for f in statuses.forwarded
                    if f.contact
                ),
            ],
            identity_changes=changes,
            writes=writes,
            marks=[_mark(e, phones) for e in entries],
            fields=fields,
        )


def _profiles_wanted(
    forwarded: Sequence[ForwardedStatus],
    incoming: Sequence[InboundMessage],
    phones: Mapping[str, PhoneNumber],
    entries: Sequence[ClaimedEntry],
) -> set[str]:
    """The profiles a batch's callbacks may go through: its statuses' and its numbers'
    incoming profiles."""
    wanted = {
        profile_id
        for f in forwarded
        if (profile_id := status_profile_of(f.message, phones.get(f.message.phone_number_id)))
    }
    if incoming:
        for entry in entries:
            phone = phones.get(entry.item.scope or "")
            if entry.changes.inbound and phone and phone.incoming_callback_profile_id:
                wanted.add(phone.incoming_callback_profile_id)
    return wanted


def _mark(entry: ClaimedEntry, phones: dict[str, PhoneNumber]) -> ProcessedMark:
    item = entry.item
    # An entry about a WABA as a whole (template and account updates) names no number:
    # what its fields came to (forwarded, field_unknown_number, ...) says what happened.
    known = item.scope is None or item.scope in phones
    outcome = entry_outcome(item.kind, entry.changes, entry.counts, number_known=known)
    if outcome.outcome == "invalid":
        metrics.META_WEBHOOKS_INVALID.inc()
    return ProcessedMark(item.seq, outcome.outcome, outcome.detail)


def _log_batch(entries: list[ClaimedEntry], deliveries: int) -> None:
    total: Counter[str] = Counter()
    for entry in entries:
        total.update(entry.counts)
    metrics.INBOX_BATCHES.inc()
    metrics.INBOX_ENTRIES.inc(len(entries))
    log.info("inbox.batch", entries=len(entries), deliveries=deliveries, **dict(total))
