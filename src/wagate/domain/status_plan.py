"""What a batch of the inbox writes of messages' statuses, decided from what it read.

:func:`~wagate.domain.status_flow.decide_batch` is the forwarding rule; this
module turns the rows the processor read (messages, recorded statuses) into its
input, and its decision into a :class:`StatusPlan`: the statuses to record, the
held ones to attach to their message, the messages' new forwarded ranks, the
statuses to tell the customer about, and per inbox entry what became of its
statuses.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from wagate.domain.messages import Message
from wagate.domain.status_flow import (
    Applied,
    HeldStatus,
    ReportedStatus,
    StreamItem,
    Verdict,
    WamidAssigned,
    decide_batch,
)

__all__ = [
    "HELD_CONTACT_KEY",
    "ForwardedStatus",
    "NewStatus",
    "ReleasedStatus",
    "StatusPlan",
    "StoredStatus",
    "plan_statuses",
]


#: The key under which a held status's stored object keeps the recipient's ``contacts``
#: entry until it is released (Meta's status objects have no such key); the release
#: stores Meta's object alone again.
HELD_CONTACT_KEY: Final = "wagate_held_contact"


@dataclass(frozen=True, slots=True)
class StoredStatus:
    """A (wamid, status) already recorded; ``message_id`` is None while it is held (only
    then is its ``payload`` read: it is applied later, and keeps the recipient's contact
    under :data:`HELD_CONTACT_KEY`)."""

    id: str
    wamid: str
    status: str
    message_id: str | None
    seq: int
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewStatus:
    """A status to record: its message (None while held), where it came in, and its fate."""

    wamid: str
    status: str
    message_id: str | None
    seq: int
    outcome: str
    forwarded: bool
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ReleasedStatus:
    """A held status (row ``id``) now applied to its message, its fate, and Meta's status
    object to keep (without the contact it was held with)."""

    id: str
    message_id: str
    outcome: str
    forwarded: bool
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ForwardedStatus:
    """A status the customer hears of: its message, Meta's status object and the
    recipient's contact (None when Meta sent none)."""

    message: Message
    payload: Mapping[str, Any]
    contact: Mapping[str, Any] | None = None


@dataclass
class StatusPlan:
    """Every status row a batch writes, and what it forwards."""

    new_statuses: list[NewStatus] = field(default_factory=list)
    released: list[ReleasedStatus] = field(default_factory=list)
    #: Message id → its forwarded rank after the batch, for the messages whose rank moved.
    ranks: dict[str, int] = field(default_factory=dict)
    forwarded: list[ForwardedStatus] = field(default_factory=list)
    #: Statuses applied to their message but not forwarded (Meta sent them late).
    not_forwarded: list[Applied] = field(default_factory=list)
    #: Per inbox entry (by ``seq``): how many of its statuses were forwarded, recorded,
    #: held or duplicates.
    counts: defaultdict[int, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))


def plan_statuses(
    reported: Sequence[ReportedStatus],
    assigned: Sequence[WamidAssigned],
    messages: Mapping[str, Message],
    stored: Sequence[StoredStatus],
) -> StatusPlan:
    """Apply a batch's statuses and wamid assignments, in inbox order.

    ``messages`` is every message the batch names, by wamid (those it assigns
    included, read as they will be); ``stored`` every status already recorded
    of the batch's wamids. Assignments of messages that are not in
    ``messages`` are passed over.
    """
    by_id = {m.id: m for m in messages.values()}
    assigned = [a for a in assigned if a.message_id in by_id]
    assigned_ids = {a.message_id for a in assigned}
    stream: list[StreamItem] = sorted([*assigned, *reported], key=lambda item: item.seq)
    held: defaultdict[str, list[HeldStatus]] = defaultdict(list)
    for status in stored:
        if status.message_id is None:
            payload, contact = _split_held(status.payload)
            held[status.wamid].append(
                HeldStatus(status.id, status.seq, status.wamid, status.status, payload, contact)
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
    plan = StatusPlan(ranks=decision.ranks)
    for applied in decision.applied:
        verdict = Verdict.FORWARDED if applied.forwarded else Verdict.NOT_FORWARDED
        applied_status = applied.status
        if isinstance(applied_status, HeldStatus):
            plan.released.append(
                ReleasedStatus(
                    applied_status.id,
                    applied.message_id,
                    verdict.value,
                    applied.forwarded,
                    applied_status.payload,
                )
            )
        else:
            plan.new_statuses.append(
                _new_status(applied_status, applied.message_id, verdict, applied.forwarded)
            )
            plan.counts[applied_status.seq]["forwarded" if applied.forwarded else "recorded"] += 1
        if applied.forwarded:
            plan.forwarded.append(
                ForwardedStatus(
                    by_id[applied.message_id], applied_status.payload, applied_status.contact
                )
            )
        else:
            plan.not_forwarded.append(applied)
    for waiting in decision.held:
        kept = _with_held_contact(waiting.payload, waiting.contact)
        plan.new_statuses.append(_new_status(waiting, None, Verdict.HELD, False, kept))
        plan.counts[waiting.seq]["held"] += 1
    for repeated in decision.duplicates:
        plan.counts[repeated.seq]["duplicate"] += 1
    return plan


def _with_held_contact(
    payload: Mapping[str, Any], contact: Mapping[str, Any] | None
) -> Mapping[str, Any]:
    """Meta's status object as a held row keeps it: with the contact it came with."""
    return payload if contact is None else {**payload, HELD_CONTACT_KEY: dict(contact)}


def _split_held(
    stored: Mapping[str, Any],
) -> tuple[Mapping[str, Any], Mapping[str, Any] | None]:
    """A held row's object as Meta's status object and the contact it came with."""
    if HELD_CONTACT_KEY not in stored:
        return stored, None
    payload = {k: v for k, v in stored.items() if k != HELD_CONTACT_KEY}
    contact = stored[HELD_CONTACT_KEY]
    return payload, contact if isinstance(contact, Mapping) else None


def _new_status(
    status: ReportedStatus,
    message_id: str | None,
    verdict: Verdict,
    forwarded: bool,
    payload: Mapping[str, Any] | None = None,
) -> NewStatus:
    return NewStatus(
        wamid=status.wamid,
        status=status.status,
        message_id=message_id,
        seq=status.seq,
        outcome=verdict.value,
        forwarded=forwarded,
        payload=status.payload if payload is None else payload,
    )
