"""The forwarding rule over batches: any split of the inbox forwards the same statuses."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given
from hypothesis import strategies as st

from wagate.domain.messages import STATUS_RANK, should_forward
from wagate.domain.status_flow import (
    HeldStatus,
    ReportedStatus,
    StreamItem,
    WamidAssigned,
    decide_batch,
)

STATUSES = ("sent", "delivered", "read", "failed", "deleted", "warning")


def report(seq: int, wamid: str, status: str) -> ReportedStatus:
    return ReportedStatus(seq, wamid, status, {"id": wamid, "status": status})


@dataclass
class Database:
    """What the processor's tables hold between batches, for one test."""

    known: dict[str, tuple[str, int]] = field(default_factory=dict)
    recorded: set[tuple[str, str]] = field(default_factory=set)
    held: dict[str, list[HeldStatus]] = field(default_factory=dict)
    forwarded: list[tuple[str, str]] = field(default_factory=list)
    applied: list[tuple[str, str]] = field(default_factory=list)

    def process(self, batch: list[StreamItem]) -> None:
        assigned = {i.message_id for i in batch if isinstance(i, WamidAssigned)}
        decision = decide_batch(
            batch,
            known={w: v for w, v in self.known.items() if v[0] not in assigned},
            recorded=set(self.recorded),
            held={w: list(s) for w, s in self.held.items()},
            assigned_ranks={},
        )
        for item in batch:
            if isinstance(item, WamidAssigned):
                self.known.setdefault(item.wamid, (item.message_id, 0))
        ranks = {message_id: rank for message_id, rank in self.known.values()}
        ranks.update(decision.ranks)
        self.known = {w: (m, ranks[m]) for w, (m, _) in self.known.items()}
        for applied in decision.applied:
            status = applied.status
            if isinstance(status, HeldStatus):
                self.held[status.wamid].remove(status)
            self.recorded.add((status.wamid, status.status))
            self.applied.append((status.wamid, status.status))
            if applied.forwarded:
                self.forwarded.append((status.wamid, status.status))
        for status in decision.held:
            self.recorded.add((status.wamid, status.status))
            self.held.setdefault(status.wamid, []).append(
                HeldStatus(f"{status.seq}-{status.status}", status.seq, status.wamid,
                           status.status, status.payload)
            )  # fmt: skip
        self.held = {w: s for w, s in self.held.items() if s}


def reference(stream: list[StreamItem]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """What the whole stream forwards and applies when the message is known from its
    assignment on and held statuses wait for it: the in-order, non-regressing subsequence."""
    ranks: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    waiting: dict[str, list[str]] = {}
    forwarded: list[tuple[str, str]] = []
    applied: list[tuple[str, str]] = []

    def apply(wamid: str, status: str) -> None:
        applied.append((wamid, status))
        if status in STATUS_RANK and should_forward(ranks[wamid], status):
            ranks[wamid] = STATUS_RANK[status]
            forwarded.append((wamid, status))

    for item in stream:
        if isinstance(item, WamidAssigned):
            ranks.setdefault(item.wamid, 0)
            for status in waiting.pop(item.wamid, []):
                apply(item.wamid, status)
        elif (item.wamid, item.status) not in seen:
            seen.add((item.wamid, item.status))
            if item.wamid in ranks:
                apply(item.wamid, item.status)
            else:
                waiting.setdefault(item.wamid, []).append(item.status)
    return forwarded, applied


@st.composite
def streams_and_cuts(draw: st.DrawFn) -> tuple[list[StreamItem], list[int]]:
    messages = draw(st.integers(min_value=1, max_value=4))
    items: list[tuple[str, str | None]] = []
    for index in range(messages):
        wamid = f"wamid.{index}"
        statuses = draw(st.lists(st.sampled_from(STATUSES), max_size=7))
        assigned_at = draw(st.integers(min_value=0, max_value=len(statuses)))
        own: list[tuple[str, str | None]] = [(wamid, s) for s in statuses]
        if draw(st.booleans()) or not statuses:
            own.insert(assigned_at, (wamid, None))
        # Interleave this message's items into the others', keeping its own order.
        merged: list[tuple[str, str | None]] = []
        for entry in own:
            position = draw(st.integers(min_value=len(merged), max_value=len(items) + len(merged)))
            merged.append(entry)
            items.insert(position, entry)
    stream: list[StreamItem] = []
    for seq, (wamid, status) in enumerate(items, start=1):
        if status is None:
            stream.append(WamidAssigned(seq, f"message-{wamid}", wamid))
        else:
            stream.append(report(seq, wamid, status))
    cuts = sorted(set(draw(st.lists(st.integers(0, len(stream)), max_size=len(stream)))))
    return stream, cuts


@given(streams_and_cuts())
def test_any_split_into_batches_forwards_the_in_order_non_regressing_subsequence(
    case: tuple[list[StreamItem], list[int]],
) -> None:
    stream, cuts = case
    database = Database()
    start = 0
    for cut in [*cuts, len(stream)]:
        if cut > start:
            database.process(stream[start:cut])
            start = cut
    expected_forwarded, expected_applied = reference(stream)
    for wamid in {i.wamid for i in stream}:
        assert [s for w, s in database.forwarded if w == wamid] == [
            s for w, s in expected_forwarded if w == wamid
        ]
        assert [s for w, s in database.applied if w == wamid] == [
            s for w, s in expected_applied if w == wamid
        ]
    assigned = {i.wamid for i in stream if isinstance(i, WamidAssigned)}
    assert not set(database.held) & assigned, "a status waits for a message already recorded"


def test_a_late_delivered_is_recorded_and_not_forwarded() -> None:
    decision = decide_batch(
        [report(1, "w", "sent"), report(2, "w", "read"), report(3, "w", "delivered")],
        known={"w": ("m", 0)},
        recorded=set(),
        held={},
    )
    assert [(a.status.status, a.forwarded) for a in decision.applied] == [
        ("sent", True),
        ("read", True),
        ("delivered", False),
    ]
    assert decision.ranks == {"m": 3}


def test_a_repeat_is_a_duplicate_even_of_a_held_status() -> None:
    held = HeldStatus("row-1", 1, "w", "sent", {})
    decision = decide_batch(
        [report(2, "w", "sent"), report(3, "w", "delivered")],
        known={},
        recorded={("w", "sent")},
        held={"w": [held]},
    )
    assert [d.status for d in decision.duplicates] == ["sent"]
    assert [h.status for h in decision.held] == ["delivered"]
    assert decision.applied == []


def test_held_statuses_go_first_once_their_message_is_recorded() -> None:
    held = HeldStatus("row-1", 1, "w", "sent", {})
    decision = decide_batch(
        [report(5, "w", "read"), WamidAssigned(6, "m", "w"), report(7, "w", "delivered")],
        known={},
        recorded={("w", "sent")},
        held={"w": [held]},
    )
    assert [(a.status.status, a.forwarded) for a in decision.applied] == [
        ("sent", True),
        ("read", True),
        ("delivered", False),
    ]
    assert decision.applied[0].status is held
    assert decision.held == []
    assert decision.ranks == {"m": 3}


def test_failed_after_read_is_forwarded_and_nothing_after_it() -> None:
    decision = decide_batch(
        [report(1, "w", "read"), report(2, "w", "failed"), report(3, "w", "deleted")],
        known={"w": ("m", 0)},
        recorded=set(),
        held={},
    )
    assert [a.forwarded for a in decision.applied] == [True, True, True]
    decision = decide_batch(
        [report(4, "w", "sent")], known={"w": ("m", 5)}, recorded=set(), held={}
    )
    assert [a.forwarded for a in decision.applied] == [False]
