"""Sending messages through Meta for a customer, and keeping what their callbacks need."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wagate.domain import errors
from wagate.domain.clock import Clock, utcnow
from wagate.domain.inbox import SentRecord, sent_entries
from wagate.domain.messages import Message, new_message_id
from wagate.domain.tenancy import PhoneNumber
from wagate.services.group_commit import GroupCommit
from wagate.services.recent import RecentlyRead
from wagate.store import Database, tenancy
from wagate.store import inbox as inbox_rows
from wagate.store import messages as message_rows
from wagate.store import profiles as profile_rows
from wagate.upstream.graph import GraphClient

SUPPORTED_TYPES = frozenset({"text", "template"})
EXTRA_INFO_FIELDS = frozenset(
    {"ref", "ref1", "ref2", "callback_url", "callback_profile_id", "tag_name", "template_id"}
)


#: How long a number read for a send is reused for later sends.
NUMBER_CACHE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class SentMessage:
    """Our id for a message and Meta's."""

    id: str
    wamid: str


@dataclass(frozen=True, slots=True)
class _WriteAhead:
    message: Message


@dataclass(frozen=True, slots=True)
class _Rejected:
    message_id: str


_LedgerWrite = _WriteAhead | _Rejected | SentRecord


class MessageService:
    """The use cases of the messages API.

    A send is written ahead of the call to Meta, so that a status Meta sends
    before the call returns finds its message; the wamid Meta answers is
    recorded through the inbox, in order with the statuses. Those writes are
    group-committed: sends that happen together share a transaction.
    """

    def __init__(self, database: Database, graph: GraphClient, clock: Clock = utcnow) -> None:
        self._db = database
        self._graph = graph
        self._clock = clock
        self._numbers: RecentlyRead[str, PhoneNumber] = RecentlyRead(NUMBER_CACHE_SECONDS)
        self._ledger: GroupCommit[_LedgerWrite, None] = GroupCommit(self._write)

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

    async def send(self, phone: PhoneNumber, messaging_object: Any, extra_info: Any) -> SentMessage:
        """Send a Cloud API message object to Meta and store it with its extra info.

        A ``callback_profile_id`` must name one of the account's profiles: it is
        checked before anything reaches Meta. A :class:`MetaError` from Meta is
        raised once the message is marked rejected.
        """
        body, extra = _validated(messaging_object, extra_info)
        profile_id = _text(extra.get("callback_profile_id"))
        if profile_id is not None:
            async with self._db.transaction() as connection:
                if await profile_rows.get_profile(connection, profile_id, phone.sid) is None:
                    raise errors.InvalidPayload(
                        {"extra_info.callback_profile_id": "no such callback profile"}
                    )
        template = body.get("template") if body["type"] == "template" else None
        message = Message(
            id=new_message_id(),
            sid=phone.sid,
            waba_id=phone.waba_id,
            number=phone.number,
            phone_number_id=phone.phone_number_id,
            recipient=str(body["to"]),
            wamid=None,
            type=str(body["type"]),
            template_id=_text(extra.get("template_id")),
            template_name=_text(template.get("name")) if isinstance(template, dict) else None,
            template_components=template.get("components") if isinstance(template, dict) else None,
            ref=_text(extra.get("ref")),
            ref1=_text(extra.get("ref1")),
            ref2=_text(extra.get("ref2")),
            callback_url=_text(extra.get("callback_url")),
            callback_profile_id=profile_id,
            tag_name=_text(extra.get("tag_name")),
            forwarded_rank=0,
        )
        await self._ledger.submit(_WriteAhead(message))
        try:
            wamid = _wamid_of(await self._graph.send_message(phone.phone_number_id, body))
        except errors.MetaError:
            await self._ledger.submit(_Rejected(message.id))
            raise
        await self._ledger.submit(SentRecord(phone.phone_number_id, message.id, wamid))
        return SentMessage(id=message.id, wamid=wamid)

    async def _write(self, writes: list[_LedgerWrite]) -> list[None]:
        """Write messages ahead, mark refused ones, and append the wamids of accepted ones
        to the inbox, in one transaction."""
        now = self._clock()
        ahead = [w.message for w in writes if isinstance(w, _WriteAhead)]
        rejected = [w.message_id for w in writes if isinstance(w, _Rejected)]
        accepted = [w for w in writes if isinstance(w, SentRecord)]
        async with self._db.transaction() as connection:
            await message_rows.insert_messages(connection, ahead, now)
            await message_rows.mark_rejected(connection, rejected, now)
            await inbox_rows.append(connection, sent_entries(accepted), now)
        return [None] * len(writes)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _validated(messaging_object: Any, extra_info: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(messaging_object, dict):
        raise errors.InvalidPayload({"messaging_object": "must be a Cloud API message object"})
    body = {"messaging_product": "whatsapp", "recipient_type": "individual", **messaging_object}
    if not isinstance(body.get("to"), str) or not body["to"].strip():
        raise errors.InvalidPayload({"messaging_object.to": "the recipient is missing"})
    kind = body.get("type")
    if kind not in SUPPORTED_TYPES:
        raise errors.InvalidPayload({"messaging_object.type": "must be text or template"})
    if not isinstance(body.get(kind), dict):
        raise errors.InvalidPayload({f"messaging_object.{kind}": "is missing"})
    if extra_info is None:
        extra_info = {}
    if not isinstance(extra_info, dict):
        raise errors.InvalidPayload({"extra_info": "must be an object"})
    unknown = set(extra_info) - EXTRA_INFO_FIELDS
    if unknown:
        raise errors.InvalidPayload({"extra_info": f"unknown fields: {', '.join(sorted(unknown))}"})
    url = extra_info.get("callback_url")
    if url is not None and not str(url).startswith(("http://", "https://")):
        raise errors.InvalidPayload({"extra_info.callback_url": "must be an http(s) URL"})
    return body, extra_info


def _wamid_of(answer: dict[str, object]) -> str:
    sent = answer.get("messages")
    if isinstance(sent, list) and sent and isinstance(sent[0], dict):
        wamid = sent[0].get("id")
        if isinstance(wamid, str) and wamid:
            return wamid
    raise errors.MetaPermanentError(f"Meta accepted the message without an id: {answer}")
