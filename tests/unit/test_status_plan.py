"""The rows a batch writes of statuses, planned from what it read."""

from __future__ import annotations

import json
from collections import Counter

from tests.meta_fixtures import notification, value_of
from wagate.domain.entry_changes import EntryChanges, entry_outcome, parse_entry
from wagate.domain.inbox import InboxKind
from wagate.domain.messages import Message
from wagate.domain.status_flow import ReportedStatus, WamidAssigned
from wagate.domain.status_plan import HELD_CONTACT_KEY, StoredStatus, plan_statuses

WAMID = "wamid.1"


def _message(message_id: str = "m1", rank: int = 0) -> Message:
    return Message(
        id=message_id,
        sid="AC1",
        waba_id="w1",
        number="15550001111",
        phone_number_id="p1",
        recipient="16505551234",
        wamid=WAMID,
        type="text",
        template_id=None,
        template_name=None,
        template_components=None,
        ref=None,
        ref1=None,
        ref2=None,
        callback_url=None,
        callback_profile_id=None,
        tag_name=None,
        forwarded_rank=rank,
    )


def test_a_status_of_a_known_message_is_recorded_and_forwarded() -> None:
    status = ReportedStatus(7, WAMID, "sent", {"id": WAMID, "status": "sent"})
    plan = plan_statuses([status], [], {WAMID: _message()}, [])
    assert [(s.wamid, s.message_id, s.outcome, s.forwarded) for s in plan.new_statuses] == [
        (WAMID, "m1", "forwarded", True)
    ]
    assert [f.message.id for f in plan.forwarded] == ["m1"]
    assert plan.ranks == {"m1": 1}
    assert plan.counts[7] == Counter(forwarded=1)


def test_a_held_status_is_released_when_the_batch_assigns_its_wamid() -> None:
    held = StoredStatus("row1", WAMID, "delivered", None, 3, {"status": "delivered"})
    plan = plan_statuses([], [WamidAssigned(9, "m1", WAMID)], {WAMID: _message()}, [held])
    assert [(r.id, r.message_id, r.outcome, r.forwarded) for r in plan.released] == [
        ("row1", "m1", "forwarded", True)
    ]
    assert plan.new_statuses == []


def test_a_status_of_an_unknown_message_is_held_and_a_late_one_not_forwarded() -> None:
    unknown = ReportedStatus(1, "wamid.other", "sent", {})
    late = ReportedStatus(2, WAMID, "delivered", {})
    plan = plan_statuses([unknown, late], [], {WAMID: _message(rank=3)}, [])
    assert {(s.wamid, s.outcome) for s in plan.new_statuses} == {
        ("wamid.other", "held"),
        (WAMID, "not_forwarded"),
    }
    assert [a.message_id for a in plan.not_forwarded] == ["m1"]
    assert plan.counts[1] == Counter(held=1)
    assert plan.counts[2] == Counter(recorded=1)


def test_an_entry_is_parsed_for_its_own_number_only() -> None:
    document = notification("statuses_pmp", "sent_marketing")
    scope = value_of(document)["metadata"]["phone_number_id"]
    body = json.dumps(document)
    mine = parse_entry(InboxKind.META_WEBHOOK, 5, scope, body)
    assert [(s.seq, s.status) for s in mine.statuses] == [(5, "sent")]
    assert parse_entry(InboxKind.META_WEBHOOK, 5, "another", body).statuses == []
    assert parse_entry(InboxKind.META_WEBHOOK, 5, scope, "[1]").invalid


def test_an_entry_whose_fields_nothing_handles_is_unknown() -> None:
    counts: Counter[str] = Counter()
    outcome = entry_outcome(InboxKind.META_WEBHOOK, EntryChanges(), counts, number_known=True)
    assert outcome.outcome == "unknown"
    sent = entry_outcome(
        InboxKind.SENT,
        EntryChanges(assigned=[WamidAssigned(1, "m1", WAMID)]),
        Counter(),
        number_known=True,
    )
    assert (sent.outcome, sent.detail) == ("recorded", '{"sent": 1}')
    unknown_number = Counter({"recorded": 1})
    entry_outcome(InboxKind.META_WEBHOOK, EntryChanges(), unknown_number, number_known=False)
    assert unknown_number["unknown_number"] == 1


def test_a_held_status_keeps_its_contact_and_forwards_it_on_release() -> None:
    contact = {"wa_id": "16505551234", "user_id": "US.13491208655302741918", "profile": {}}
    status = ReportedStatus(3, WAMID, "delivered", {"id": WAMID, "status": "delivered"}, contact)
    held = plan_statuses([status], [], {}, [])
    (row,) = held.new_statuses
    assert row.message_id is None
    assert row.payload == {"id": WAMID, "status": "delivered", HELD_CONTACT_KEY: contact}

    stored = StoredStatus("row1", WAMID, "delivered", None, 3, json.loads(json.dumps(row.payload)))
    plan = plan_statuses([], [WamidAssigned(9, "m1", WAMID)], {WAMID: _message()}, [stored])
    (released,) = plan.released
    assert released.payload == {"id": WAMID, "status": "delivered"}
    (forwarded,) = plan.forwarded
    assert forwarded.payload == {"id": WAMID, "status": "delivered"}
    assert forwarded.contact == contact


def test_a_held_status_without_a_contact_is_stored_as_meta_sent_it() -> None:
    status = ReportedStatus(3, WAMID, "sent", {"id": WAMID, "status": "sent"})
    (row,) = plan_statuses([status], [], {}, []).new_statuses
    assert row.payload == {"id": WAMID, "status": "sent"}
    stored = StoredStatus("row1", WAMID, "sent", None, 3, dict(row.payload))
    plan = plan_statuses([], [WamidAssigned(9, "m1", WAMID)], {WAMID: _message()}, [stored])
    assert plan.forwarded[0].contact is None
