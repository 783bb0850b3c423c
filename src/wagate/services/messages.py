"""Sending messages through Meta for a customer, and keeping what their callbacks need."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from wagate.delivery.ssrf import resolve_and_check
from wagate.domain import errors
from wagate.domain.clock import Clock, utcnow
from wagate.domain.marketing import IGNORE_OPT_OUT
from wagate.domain.message_types import validated_message
from wagate.domain.messages import Message, new_message_id
from wagate.domain.send_limits import (
    PAIR_RATE_EXCEEDED,
    THROUGHPUT_EXCEEDED,
    pair_pause,
    throttled,
)
from wagate.domain.tenancy import PhoneNumber
from wagate.services.group_commit import GroupCommit
from wagate.services.marketing_sends import check_marketing_send
from wagate.services.recent import RecentlyRead
from wagate.services.send_ledger import (
    Accepted,
    Admission,
    LedgerWrite,
    Refused,
    Requeued,
    SendLedger,
    SendPolicy,
    WriteAhead,
)
from wagate.services.send_outcomes import (
    SendOutcome,
    outcome_of,
    wamid_of,
)
from wagate.store import Database, send_queue, tenancy
from wagate.store import profiles as profile_rows
from wagate.upstream.graph import GraphClient

__all__ = [
    "EXTRA_INFO_FIELDS",
    "MAX_IDEMPOTENCY_KEY_LENGTH",
    "MAX_PAUSED_USERS",
    "NUMBER_CACHE_SECONDS",
    "REPLAY_WAIT_SECONDS",
    "TARGET_CACHE_SECONDS",
    "MessageService",
]

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
        self._ledger: GroupCommit[LedgerWrite, Admission | None] = GroupCommit(
            SendLedger(database, self.policy, clock).write
        )

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
            WriteAhead(message, body, idempotency_key, hold_until=paused)
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
        await self._ledger.submit(Accepted(message, idempotency_key, wamid))
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
                Requeued(message, body, key, throttled(self.policy.rate, now), throttled=True)
            )
            return SendOutcome(message.id, None)
        if error.code == PAIR_RATE_EXCEEDED:
            until = now + pair_pause(1)
            if len(self._paused) >= MAX_PAUSED_USERS:
                self._paused = {k: v for k, v in self._paused.items() if v > now}
            self._paused[(message.phone_number_id, message.user_key)] = until
            await self._ledger.submit(Requeued(message, body, key, until, throttled=False))
            return SendOutcome(message.id, None)
        await self._ledger.submit(Refused(message, key, error))
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
