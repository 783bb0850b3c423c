"""What one inbox entry reports, read from its body: statuses, users' messages, wamids.

A Meta webhook entry applies only the change values of its own business number
(its ``scope``); a SENT entry names the wamids Meta gave our messages. What
processing came to is :func:`entry_outcome`, stored with the entry.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wagate.domain import json_text
from wagate.domain.identity import IdentityChange, contact_for, identity_changes
from wagate.domain.inbound import InboundMessage, inbound_messages
from wagate.domain.inbox import (
    InboxKind,
    change_values,
    parse_document,
    phone_number_id_of,
    sent_pairs,
)
from wagate.domain.status_flow import ReportedStatus, WamidAssigned

__all__ = ["EntryChanges", "EntryOutcome", "entry_outcome", "parse_entry", "reported_statuses"]


@dataclass
class EntryChanges:
    """The changes of one inbox entry; ``invalid`` when its body is not a JSON object."""

    statuses: list[ReportedStatus] = field(default_factory=list)
    inbound: list[InboundMessage] = field(default_factory=list)
    assigned: list[WamidAssigned] = field(default_factory=list)
    #: Users whose BSUID or phone number changed (system messages, ``user_id_update``).
    identity_changes: list[IdentityChange] = field(default_factory=list)
    invalid: bool = False


def reported_statuses(value: Mapping[str, Any], seq: int) -> list[ReportedStatus]:
    """The statuses of one change value, in order, each with its recipient's contact;
    those without an id are left out."""
    contacts = [c for c in value.get("contacts") or [] if isinstance(c, dict)]
    found = []
    for status in value.get("statuses") or []:
        if isinstance(status, dict) and status.get("id"):
            contact = contact_for(
                contacts,
                phone=str(status.get("recipient_id") or "") or None,
                user_id=str(status.get("recipient_user_id") or "") or None,
            )
            found.append(
                ReportedStatus(
                    seq, str(status["id"]), str(status.get("status", "")).lower(), status, contact
                )
            )
    return found


def parse_entry(kind: InboxKind, seq: int, scope: str | None, body: str) -> EntryChanges:
    """The changes an inbox entry at ``seq`` applies."""
    changes = EntryChanges()
    if kind is InboxKind.SENT:
        changes.assigned = [
            WamidAssigned(seq, message_id, wamid) for message_id, wamid in sent_pairs(body)
        ]
        return changes
    document = parse_document(body)
    if document is None:
        changes.invalid = True
        return changes
    for value in change_values(document):
        if scope is None or phone_number_id_of(value) != scope:
            continue
        changes.statuses.extend(reported_statuses(value, seq))
        changes.inbound.extend(inbound_messages(value))
        changes.identity_changes.extend(identity_changes(value))
    return changes


@dataclass(frozen=True, slots=True)
class EntryOutcome:
    """What processing an entry came to: its outcome and the detail stored with it."""

    outcome: str
    detail: str | None


def entry_outcome(
    kind: InboxKind, changes: EntryChanges, counts: Counter[str], *, number_known: bool
) -> EntryOutcome:
    """``recorded`` for a SENT entry, ``invalid`` for a body that is no JSON object, else
    ``processed`` when anything was forwarded, recorded, held or is downloading, and
    ``unknown`` when nothing of it applied (an unknown number, or fields we do not
    handle). ``counts`` gains ``unknown_number`` when the number the entry names is not
    known (``number_known`` is True for an entry that names none)."""
    if kind is InboxKind.SENT:
        return EntryOutcome("recorded", json.dumps({"sent": len(changes.assigned)}))
    if changes.invalid:
        return EntryOutcome("invalid", None)
    if not number_known:
        counts["unknown_number"] += 1
    done = (
        counts["forwarded"]
        or counts["recorded"]
        or counts["held"]
        or counts["downloading"]
        or counts["identity_changed"]
    )
    return EntryOutcome("processed" if done else "unknown", json_text.sorted_keys(dict(counts)))
