"""Sending messages through Meta for a customer, and keeping what their callbacks need."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wagate.domain import errors
from wagate.domain.clock import Clock, utcnow
from wagate.domain.messages import Message, new_message_id
from wagate.domain.tenancy import PhoneNumber
from wagate.store import Database, tenancy
from wagate.store import messages as message_rows
from wagate.store import profiles as profile_rows
from wagate.upstream.graph import GraphClient

SUPPORTED_TYPES = frozenset({"text", "template"})
EXTRA_INFO_FIELDS = frozenset(
    {"ref", "ref1", "ref2", "callback_url", "callback_profile_id", "tag_name", "template_id"}
)


@dataclass(frozen=True, slots=True)
class SentMessage:
    """Our id for a message and Meta's."""

    id: str
    wamid: str


class MessageService:
    """The use cases of the messages API."""

    def __init__(self, database: Database, graph: GraphClient, clock: Clock = utcnow) -> None:
        self._db = database
        self._graph = graph
        self._clock = clock

    async def number_of(self, sid: str, number: str) -> PhoneNumber:
        """The account's business number; :class:`WabaNotFound` when it is not the account's."""
        async with self._db.transaction() as connection:
            phone = await tenancy.get_number(connection, number)
        if phone is None or phone.sid != sid:
            raise errors.WabaNotFound()
        return phone

    async def send(self, phone: PhoneNumber, messaging_object: Any, extra_info: Any) -> SentMessage:
        """Send a Cloud API message object to Meta and store it with its extra info.

        A ``callback_profile_id`` must name one of the account's profiles: it is
        checked before anything reaches Meta.
        """
        body, extra = _validated(messaging_object, extra_info)
        profile_id = _text(extra.get("callback_profile_id"))
        if profile_id is not None:
            async with self._db.transaction() as connection:
                if await profile_rows.get_profile(connection, profile_id, phone.sid) is None:
                    raise errors.InvalidPayload(
                        {"extra_info.callback_profile_id": "no such callback profile"}
                    )
        answer = await self._graph.send_message(phone.phone_number_id, body)
        wamid = _wamid_of(answer)
        template = body.get("template") if body["type"] == "template" else None
        message = Message(
            id=new_message_id(),
            sid=phone.sid,
            waba_id=phone.waba_id,
            number=phone.number,
            phone_number_id=phone.phone_number_id,
            recipient=str(body["to"]),
            wamid=wamid,
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
        )
        async with self._db.transaction() as connection:
            await message_rows.insert_message(connection, message, self._clock())
        return SentMessage(id=message.id, wamid=wamid)


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
