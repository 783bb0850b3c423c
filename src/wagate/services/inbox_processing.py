"""Processing the inbox: a batch of Meta's webhooks (and of our sent records) at a time.

One batch is one transaction with one statement per stage: claim the entries,
record the wamids Meta gave our messages, read the numbers, messages and
statuses the batch names, decide (:func:`~wagate.domain.status_flow.decide_batch`,
the rule that runs), write the statuses, the messages' forwarded ranks, the
events and their deliveries, and mark the entries processed. A crash anywhere
rolls the whole batch back; it is taken again, in the same order.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from wagate import metrics
from wagate.delivery.render import render_query
from wagate.domain.callbacks import CallbackProfile, Delivery
from wagate.domain.clock import Clock, utcnow
from wagate.domain.inbox import (
    InboxKind,
    change_values,
    parse_document,
    phone_number_id_of,
    sent_pairs,
)
from wagate.domain.messages import (
    Billing,
    Message,
    status_callback_values,
    webhook_button_payload,
    webhook_status_payload,
)
from wagate.domain.status_flow import (
    HeldStatus,
    ReportedStatus,
    StreamItem,
    Verdict,
    WamidAssigned,
    decide_batch,
)
from wagate.domain.tenancy import PhoneNumber
from wagate.services.fanout import direct_delivery, profile_delivery
from wagate.store import Database, delivery_queue
from wagate.store import events as event_rows
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


@dataclass
class _Entry:
    """One claimed entry, parsed: what it reports and what it came to."""

    item: InboxItem
    statuses: list[ReportedStatus] = field(default_factory=list)
    inbound: list[tuple[dict[str, Any], list[dict[str, Any]]]] = field(default_factory=list)
    assigned: list[WamidAssigned] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    invalid: bool = False


@dataclass
class _Writes:
    """What a batch writes besides the statuses: events and their deliveries."""

    events: list[event_rows.NewEvent] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)


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
        """
        now = self._clock()
        async with self._db.transaction() as connection:
            items = await inbox_rows.claim_batch(
                connection, max_items=self._batch_items, max_entries=self._batch_entries
            )
            if not items:
                return 0
            entries = [_parse(item) for item in items]
            phones = await message_rows.numbers_by_phone_number_id(
                connection, {e.item.scope for e in entries if e.item.scope}
            )
            for entry in entries:
                if entry.item.scope not in phones:
                    entry.statuses, entry.inbound = [], []
            assigned = [a for entry in entries for a in entry.assigned]
            await message_rows.assign_wamids(
                connection, [(a.message_id, a.wamid) for a in assigned], now
            )
            wamids = {s.wamid for e in entries for s in e.statuses} | {a.wamid for a in assigned}
            inbound_ids = {str(m.get("id", "")) for e in entries for m, _ in e.inbound}
            contexts = {
                str((m.get("context") or {}).get("id", "")) for e in entries for m, _ in e.inbound
            }
            messages = await message_rows.by_wamid(connection, wamids | contexts)
            stored = await message_rows.statuses_of(connection, wamids | inbound_ids)

            applied_statuses = self._decide(entries, assigned, messages, stored)
            new_statuses, released, ranks, forwarded = applied_statuses
            await message_rows.insert_statuses(connection, new_statuses, now)
            await message_rows.release_held(connection, released)
            await message_rows.set_forwarded_ranks(connection, ranks, now)

            writes = _Writes()
            await self._fan_out_statuses(connection, forwarded, messages, phones, writes, now)
            inbound_rows = _inbound(entries, phones, messages, stored, writes, now)
            await message_rows.insert_statuses(connection, inbound_rows, now)
            await event_rows.insert_events(connection, writes.events, now)
            await inbox_rows.mark_processed(connection, [_mark(e, phones) for e in entries], now)
            # Last: it locks the unfinished deliveries of the same messages until the commit.
            await delivery_queue.insert_deliveries(connection, writes.deliveries)
        _log_batch(entries, len(writes.deliveries))
        return len(items)

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
        messages: dict[str, Message],
        phones: dict[str, PhoneNumber],
        writes: _Writes,
        now: datetime,
    ) -> None:
        if not forwarded:
            return
        billing = await message_rows.billing_of(connection, {m.sid for m, _ in forwarded})
        wanted: set[str] = set()
        for message, _ in forwarded:
            phone = phones.get(message.phone_number_id)
            profile_id = message.callback_profile_id or (
                phone.callback_profile_id if phone else None
            )
            if profile_id and not message.callback_url:
                wanted.add(profile_id)
        profiles = await profile_rows.get_profiles(connection, wanted)
        for message, status in forwarded:
            phone = phones.get(message.phone_number_id)
            if phone is None:
                continue
            _status_writes(
                message, phone, dict(status), billing[message.sid], profiles, writes, now
            )


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
        contacts = [c for c in value.get("contacts") or [] if isinstance(c, dict)]
        for message in value.get("messages") or []:
            if isinstance(message, dict):
                entry.inbound.append((message, contacts))
    return entry


def _status_writes(
    message: Message,
    phone: PhoneNumber,
    status: dict[str, Any],
    billing: Billing,
    profiles: Mapping[str, CallbackProfile],
    writes: _Writes,
    now: datetime,
) -> None:
    """The event of a forwarded status and its deliveries: the message's ``callback_url``
    or else its (or its number's) profile, and the number's ``webhook_url`` push."""
    name = str(status.get("status", "")).lower()
    event = event_rows.NewEvent(
        event_rows.new_event_id(),
        "message_status",
        message.sid,
        message.waba_id,
        message.id,
        name,
        status,
    )
    writes.events.append(event)
    values = status_callback_values(message, status, billing)
    common: dict[str, Any] = {"event_id": event.id, "subject_id": message.id, "now": now}
    if message.callback_url:
        request = render_query(message.callback_url, values)
        writes.deliveries.append(
            direct_delivery(
                sid=message.sid,
                number=phone.number,
                method="GET",
                url=request.url,
                body=None,
                **common,
            )
        )
    else:
        profile_id = message.callback_profile_id or phone.callback_profile_id
        profile = profiles.get(profile_id) if profile_id else None
        if profile is not None:
            writes.deliveries.append(profile_delivery(profile, values=values, **common))
    if phone.webhook_url:
        payload = webhook_status_payload(phone.number, status)
        writes.deliveries.append(_push(phone, payload, **common))


def _push(phone: PhoneNumber, payload: dict[str, Any], **common: Any) -> Delivery:
    assert phone.webhook_url is not None
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return direct_delivery(
        sid=phone.sid,
        number=phone.number,
        method="POST",
        url=phone.webhook_url,
        body=body,
        **common,
    )


def _inbound(
    entries: list[_Entry],
    phones: dict[str, PhoneNumber],
    messages: dict[str, Message],
    stored: list[message_rows.StoredStatus],
    writes: _Writes,
    now: datetime,
) -> list[message_rows.NewStatus]:
    """Quick-reply button clicks, once each: recorded, and pushed to the number's webhook."""
    seen = {(s.wamid, s.status) for s in stored}
    recorded: list[message_rows.NewStatus] = []
    for entry in entries:
        phone = phones.get(entry.item.scope or "")
        for click, contacts in entry.inbound:
            if phone is None:
                continue
            if click.get("type") != "button":
                entry.counts["unsupported_inbound"] += 1
                continue
            click_id = str(click.get("id", ""))
            if (click_id, "button") in seen:
                entry.counts["duplicate"] += 1
                continue
            seen.add((click_id, "button"))
            recorded.append(
                message_rows.NewStatus(
                    click_id, "button", None, entry.item.seq, "inbound", False, click
                )
            )
            entry.counts["forwarded" if phone.webhook_url else "recorded"] += 1
            if not phone.webhook_url:
                continue
            original = messages.get(str((click.get("context") or {}).get("id", "")))
            subject = original.id if original else click_id
            event = event_rows.NewEvent(
                event_rows.new_event_id(),
                "button_click",
                phone.sid,
                phone.waba_id,
                subject,
                "button",
                click,
            )
            writes.events.append(event)
            payload = webhook_button_payload(phone.number, contacts, click, original)
            writes.deliveries.append(
                _push(phone, payload, event_id=event.id, subject_id=subject, now=now)
            )
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
    outcome = (
        "processed" if counts["forwarded"] or counts["recorded"] or counts["held"] else "unknown"
    )
    return ProcessedMark(item.seq, outcome, json.dumps(dict(counts), sort_keys=True))


def _log_batch(entries: list[_Entry], deliveries: int) -> None:
    total: Counter[str] = Counter()
    for entry in entries:
        total.update(entry.counts)
    metrics.INBOX_BATCHES.inc()
    metrics.INBOX_ENTRIES.inc(len(entries))
    log.info("inbox.batch", entries=len(entries), deliveries=deliveries, **dict(total))
