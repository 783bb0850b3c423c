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
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import structlog

from wagate import metrics
from wagate.domain import json_text
from wagate.domain.callbacks import CallbackProfile
from wagate.domain.clock import Clock, utcnow
from wagate.domain.errors import DatabaseUnavailable
from wagate.domain.inbound import InboundMessage, inbound_messages
from wagate.domain.inbox import (
    InboxKind,
    change_values,
    parse_document,
    phone_number_id_of,
    sent_pairs,
)
from wagate.domain.jobs import JobKind
from wagate.domain.messages import Message
from wagate.domain.status_flow import (
    HeldStatus,
    ReportedStatus,
    StreamItem,
    Verdict,
    WamidAssigned,
    decide_batch,
)
from wagate.domain.tenancy import PhoneNumber
from wagate.services import field_fanout
from wagate.services.incoming_fanout import incoming_writes
from wagate.services.status_fanout import Writes, status_profile_of, status_writes
from wagate.store import Connection, Database, delivery_queue, queue
from wagate.store import events as event_rows
from wagate.store import inbound as inbound_rows
from wagate.store import inbox as inbox_rows
from wagate.store import messages as message_rows
from wagate.store import profiles as profile_rows
from wagate.store.inbox import InboxItem, ProcessedMark

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


@dataclass
class _Entry:
    """One claimed entry, parsed: what it reports and what it came to."""

    item: InboxItem
    statuses: list[ReportedStatus] = field(default_factory=list)
    inbound: list[InboundMessage] = field(default_factory=list)
    assigned: list[WamidAssigned] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    invalid: bool = False


@dataclass
class _Inbound:
    """What a batch records of incoming messages: the new ones, and the media to fetch."""

    rows: list[tuple[str, inbound_rows.NewInbound]] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)


@dataclass
class _Batch:
    """A claimed batch, decided: every row it writes."""

    entries: list[_Entry]
    assigned: list[tuple[str, str]]
    new_statuses: list[message_rows.NewStatus]
    released: list[tuple[str, str, str, bool]]
    ranks: dict[str, int]
    recorded: _Inbound
    writes: Writes
    marks: list[ProcessedMark]
    fields: field_fanout.FieldWrites = field(default_factory=field_fanout.FieldWrites)


async def _write(connection: Connection, batch: _Batch, now: datetime) -> None:
    """Write what :meth:`InboxProcessor._plan` decided, one statement per stage."""
    await message_rows.assign_wamids(connection, batch.assigned, now)
    await message_rows.insert_statuses(connection, batch.new_statuses, now)
    await message_rows.release_held(connection, batch.released)
    await message_rows.set_forwarded_ranks(connection, batch.ranks, now)
    await inbound_rows.insert_inbound(connection, batch.recorded.rows, now)
    if batch.recorded.downloads:
        await queue.enqueue_many(
            connection, JobKind.DOWNLOAD_MEDIA, batch.recorded.downloads, now, now
        )
    await field_fanout.write_fields(connection, batch.fields, now)
    await event_rows.insert_events(connection, batch.writes.events, now)
    await inbox_rows.mark_processed(connection, batch.marks, now)
    # Last: it locks the unfinished deliveries of the same messages until the commit.
    await delivery_queue.insert_deliveries(connection, batch.writes.deliveries)


class InboxProcessor:
    """Applies inbox entries to messages and turns them into callbacks and pushes."""

    def __init__(
        self,
        database: Database,
        *,
        clock: Clock = utcnow,
        batch_items: int = BATCH_ITEMS,
        batch_entries: int = BATCH_ENTRIES,
    ) -> None:
        self._db = database
        self._clock = clock
        self._batch_items = batch_items
        self._batch_entries = batch_entries

    async def process_batch(self) -> int:
        """Process the next batch of one partition (of all, on SQLite); how many entries.

        0 when nothing is due or every pending partition is being processed elsewhere.
        When the batch raises, its entries are taken again one at a time, and an entry
        that raises alone (twice) is marked ``failed`` and passed over.
        """
        return (await self.process_next()).processed

    async def process_next(self) -> BatchOutcome:
        """:meth:`process_batch`, telling apart an empty inbox from one whose pending
        partitions are all being processed elsewhere."""
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
        batch: _Batch | None = None
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
            await _write(connection, batch, now)
        _log_batch(batch.entries, len(batch.writes.deliveries))
        return len(batch.entries)

    async def _plan(
        self,
        connection: Connection,
        max_items: int,
        max_entries: int,
        claimed: list[int],
        now: datetime,
    ) -> _Batch | None:
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
        entries = [_parse(item) for item in items]
        phones = await message_rows.numbers_by_phone_number_id(
            connection, {e.item.scope for e in entries if e.item.scope}
        )
        for entry in entries:
            if entry.item.scope not in phones:
                entry.statuses, entry.inbound = [], []
        assigned = [a for entry in entries for a in entry.assigned]
        wamids = {s.wamid for e in entries for s in e.statuses} | {a.wamid for a in assigned}
        incoming = [m for e in entries for m in e.inbound]
        replied_to = {m.reply_to for m in incoming if m.reply_to}
        messages = await message_rows.by_wamid(connection, wamids | replied_to)
        # The wamids this batch assigns are written with it: read as they will be.
        sent = await message_rows.by_ids(connection, {a.message_id for a in assigned})
        for pair in assigned:
            if pair.message_id in sent:
                messages[pair.wamid] = replace(sent[pair.message_id], wamid=pair.wamid)
        stored = await message_rows.statuses_of(connection, wamids)
        seen = await inbound_rows.known_wamids(connection, {m.wamid for m in incoming})

        new_statuses, released, ranks, forwarded = self._decide(entries, assigned, messages, stored)
        profiles = await profile_rows.get_profiles(
            connection, _profiles_wanted(forwarded, incoming, phones, entries)
        )
        writes = Writes()
        await self._fan_out_statuses(connection, forwarded, phones, profiles, writes, now)
        recorded = _inbound(entries, phones, messages, seen, profiles, writes, now)
        # Meta's other fields (echoes, opt-outs, templates, account, played, errors).
        fields = await field_fanout.plan_fields(
            connection, [(e.item, e.counts) for e in entries], writes, now
        )
        return _Batch(
            entries=entries,
            assigned=[(a.message_id, a.wamid) for a in assigned],
            new_statuses=new_statuses,
            released=released,
            ranks=ranks,
            recorded=recorded,
            writes=writes,
            marks=[_mark(e, phones) for e in entries],
            fields=fields,
        )

    def _decide(
        self,
        entries: list[_Entry],
        assigned: list[WamidAssigned],
        messages: dict[str, Message],
        stored: list[message_rows.StoredStatus],
    ) -> tuple[
        list[message_rows.NewStatus],
        list[tuple[str, str, str, bool]],
        dict[str, int],
        list[tuple[Message, Mapping[str, Any]]],
    ]:
        by_id = {m.id: m for m in messages.values()}
        assigned = [a for a in assigned if a.message_id in by_id]
        assigned_ids = {a.message_id for a in assigned}
        stream: list[StreamItem] = sorted(
            [*assigned, *(s for e in entries for s in e.statuses)], key=lambda i: i.seq
        )
        held: defaultdict[str, list[HeldStatus]] = defaultdict(list)
        for status in stored:
            if status.message_id is None:
                held[status.wamid].append(
                    HeldStatus(status.id, status.seq, status.wamid, status.status, status.payload)
                )
        decision = decide_batch(
            stream,
            known={
                wamid: (m.id, m.forwarded_rank)
                for wamid, m in messages.items()
                if m.id not in assigned_ids
            },
            recorded={(s.wamid, s.status) for s in stored},
            held=held,
            assigned_ranks={m.id: m.forwarded_rank for m in by_id.values() if m.id in assigned_ids},
        )
        new_statuses: list[message_rows.NewStatus] = []
        released: list[tuple[str, str, str, bool]] = []
        forwarded: list[tuple[Message, Mapping[str, Any]]] = []
        counts = {e.item.seq: e.counts for e in entries}
        for applied in decision.applied:
            verdict = Verdict.FORWARDED if applied.forwarded else Verdict.NOT_FORWARDED
            reported = applied.status
            if isinstance(reported, HeldStatus):
                released.append((reported.id, applied.message_id, verdict.value, applied.forwarded))
            else:
                new_statuses.append(
                    _new_status(reported, applied.message_id, verdict, applied.forwarded)
                )
                counts[reported.seq]["forwarded" if applied.forwarded else "recorded"] += 1
            if applied.forwarded:
                forwarded.append((by_id[applied.message_id], reported.payload))
            else:
                log.info(
                    "message.status_not_forwarded",
                    message_id=applied.message_id,
                    status=reported.status,
                )
        for waiting in decision.held:
            new_statuses.append(_new_status(waiting, None, Verdict.HELD, False))
            counts[waiting.seq]["held"] += 1
        for repeated in decision.duplicates:
            counts[repeated.seq]["duplicate"] += 1
        return new_statuses, released, decision.ranks, forwarded

    async def _fan_out_statuses(
        self,
        connection: Any,
        forwarded: Sequence[tuple[Message, Mapping[str, Any]]],
        phones: dict[str, PhoneNumber],
        profiles: Mapping[str, CallbackProfile],
        writes: Writes,
        now: datetime,
    ) -> None:
        if not forwarded:
            return
        billing = await message_rows.billing_of(connection, {m.sid for m, _ in forwarded})
        for message, status in forwarded:
            phone = phones.get(message.phone_number_id)
            if phone is None:
                continue
            status_writes(message, phone, dict(status), billing[message.sid], profiles, writes, now)


def _profiles_wanted(
    forwarded: Sequence[tuple[Message, Mapping[str, Any]]],
    incoming: Sequence[InboundMessage],
    phones: Mapping[str, PhoneNumber],
    entries: Sequence[_Entry],
) -> set[str]:
    """The profiles a batch's callbacks may go through: its statuses' and its numbers'
    incoming profiles."""
    wanted = {
        profile_id
        for message, _ in forwarded
        if (profile_id := status_profile_of(message, phones.get(message.phone_number_id)))
    }
    if incoming:
        for entry in entries:
            phone = phones.get(entry.item.scope or "")
            if entry.inbound and phone is not None and phone.incoming_callback_profile_id:
                wanted.add(phone.incoming_callback_profile_id)
    return wanted


def _new_status(
    status: ReportedStatus, message_id: str | None, verdict: Verdict, forwarded: bool
) -> message_rows.NewStatus:
    return message_rows.NewStatus(
        wamid=status.wamid,
        status=status.status,
        message_id=message_id,
        seq=status.seq,
        outcome=verdict.value,
        forwarded=forwarded,
        payload=status.payload,
    )


def _parse(item: InboxItem) -> _Entry:
    entry = _Entry(item)
    if item.kind is InboxKind.SENT:
        entry.assigned = [
            WamidAssigned(item.seq, message_id, wamid)
            for message_id, wamid in sent_pairs(item.body)
        ]
        return entry
    document = parse_document(item.body)
    if document is None:
        entry.invalid = True
        return entry
    for value in change_values(document):
        if item.scope is None or phone_number_id_of(value) != item.scope:
            continue
        for status in value.get("statuses") or []:
            if isinstance(status, dict) and status.get("id"):
                entry.statuses.append(
                    ReportedStatus(
                        item.seq,
                        str(status["id"]),
                        str(status.get("status", "")).lower(),
                        status,
                    )
                )
        entry.inbound.extend(inbound_messages(value))
    return entry


def _inbound(
    entries: list[_Entry],
    phones: dict[str, PhoneNumber],
    messages: dict[str, Message],
    seen: set[str],
    profiles: Mapping[str, CallbackProfile],
    writes: Writes,
    now: datetime,
) -> _Inbound:
    """Every message users sent, once each (by Meta's id): recorded, and either forwarded
    now or, when it carries media, once its download is done."""
    recorded = _Inbound()
    seen = set(seen)
    for entry in entries:
        phone = phones.get(entry.item.scope or "")
        if phone is None:
            continue
        for message in entry.inbound:
            if message.wamid in seen:
                entry.counts["duplicate"] += 1
                continue
            seen.add(message.wamid)
            inbound_id = inbound_rows.new_inbound_id()
            recorded.rows.append(
                (inbound_id, inbound_rows.NewInbound(message, phone, entry.item.seq))
            )
            if message.media is not None:
                recorded.downloads.append(inbound_id)
                entry.counts["downloading"] += 1
                continue
            replied = messages.get(message.reply_to) if message.reply_to else None
            sent = incoming_writes(
                inbound_id,
                message,
                phone,
                replied=replied,
                profiles=profiles,
                media=None,
                writes=writes,
                now=now,
            )
            entry.counts["forwarded" if sent else "recorded"] += 1
    return recorded


def _mark(entry: _Entry, phones: dict[str, PhoneNumber]) -> ProcessedMark:
    item = entry.item
    if item.kind is InboxKind.SENT:
        return ProcessedMark(item.seq, "recorded", json.dumps({"sent": len(entry.assigned)}))
    if entry.invalid:
        metrics.META_WEBHOOKS_INVALID.inc()
        return ProcessedMark(item.seq, "invalid", None)
    if item.scope is None or item.scope not in phones:
        entry.counts["unknown_number"] += 1
    counts = entry.counts
    done = counts["forwarded"] or counts["recorded"] or counts["held"] or counts["downloading"]
    outcome = "processed" if done else "unknown"
    return ProcessedMark(item.seq, outcome, json_text.sorted_keys(dict(counts)))


def _log_batch(entries: list[_Entry], deliveries: int) -> None:
    total: Counter[str] = Counter()
    for entry in entries:
        total.update(entry.counts)
    metrics.INBOX_BATCHES.inc()
    metrics.INBOX_ENTRIES.inc(len(entries))
    log.info("inbox.batch", entries=len(entries), deliveries=deliveries, **dict(total))
