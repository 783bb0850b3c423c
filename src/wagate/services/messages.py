"""Sending messages through Meta for a customer, and keeping what their callbacks need."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from wagate.delivery.ssrf import AddressPolicy, resolve_and_check
from wagate.domain import errors
from wagate.domain.clock import Clock, utcnow
from wagate.domain.inbox import SentRecord, sent_entries
from wagate.domain.marketing import IGNORE_OPT_OUT
from wagate.domain.message_types import validated_message
from wagate.domain.messages import Message, new_message_id
from wagate.domain.send_limits import (
    PAIR_RATE_EXCEEDED,
    THROUGHPUT_EXCEEDED,
    SendRate,
    grant,
    pair_pause,
    throttled,
)
from wagate.domain.tenancy import PhoneNumber
from wagate.services.group_commit import GroupCommit
from wagate.services.marketing_sends import check_marketing_send
from wagate.services.recent import RecentlyRead
from wagate.services.send_outcomes import (
    SendOutcome,
    answer_of,
    outcome_of,
    refusal_answer,
    wamid_of,
)
from wagate.store import Connection, Database, send_queue, tenancy
from wagate.store import inbox as inbox_rows
from wagate.store import messages as message_rows
from wagate.store import profiles as profile_rows
from wagate.store.messages import MessageState
from wagate.store.send_queue import QueuedSend
from wagate.upstream.graph import GraphClient

EXTRA_INFO_FIELDS = frozenset(
    {"ref", "ref1", "ref2", "callback_url", "callback_profile_id", "tag_name", "template_id"}
    | {IGNORE_OPT_OUT}
)
#: How long a number read for a send is reused for later sends.
NUMBER_CACHE_SECONDS = 5.0
#: How long a callback host's checked addresses are trusted for later sends.
TARGET_CACHE_SECONDS = 60.0
#: How long a retried request waits for the first one's answer before it answers 409.
REPLAY_WAIT_SECONDS = 30.0
MAX_IDEMPOTENCY_KEY_LENGTH = 255
#: Users whose pause (Meta's 131056) one process remembers before it forgets the ended ones.
MAX_PAUSED_USERS = 10_000


@dataclass(frozen=True)
class SendPolicy:
    """What limits sends: the rate per number, how long a send may wait in the queue,
    how long an Idempotency-Key is remembered, and where callbacks may go."""

    rate: SendRate = field(default_factory=lambda: SendRate(80.0))
    queue_ttl: timedelta = timedelta(hours=1)
    idempotency_ttl: timedelta = timedelta(hours=24)
    addresses: AddressPolicy = field(default_factory=AddressPolicy)


@dataclass(frozen=True, slots=True)
class _WriteAhead:
    message: Message
    request: dict[str, Any]
    key: str | None
    #: Set when the message must wait (its user asked to be paced): queued until then.
    hold_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class _Refused:
    message: Message
    key: str | None
    error: errors.MetaError


@dataclass(frozen=True, slots=True)
class _Accepted:
    message: Message
    key: str | None
    wamid: str


@dataclass(frozen=True, slots=True)
class _Requeued:
    message: Message
    request: dict[str, Any]
    key: str | None
    not_before: datetime
    throttled: bool


_LedgerWrite = _WriteAhead | _Refused | _Accepted | _Requeued
#: What a write-ahead came to: "send" now, "queued", or the id of the message that owns
#: its Idempotency-Key already.
_Admission = str


class MessageService:
    """The use cases of the messages API.

    A send is written ahead of the call to Meta, so that a status Meta sends
    before the call returns finds its message; the wamid Meta answers is
    recorded through the inbox, in order with the statuses. Writing ahead also
    takes the send from its number's bucket: a send the bucket does not allow
    is queued instead, and the send lane sends it when allowed. Those writes
    are group-committed: sends that happen together share a transaction.
    """

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
        self._numbers: RecentlyRead[str, PhoneNumber] = RecentlyRead(NUMBER_CACHE_SECONDS)
        self._targets: RecentlyRead[tuple[str, int], bool] = RecentlyRead(TARGET_CACHE_SECONDS)
        self._paused: dict[tuple[str, str], datetime] = {}
        self._ledger: GroupCommit[_LedgerWrite, _Admission | None] = GroupCommit(self._write)

    async def close(self) -> None:
        """Wait for the writes under way."""
        await self._ledger.close()

    async def number_of(self, sid: str, number: str) -> PhoneNumber:
        """The account's business number; :class:`WabaNotFound` when it is not the account's."""
        phone = self._numbers.get(number)
        if phone is None:
            async with self._db.transaction() as connection:
                phone = await tenancy.get_number(connection, number)
            if phone is not None:
                self._numbers.put(number, phone)
        if phone is None or phone.sid != sid:
            raise errors.WabaNotFound()
        return phone

    async def send(
        self,
        phone: PhoneNumber,
        messaging_object: Any,
        extra_info: Any,
        idempotency_key: str | None = None,
    ) -> SendOutcome:
        """Send a Cloud API message object to Meta and store it with its extra info.

        Everything is checked before anything reaches Meta: the message object
        (:class:`InvalidPayload` naming the field), a ``callback_profile_id``
        (one of the account's profiles), a ``callback_url`` (not a private
        address) and a marketing template to a user who opted out (refused unless
        ``extra_info.ignore_marketing_opt_out``). A send the number's bucket does not
        allow now, or that Meta throttles, is queued (the outcome has no wamid). A
        request repeating an earlier one's ``idempotency_key`` gets the earlier one's outcome and
        sends nothing; after Meta failed or could not be reached (a transient
        error), the key is free again and a retry sends. A :class:`MetaError`
        from Meta is raised once the message is marked rejected.
        """
        if idempotency_key is not None and not (
            1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH
        ):
            raise errors.InvalidPayload({"Idempotency-Key": "must be 1 to 255 characters"})
        body = validated_message(messaging_object)
        extra = await self._checked_extra(phone, extra_info)
        await check_marketing_send(self._db, phone, body, extra)
        message = _message(phone, body, extra)
        recipient = (phone.phone_number_id, message.user_key)
        paused = self._paused.get(recipient)
        if paused is not None and paused <= self._clock():
            del self._paused[recipient]
            paused = None
        admission = await self._ledger.submit(
            _WriteAhead(message, body, idempotency_key, hold_until=paused)
        )
        if admission == "queued":
            return SendOutcome(message.id, None)
        if admission != "send":
            assert idempotency_key is not None
            return await self._replay(phone.number, idempotency_key)
        try:
            graph = await self._graph.about(phone.phone_number_id)
            wamid = wamid_of(await graph.send_message(phone.phone_number_id, body))
        except errors.MetaError as exc:
            return await self._after_refusal(message, body, idempotency_key, exc)
        await self._ledger.submit(_Accepted(message, idempotency_key, wamid))
        return SendOutcome(message.id, wamid)

    async def _after_refusal(
        self,
        message: Message,
        body: dict[str, Any],
        key: str | None,
        error: errors.MetaError,
    ) -> SendOutcome:
        """Queue a send Meta throttled (the number's or the user's rate); record any other
        refusal and raise it."""
        now = self._clock()
        if error.code == THROUGHPUT_EXCEEDED:
            await self._ledger.submit(
                _Requeued(message, body, key, throttled(self.policy.rate, now), throttled=True)
            )
            return SendOutcome(message.id, None)
        if error.code == PAIR_RATE_EXCEEDED:
            until = now + pair_pause(1)
            if len(self._paused) >= MAX_PAUSED_USERS:
                self._paused = {k: v for k, v in self._paused.items() if v > now}
            self._paused[(message.phone_number_id, message.user_key)] = until
            await self._ledger.submit(_Requeued(message, body, key, until, throttled=False))
            return SendOutcome(message.id, None)
        await self._ledger.submit(_Refused(message, key, error))
        raise error

    async def _replay(self, number: str, key: str) -> SendOutcome:
        """The outcome of the request that first used ``key``, once it is known."""
        deadline = time.monotonic() + REPLAY_WAIT_SECONDS
        while True:
            async with self._db.transaction() as connection:
                found = await send_queue.key_answer(
                    connection, number, key, self._clock() - self.policy.idempotency_ttl
                )
            if found is None:
                raise errors.Conflict(
                    f"the first request with Idempotency-Key {key!r} failed; send it again"
                )
            if found[1] is not None:
                return outcome_of(found[1])
            if time.monotonic() >= deadline:
                raise errors.Conflict(f"a request with Idempotency-Key {key!r} is still under way")
            await asyncio.sleep(0.05)

    async def _checked_extra(self, phone: PhoneNumber, extra_info: Any) -> dict[str, Any]:
        extra = _validated_extra(extra_info)
        profile_id = _text(extra.get("callback_profile_id"))
        if profile_id is not None:
            async with self._db.transaction() as connection:
                if await profile_rows.get_profile(connection, profile_id, phone.sid) is None:
                    raise errors.InvalidPayload(
                        {"extra_info.callback_profile_id": "no such callback profile"}
                    )
        url = _text(extra.get("callback_url"))
        if url is not None:
            await self._check_target(url)
        return extra

    async def _check_target(self, url: str) -> None:
        """Refuse a ``callback_url`` whose host is, or resolves to, a forbidden address."""
        where = "extra_info.callback_url"
        try:
            parts = urlsplit(url)
            host, port = parts.hostname or "", parts.port
        except ValueError:
            raise errors.InvalidPayload({where: "the URL cannot be parsed"}) from None
        target = (host, port or (443 if parts.scheme == "https" else 80))
        if not host:
            raise errors.InvalidPayload({where: "the URL has no host"})
        if self._targets.get(target):
            return
        try:
            await resolve_and_check(host, target[1], self.policy.addresses)
        except errors.CallbackTargetRefused as exc:
            raise errors.InvalidPayload({where: str(exc)}) from exc
        except OSError as exc:
            raise errors.InvalidPayload({where: f"the host {host!r} does not resolve"}) from exc
        self._targets.put(target, True)

    async def _write(self, writes: list[_LedgerWrite]) -> list[_Admission | None]:
        """Admit write-aheads (take their keys, then the bucket: sent now or queued), mark
        refused sends, queue throttled ones, and append the wamids of accepted ones to the
        inbox, in one transaction."""
        now = self._clock()
        ahead = [w for w in writes if isinstance(w, _WriteAhead)]
        results: dict[int, _Admission] = {}
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
        writes: list[_LedgerWrite],
        queued: list[QueuedSend],
        answers: list[tuple[str, str, str, Mapping[str, Any]]],
        now: datetime,
    ) -> None:
        """Write what Meta answered: refusals, throttled sends queued, accepted wamids."""
        refused = [w for w in writes if isinstance(w, _Refused)]
        requeued = [w for w in writes if isinstance(w, _Requeued)]
        accepted = [w for w in writes if isinstance(w, _Accepted)]
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
        self, connection: Connection, fresh: list[_WriteAhead], now: datetime
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


def _message(phone: PhoneNumber, body: dict[str, Any], extra: dict[str, Any]) -> Message:
    template = body.get("template") if body["type"] == "template" else None
    return Message(
        id=new_message_id(),
        sid=phone.sid,
        waba_id=phone.waba_id,
        number=phone.number,
        phone_number_id=phone.phone_number_id,
        recipient=str(body.get("to") or ""),
        wamid=None,
        type=str(body["type"]),
        template_id=_text(extra.get("template_id")),
        template_name=_text(template.get("name")) if isinstance(template, dict) else None,
        template_components=template.get("components") if isinstance(template, dict) else None,
        ref=_text(extra.get("ref")),
        ref1=_text(extra.get("ref1")),
        ref2=_text(extra.get("ref2")),
        callback_url=_text(extra.get("callback_url")),
        callback_profile_id=_text(extra.get("callback_profile_id")),
        tag_name=_text(extra.get("tag_name")),
        forwarded_rank=0,
        recipient_user_id=_text(body.get("recipient")),
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _validated_extra(extra_info: Any) -> dict[str, Any]:
    if extra_info is None:
        return {}
    if not isinstance(extra_info, dict):
        raise errors.InvalidPayload({"extra_info": "must be an object"})
    unknown = set(extra_info) - EXTRA_INFO_FIELDS
    if unknown:
        raise errors.InvalidPayload({"extra_info": f"unknown fields: {', '.join(sorted(unknown))}"})
    url = extra_info.get("callback_url")
    if url is not None and not str(url).startswith(("http://", "https://")):
        raise errors.InvalidPayload({"extra_info.callback_url": "must be an http(s) URL"})
    return extra_info
