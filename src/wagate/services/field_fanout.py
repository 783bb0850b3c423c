"""What Meta's non-message fields become: kept facts, events, and pushes to those who opted in.

Called by the inbox processor for each batch, in its transaction: :func:`plan_fields`
reads what the batch's fields need (their numbers, WABAs and subscriptions)
and adds their events and deliveries to the batch's writes; :func:`write_fields`
records what the gateway keeps of them (users' marketing preferences,
templates' categories). An event goes, as seed 003's push extended
(:func:`~wagate.domain.field_events.push_payload`), to the ``webhook_url`` of
each number it concerns whose subscription (its own, else its WABA's) takes
its type: a number's event to that number, a WABA's to its numbers, once per
distinct URL, signed by the first number (in number order) that has it. An entry
whose fields nobody opted into keeps the outcome ``unknown``, and is forwarded
when reprocessed after an opt-in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from wagate.delivery.deliveries import push_delivery
from wagate.domain.field_events import (
    FieldEvent,
    field_events,
    may_have_events,
    push_payload,
    subject_of,
)
from wagate.domain.inbox import InboxKind, parse_document
from wagate.domain.marketing import (
    MarketingPreference,
    TemplateCategory,
    latest,
    preferences_of,
    template_category_of,
)
from wagate.domain.tenancy import PhoneNumber
from wagate.domain.webhook_events import EventScope, effective_types, wants
from wagate.services.status_fanout import Writes
from wagate.store import Connection
from wagate.store import events as event_rows
from wagate.store import tenancy as tenancy_rows
from wagate.store import webhook_events as field_rows
from wagate.store.inbox import InboxItem
from wagate.store.webhook_events import Owner

__all__ = ["FIELD_EVENT", "FieldWrites", "plan_fields", "write_fields"]

#: The kind of the events non-message fields become.
FIELD_EVENT = "webhook_field"


@dataclass
class FieldWrites:
    """What a batch keeps of its fields, besides their events and deliveries."""

    preferences: list[tuple[str, MarketingPreference]] = field(default_factory=list)
    categories: list[TemplateCategory] = field(default_factory=list)


async def plan_fields(
    connection: Connection,
    entries: Sequence[tuple[InboxItem, Counter[str]]],
    writes: Writes,
    now: datetime,
) -> FieldWrites:
    """Add the events of the entries' non-message fields, and their pushes, to ``writes``;
    count in each entry's counter what its fields came to; what to keep of them."""
    parsed: list[tuple[Counter[str], list[FieldEvent]]] = []
    for item, counts in entries:
        if item.kind is not InboxKind.META_WEBHOOK or not may_have_events(item.body):
            continue
        document = parse_document(item.body)
        events = field_events(document, item.scope) if document is not None else []
        if events:
            parsed.append((counts, events))
    kept = FieldWrites()
    if not parsed:
        return kept
    everything = [event for _, events in parsed for event in events]
    phones = await tenancy_rows.numbers_by_phone_number_id(
        connection, {e.phone_number_id for e in everything if e.phone_number_id}
    )
    by_waba = await field_rows.numbers_of_wabas(
        connection, {e.waba_id for e in everything if e.scope is EventScope.WABA}
    )
    concerned = [*phones.values(), *(n for ns in by_waba.values() for n in ns)]
    subscriptions = await field_rows.subscriptions_of(
        connection,
        {("number", n.number) for n in concerned} | {("waba", n.waba_id) for n in concerned},
    )
    for counts, events in parsed:
        for event in events:
            if event.phone_number_id:
                phone = phones.get(event.phone_number_id)
                numbers = [phone] if phone is not None else []
            else:
                numbers = by_waba.get(event.waba_id, [])
            if not numbers:
                counts["field_unknown_number"] += 1
                continue
            _keep(event, numbers[0], kept, counts)
            receivers = _receivers(event, numbers, subscriptions)
            if receivers:
                _forward(event, receivers, writes, now)
                counts["forwarded"] += 1
            else:
                counts["field_not_subscribed"] += 1
    return kept


async def write_fields(connection: Connection, kept: FieldWrites, now: datetime) -> None:
    """Record what :func:`plan_fields` kept: marketing preferences, template categories."""
    await field_rows.save_preferences(connection, kept.preferences, now)
    await field_rows.save_categories(connection, kept.categories, now)


def _keep(event: FieldEvent, phone: PhoneNumber, kept: FieldWrites, counts: Counter[str]) -> None:
    preferences = latest(preferences_of(event))
    kept.preferences += [(phone.number, p) for p in preferences]
    category = template_category_of(event)
    if category is not None:
        kept.categories.append(category)
    kept_now = len(preferences) + (category is not None)
    if kept_now:
        counts["field_kept"] += kept_now


def _receivers(
    event: FieldEvent,
    numbers: Sequence[PhoneNumber],
    subscriptions: dict[Owner, tuple[str, ...]],
) -> list[PhoneNumber]:
    """The numbers whose ``webhook_url`` gets the event: one per distinct URL."""
    chosen: dict[str, PhoneNumber] = {}
    for phone in numbers:
        if not phone.webhook_url or phone.webhook_url in chosen:
            continue
        types = effective_types(
            subscriptions.get(("number", phone.number)),
            subscriptions.get(("waba", phone.waba_id)),
        )
        if wants(types, event.type):
            chosen[phone.webhook_url] = phone
    return list(chosen.values())


def _forward(
    event: FieldEvent, receivers: Sequence[PhoneNumber], writes: Writes, now: datetime
) -> None:
    first = receivers[0]
    subject = subject_of(event)
    row = event_rows.NewEvent(
        event_rows.new_event_id(),
        FIELD_EVENT,
        first.sid,
        first.waba_id,
        subject,
        event.type[:32],
        {"field": event.field, "value": dict(event.value)},
    )
    writes.events.append(row)
    for phone in receivers:
        payload = push_payload(event, phone.number)
        writes.deliveries.append(
            push_delivery(phone, payload, event_id=row.id, subject_id=subject, now=now)
        )
