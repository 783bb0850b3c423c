"""What a batch of the inbox does to messages' statuses: the forwarding rule that runs.

The processor hands this function a partition's entries in the order they were
acknowledged, with what the database already knows of their messages, and
applies the decision as it is: nothing here is re-decided in SQL.

The rule, per message:

- each (wamid, status) counts once; a repeat is a duplicate;
- a status of a message we have not recorded yet is *held*, and applied, in
  its original order, as soon as the message is recorded (which may be later
  in the same batch, or in a later one);
- an applied status is forwarded when it moves the customer's view forward
  (:func:`~wagate.domain.messages.should_forward`); one Meta sent late (a
  ``delivered`` after ``read``) is recorded and not forwarded.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wagate.domain.messages import STATUS_RANK, should_forward

__all__ = [
    "Applied",
    "BatchDecision",
    "HeldStatus",
    "ReportedStatus",
    "StreamItem",
    "Verdict",
    "WamidAssigned",
    "decide_batch",
]


class Verdict(enum.StrEnum):
    """What became of one reported status."""

    FORWARDED = "forwarded"
    NOT_FORWARDED = "not_forwarded"
    HELD = "held"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class ReportedStatus:
    """A status Meta reported, at its position ``seq`` in the inbox, with the change
    value's ``contacts`` entry of its recipient when there is one."""

    seq: int
    wamid: str
    status: str
    payload: Mapping[str, Any]
    contact: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class HeldStatus:
    """A status recorded earlier whose message was not known then (its row id kept), with
    the recipient's ``contacts`` entry Meta sent with it when there was one."""

    id: str
    seq: int
    wamid: str
    status: str
    payload: Mapping[str, Any]
    contact: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class WamidAssigned:
    """Meta named our message ``message_id`` ``wamid``, at position ``seq`` in the inbox."""

    seq: int
    message_id: str
    wamid: str


StreamItem = ReportedStatus | WamidAssigned


@dataclass(frozen=True, slots=True)
class Applied:
    """A status applied to its message, and whether it was forwarded to the customer."""

    status: ReportedStatus | HeldStatus
    message_id: str
    forwarded: bool


@dataclass
class BatchDecision:
    """The outcome of a batch, in the order things happened."""

    applied: list[Applied] = field(default_factory=list)
    held: list[ReportedStatus] = field(default_factory=list)
    duplicates: list[ReportedStatus] = field(default_factory=list)
    #: Message id → its forwarded rank after the batch, for the messages whose rank moved.
    ranks: dict[str, int] = field(default_factory=dict)


def decide_batch(
    stream: Sequence[StreamItem],
    *,
    known: Mapping[str, tuple[str, int]],
    recorded: Collection[tuple[str, str]],
    held: Mapping[str, Sequence[HeldStatus]],
    assigned_ranks: Mapping[str, int] | None = None,
) -> BatchDecision:
    """Apply a batch of the inbox, in order.

    ``known`` maps each wamid recorded before the batch to (message id,
    forwarded rank); ``recorded`` is every (wamid, status) already stored,
    held ones included; ``held`` gives, per wamid, the statuses held before
    this batch in their order; ``assigned_ranks`` the forwarded rank of each
    message named by a :class:`WamidAssigned` of the batch (0 when absent).
    """
    decision = BatchDecision()
    messages: dict[str, tuple[str, int]] = dict(known)
    waiting: dict[str, list[ReportedStatus | HeldStatus]] = {
        wamid: sorted(statuses, key=lambda s: s.seq) for wamid, statuses in held.items() if statuses
    }
    seen = set(recorded)
    start_ranks = {message_id: rank for message_id, rank in messages.values()}

    def apply(status: ReportedStatus | HeldStatus, message_id: str, rank: int) -> int:
        forwarded = status.status in STATUS_RANK and should_forward(rank, status.status)
        decision.applied.append(Applied(status, message_id, forwarded))
        return STATUS_RANK[status.status] if forwarded else rank

    def release(wamid: str) -> None:
        message_id, rank = messages[wamid]
        for status in waiting.pop(wamid, []):
            rank = apply(status, message_id, rank)
        messages[wamid] = (message_id, rank)

    for item in stream:
        if isinstance(item, WamidAssigned):
            if item.wamid not in messages:
                rank = (assigned_ranks or {}).get(item.message_id, 0)
                messages[item.wamid] = (item.message_id, rank)
                start_ranks.setdefault(item.message_id, rank)
            release(item.wamid)
            continue
        key = (item.wamid, item.status)
        if key in seen:
            decision.duplicates.append(item)
            continue
        seen.add(key)
        if item.wamid in messages:
            release(item.wamid)
            message_id, rank = messages[item.wamid]
            messages[item.wamid] = (message_id, apply(item, message_id, rank))
        else:
            waiting.setdefault(item.wamid, []).append(item)

    decision.held = [
        status
        for statuses in waiting.values()
        for status in statuses
        if isinstance(status, ReportedStatus)
    ]
    decision.held.sort(key=lambda s: s.seq)
    for message_id, rank in messages.values():
        if rank != start_ranks.get(message_id, 0):
            decision.ranks[message_id] = rank
    return decision
