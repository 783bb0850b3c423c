"""Sending what waits in the send queue, as fast as each number's bucket allows.

A claim, in one transaction, first ends the sends whose time ran out (the
customer gets a ``failed`` status callback saying why), then takes, number by
number, as many due sends as the number's bucket allows now, and books them
in the bucket. Each is sent to Meta; what Meta answered is recorded by group
commit: an accepted send's wamid goes through the inbox (a ``sent`` entry, as
for any send), a throttled one waits again (130429: the whole number pauses;
131056: that user's messages pause), a transient failure is retried later,
and a refusal ends the message with a ``failed`` callback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from wagate.domain import errors
from wagate.domain.clock import Clock, utcnow
from wagate.domain.inbox import SentRecord, sent_entries
from wagate.domain.messages import Message
from wagate.domain.send_limits import (
    PAIR_RATE_EXCEEDED,
    SEND_RETRY,
    THROUGHPUT_EXCEEDED,
    grant,
    next_allowed,
    pair_pause,
    throttled,
)
from wagate.services.group_commit import GroupCommit
from wagate.services.send_ledger import SendPolicy
from wagate.services.send_outcomes import wamid_of
from wagate.services.status_fanout import Writes, status_profile_of, status_writes
from wagate.store import Connection, Database, delivery_queue, send_queue
from wagate.store import events as event_rows
from wagate.store import inbox as inbox_rows
from wagate.store import messages as message_rows
from wagate.store import profiles as profile_rows
from wagate.store import tenancy as tenancy_rows
from wagate.store.messages import MessageState
from wagate.store.send_queue import QueuedSend
from wagate.upstream.graph import GraphClient

__all__ = ["EXPIRE_BATCH", "Claimed", "QueuedSendService"]

log = structlog.get_logger("wagate.sends")

#: Expired sends ended per claim.
EXPIRE_BATCH = 256


@dataclass(frozen=True, slots=True)
class Claimed:
    """Sends taken from the queue, and when more may be allowed (None: nothing waits)."""

    sends: list[QueuedSend]
    wake_at: datetime | None


@dataclass(frozen=True, slots=True)
class _Outcome:
    send: QueuedSend
    wamid: str | None = None
    error: errors.MetaError | None = None


@dataclass(frozen=True, slots=True)
class _Failure:
    """A message that will never be sent, and what its ``failed`` callback says."""

    message_id: str
    code: int
    reason: str
    state: str


class QueuedSendService:
    """Claims queued sends within the buckets, sends them, and records what Meta said."""

    def __init__(
        self,
        database: Database,
        graph: GraphClient,
        policy: SendPolicy | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self._db = database
        self._graph = graph
        self.policy = policy or SendPolicy()
        self._clock = clock
        self._outcomes: GroupCommit[_Outcome, None] = GroupCommit(self._record)

    async def close(self) -> None:
        """Wait for the outcomes being written."""
        await self._outcomes.close()

    async def claim(self, worker: str, limit: int, lease: timedelta) -> Claimed:
        """End expired sends, and take up to ``limit`` sends the buckets allow now."""
        now = self._clock()
        rate = self.policy.rate
        async with self._db.transaction() as connection:
            expired = await send_queue.expired(connection, now, EXPIRE_BATCH)
            if expired:
                await self._expire(connection, expired, now)
            due = await send_queue.due_counts(connection, now)
            if not due:
                return Claimed([], await send_queue.next_due(connection))
            instants = await send_queue.bucket_instants(connection, due) if rate.limited else {}
            taken: list[QueuedSend] = []
            saved: dict[str, datetime] = {}
            wake_at: datetime | None = None
            for number, count in sorted(due.items(), key=lambda item: -item[1]):
                room = limit - len(taken)
                allowed = grant(rate, instants.get(number), now, min(count, room)).granted
                got = (
                    await send_queue.claim(
                        connection, number, limit=allowed, worker=worker, lease=lease, now=now
                    )
                    if allowed
                    else []
                )
                booked = grant(rate, instants.get(number), now, len(got)).ready_at
                if got and booked is not None and rate.limited:
                    saved[number] = booked
                taken += got
                if len(got) < count:
                    moment = next_allowed(rate, saved.get(number, instants.get(number)), now)
                    wake_at = moment if wake_at is None else min(wake_at, moment)
            await send_queue.save_buckets(connection, saved)
        return Claimed(taken, wake_at)

    async def send(self, item: QueuedSend) -> None:
        """Send one queued message to Meta and record what Meta said."""
        try:
            graph = await self._graph.about(item.phone_number_id)
            answer = await graph.send_message(item.phone_number_id, item.request)
            wamid = wamid_of(answer)
        except errors.MetaError as exc:
            await self._outcomes.submit(_Outcome(item, error=exc))
            return
        await self._outcomes.submit(_Outcome(item, wamid=wamid))

    async def release(self, items: Sequence[QueuedSend]) -> None:
        """Give sends back untouched (a stopping lane), to be taken again at once."""
        now = self._clock()
        async with self._db.transaction() as connection:
            await send_queue.release(connection, [(i.message_id, now, None) for i in items])

    async def waiting(self) -> int:
        """How many sends wait in the queue."""
        async with self._db.transaction() as connection:
            return await send_queue.waiting_count(connection)

    async def _record(self, outcomes: list[_Outcome]) -> list[None]:
        now = self._clock()
        rate = self.policy.rate
        sent = [o for o in outcomes if o.wamid is not None]
        later: list[tuple[str, datetime, str | None]] = []
        paused_numbers: set[str] = set()
        paused_users: dict[tuple[str, str], datetime] = {}
        failures: list[_Failure] = []
        for outcome in outcomes:
            error, item = outcome.error, outcome.send
            if error is None:
                continue
            if error.code == THROUGHPUT_EXCEEDED:
                paused_numbers.add(item.phone_number_id)
                later.append((item.message_id, throttled(rate, now), str(error)))
            elif error.code == PAIR_RATE_EXCEEDED:
                until = now + pair_pause(item.attempts)
                paused_users[(item.phone_number_id, item.recipient)] = until
                later.append((item.message_id, until, str(error)))
            elif (
                retry := SEND_RETRY.decide(max(item.attempts, 1), permanent=not error.transient)
            ).retry:
                wait = timedelta(seconds=retry.delay or 0.0)
                later.append((item.message_id, now + wait, str(error)))
            else:
                failures.append(
                    _Failure(item.message_id, error.code or 0, error.message, MessageState.REJECTED)
                )
            log.info("sends.refused", message_id=item.message_id, code=error.code, error=str(error))
        async with self._db.transaction() as connection:
            await send_queue.remove(connection, [o.send.message_id for o in sent])
            records = [
                SentRecord(o.send.phone_number_id, o.send.message_id, o.wamid)
                for o in sent
                if o.wamid is not None
            ]
            await inbox_rows.append(connection, sent_entries(records), now)
            await send_queue.release(connection, later)
            for (number, recipient), until in paused_users.items():
                await send_queue.pause_recipient(connection, number, recipient, until)
            if rate.limited and paused_numbers:
                await send_queue.save_buckets(
                    connection, dict.fromkeys(paused_numbers, throttled(rate, now))
                )
            await self._fail(connection, failures, now)
        return [None] * len(outcomes)

    async def _expire(
        self, connection: Connection, expired: list[QueuedSend], now: datetime
    ) -> None:
        seconds = int(self.policy.queue_ttl.total_seconds())
        await self._fail(
            connection,
            [
                _Failure(
                    item.message_id,
                    THROUGHPUT_EXCEEDED,
                    f"not sent within {seconds} s of its request: the number's send rate "
                    "did not allow it in time",
                    MessageState.EXPIRED,
                )
                for item in expired
            ],
            now,
        )

    async def _fail(self, connection: Connection, failures: list[_Failure], now: datetime) -> None:
        """End messages that will never be sent: out of the queue, their state, and a
        ``failed`` status callback (and push) saying why."""
        if not failures:
            return
        ids = [f.message_id for f in failures]
        await send_queue.remove(connection, ids)
        for state in {f.state for f in failures}:
            await message_rows.mark_state(
                connection, [f.message_id for f in failures if f.state == state], state, now
            )
        messages = await message_rows.by_ids(connection, ids)
        phones = await tenancy_rows.numbers_by_phone_number_id(
            connection, {m.phone_number_id for m in messages.values()}
        )
        wanted = {
            profile_id
            for m in messages.values()
            if (profile_id := status_profile_of(m, phones.get(m.phone_number_id)))
        }
        profiles = await profile_rows.get_profiles(connection, wanted)
        writes = Writes()
        for failure in failures:
            message = messages.get(failure.message_id)
            phone = phones.get(message.phone_number_id) if message else None
            if message is None or phone is None:
                continue
            status = _failed_status(message, failure, now)
            status_writes(message, phone, status, profiles, writes, now)
            log.info("sends.failed", message_id=message.id, reason=failure.reason)
        await event_rows.insert_events(connection, writes.events, now)
        await delivery_queue.insert_deliveries(connection, writes.deliveries)


def _failed_status(message: Message, failure: _Failure, now: datetime) -> dict[str, Any]:
    """The ``failed`` status of a message Meta never took, in Meta's shape (our id for its
    ``id``: it has no wamid)."""
    recipient = "".join(ch for ch in message.recipient if ch.isascii() and ch.isdigit())
    status: dict[str, Any] = {
        "id": message.id,
        "status": "failed",
        "timestamp": str(int(now.timestamp())),
    }
    if message.recipient or not message.recipient_user_id:
        status["recipient_id"] = recipient or message.recipient
    if message.recipient_user_id:
        status["recipient_user_id"] = message.recipient_user_id
    status["errors"] = [{"code": failure.code, "title": failure.reason}]
    return status
