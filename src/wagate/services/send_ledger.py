"""The ledger of sends: what sending a message writes, group-committed.

A send is written ahead of the call to Meta (its Idempotency-Key claimed, its number's
bucket taken, or queued when the bucket does not allow it), and what Meta answered is
written after: a refusal, a throttled send queued again, or the wamid of an accepted
one, appended to the inbox in order with the statuses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from wagate.delivery.ssrf import AddressPolicy
from wagate.domain import errors
from wagate.domain.clock import Clock
from wagate.domain.inbox import SentRecord, sent_entries
from wagate.domain.messages import Message
from wagate.domain.send_limits import SendRate, grant, throttled
from wagate.services.send_outcomes import answer_of, refusal_answer
from wagate.store import Connection, Database, send_queue
from wagate.store import inbox as inbox_rows
from wagate.store import messages as message_rows
from wagate.store.messages import MessageState
from wagate.store.send_queue import QueuedSend

__all__ = [
    "Accepted",
    "Admission",
    "LedgerWrite",
    "Refused",
    "Requeued",
    "SendLedger",
    "SendPolicy",
    "WriteAhead",
]


@dataclass(frozen=True)
class SendPolicy:
    """What limits sends: the rate per number, how long a send may wait in the queue,
    how long an Idempotency-Key is remembered, and where callbacks may go."""

    rate: SendRate = field(default_factory=lambda: SendRate(80.0))
    queue_ttl: timedelta = timedelta(hours=1)
    idempotency_ttl: timedelta = timedelta(hours=24)
    addresses: AddressPolicy = field(default_factory=AddressPolicy)


@dataclass(frozen=True, slots=True)
class WriteAhead:
    """A send to write ahead of the call to Meta, admitted by its key and its number's bucket."""

    message: Message
    request: dict[str, Any]
    key: str | None
    #: Set when the message must wait (its user asked to be paced): queued until then.
    hold_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Refused:
    """A send Meta refused."""

    message: Message
    key: str | None
    error: errors.MetaError


@dataclass(frozen=True, slots=True)
class Accepted:
    """A send Meta accepted, with the wamid it gave."""

    message: Message
    key: str | None
    wamid: str


@dataclass(frozen=True, slots=True)
class Requeued:
    """A send Meta throttled: queued until ``not_before``."""

    message: Message
    request: dict[str, Any]
    key: str | None
    not_before: datetime
    throttled: bool


#: What the ledger writes.
LedgerWrite = WriteAhead | Refused | Accepted | Requeued
#: What a write-ahead came to: "send" now, "queued", or the id of the message that owns
#: its Idempotency-Key already.
Admission = str


class SendLedger:
    """Writes the sends of a batch in one transaction."""

    def __init__(self, database: Database, policy: SendPolicy, clock: Clock) -> None:
        self._db = database
        self.policy = policy
        self._clock = clock

    async def write(self, writes: list[LedgerWrite]) -> list[Admission | None]:
        """Admit write-aheads (take their keys, then the bucket: sent now or queued), mark
        refused sends, queue throttled ones, and append the wamids of accepted ones to the
        inbox, in one transaction."""
        now = self._clock()
        ahead = [w for w in writes if isinstance(w, WriteAhead)]
        results: dict[int, Admission] = {}
        answers: list[tuple[str, str, str, Mapping[str, Any]]] = []
        async with self._db.transaction() as connection:
            owners = await send_queue.claim_keys(
                connection,
                [(w.message.number, w.key, w.message.id) for w in ahead if w.key],
                now=now,
                remembered_since=now - self.policy.idempotency_ttl,
            )
            fresh = []
            for write in ahead:
                owner = owners.get((write.message.number, write.key)) if write.key else None
                if owner is not None and owner != write.message.id:
                    results[id(write)] = owner
                else:
                    fresh.append(write)
            allowed = await self._admit(connection, fresh, now)
            sending = [w for w in fresh if w.message.id in allowed]
            waiting = [w for w in fresh if w.message.id not in allowed]
            for write in sending:
                results[id(write)] = "send"
            for write in waiting:
                results[id(write)] = "queued"
                _answer(answers, write.message, write.key, answer_of(write.message.id, None))
            await message_rows.insert_messages(connection, [w.message for w in sending], now)
            await message_rows.insert_messages(
                connection, [w.message for w in waiting], now, state=MessageState.QUEUED
            )
            queued = [self._queued(w.message, w.request, w.hold_until or now, now) for w in waiting]
            await self._settle(connection, writes, queued, answers, now)
        return [results.get(id(w)) for w in writes]

    async def _settle(
        self,
        connection: Connection,
        writes: list[LedgerWrite],
        queued: list[QueuedSend],
        answers: list[tuple[str, str, str, Mapping[str, Any]]],
        now: datetime,
    ) -> None:
        """Write what Meta answered: refusals, throttled sends queued, accepted wamids."""
        refused = [w for w in writes if isinstance(w, Refused)]
        requeued = [w for w in writes if isinstance(w, Requeued)]
        accepted = [w for w in writes if isinstance(w, Accepted)]
        for r in refused:
            if not r.error.transient:
                _answer(answers, r.message, r.key, refusal_answer(r.message.id, r.error))
        # Meta failed or could not be reached: a retry with the same key sends again.
        await send_queue.release_keys(
            connection,
            [
                (r.message.number, r.key, r.message.id)
                for r in refused
                if r.key and r.error.transient
            ],
        )
        for q in requeued:
            _answer(answers, q.message, q.key, answer_of(q.message.id, None))
        for a in accepted:
            _answer(answers, a.message, a.key, answer_of(a.message.id, a.wamid))
        await message_rows.mark_rejected(connection, [r.message.id for r in refused], now)
        await message_rows.mark_state(
            connection, [q.message.id for q in requeued], MessageState.QUEUED, now
        )
        queued += [self._queued(q.message, q.request, q.not_before, now) for q in requeued]
        await send_queue.enqueue(connection, queued, now)
        if self.policy.rate.limited:
            paused = {q.message.phone_number_id for q in requeued if q.throttled}
            await send_queue.save_buckets(
                connection, dict.fromkeys(paused, throttled(self.policy.rate, now))
            )
        records = [SentRecord(a.message.phone_number_id, a.message.id, a.wamid) for a in accepted]
        await inbox_rows.append(connection, sent_entries(records), now)
        await send_queue.set_key_answers(connection, answers)

    async def _admit(
        self, connection: Connection, fresh: list[WriteAhead], now: datetime
    ) -> set[str]:
        """The messages among ``fresh`` their number's bucket allows now (the others wait)."""
        ready = [w for w in fresh if w.hold_until is None]
        if not self.policy.rate.limited:
            return {w.message.id for w in ready}
        wanted = Counter(w.message.phone_number_id for w in ready)
        instants = await send_queue.bucket_instants(connection, wanted.keys())
        allowed: set[str] = set()
        saved: dict[str, datetime] = {}
        for number, count in wanted.items():
            granted = grant(self.policy.rate, instants.get(number), now, count)
            if granted.granted and granted.ready_at is not None:
                saved[number] = granted.ready_at
            allowed.update(
                [w.message.id for w in ready if w.message.phone_number_id == number][
                    : granted.granted
                ]
            )
        await send_queue.save_buckets(connection, saved)
        return allowed

    def _queued(
        self, message: Message, request: dict[str, Any], not_before: datetime, now: datetime
    ) -> QueuedSend:
        return QueuedSend(
            message_id=message.id,
            phone_number_id=message.phone_number_id,
            recipient=message.user_key,
            request=request,
            not_before=not_before,
            deadline=now + self.policy.queue_ttl,
        )


def _answer(
    answers: list[tuple[str, str, str, Mapping[str, Any]]],
    message: Message,
    key: str | None,
    answer: Mapping[str, Any],
) -> None:
    if key:
        answers.append((message.number, key, message.id, answer))
