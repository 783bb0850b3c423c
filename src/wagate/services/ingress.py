"""Meta's webhooks: verified, stored before they are acknowledged, then processed.

Processing reads the stored body, so a crash between the acknowledgement and
the processing loses nothing. Meta retries and repeats itself: each
(wamid, status) is recorded once, and a message's status only moves forward
for the customer; a late ``delivered`` after ``read`` is recorded, not sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import structlog

from wagate import metrics
from wagate.domain import errors
from wagate.domain.clock import Clock, utcnow
from wagate.domain.jobs import Job, JobKind
from wagate.domain.messages import (
    STATUS_RANK,
    Message,
    status_callback_values,
    webhook_button_payload,
    webhook_status_payload,
)
from wagate.domain.tenancy import PhoneNumber
from wagate.services.fanout import deliver_direct, deliver_to_profile
from wagate.services.group_commit import GroupCommit
from wagate.store import Connection, Database, queue
from wagate.store import events as event_rows
from wagate.store import messages as message_rows

log = structlog.get_logger("wagate.ingress")

#: Meta can report on a message before the gateway has stored it: the send's
#: answer and the first status race, and the status may be processed first. A
#: webhook naming an unknown wamid is processed again, this far apart, until it
#: has been tried this many times; only then are its unknown wamids recorded as such.
UNKNOWN_MESSAGE_ATTEMPTS = 5
UNKNOWN_MESSAGE_DELAY = timedelta(seconds=2)


class _MessageNotYetStored(Exception):
    """A status names a wamid of no stored message, and the webhook may still wait."""

    def __init__(self, wamid: str) -> None:
        super().__init__(wamid)
        self.wamid = wamid


def signature_matches(app_secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``X-Hub-Signature-256`` is ``sha256=`` the HMAC of the raw body, in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256=") :].strip().lower())


def with_query(url: str, values: dict[str, str]) -> str:
    """``url`` with ``values`` added to its query string, percent-encoded."""
    parts = urlsplit(url)
    extra = urlencode(values, quote_via=quote, safe="")
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, ""))


class IngressService:
    """Receives and processes Meta's webhooks."""

    def __init__(
        self, database: Database, *, app_secret: str, verify_token: str, clock: Clock = utcnow
    ) -> None:
        self._db = database
        self._app_secret = app_secret
        self._verify_token = verify_token
        self._clock = clock
        self._storing: GroupCommit[str, str] = GroupCommit(self._store)

    def verify_subscription(
        self, mode: str | None, token: str | None, challenge: str | None
    ) -> str:
        """The challenge to echo when Meta verifies the endpoint; :class:`Forbidden` otherwise."""
        if (
            mode != "subscribe"
            or token is None
            or challenge is None
            or not hmac.compare_digest(token.encode(), self._verify_token.encode())
        ):
            raise errors.Forbidden("webhook verification refused")
        return challenge

    async def receive(self, body: bytes, signature: str | None) -> str:
        """Check the signature and store the webhook with its processing job; its id."""
        if not signature_matches(self._app_secret, body, signature):
            metrics.META_WEBHOOKS.labels("rejected").inc()
            raise errors.SignatureInvalid("X-Hub-Signature-256 does not match the body")
        webhook_id = await self._storing.submit(body.decode("utf-8", errors="replace"))
        metrics.META_WEBHOOKS.labels("stored").inc()
        return webhook_id

    async def _store(self, bodies: list[str]) -> list[str]:
        """Store webhooks and their processing jobs in one transaction (a group commit)."""
        now = self._clock()
        async with self._db.transaction() as connection:
            ids = await message_rows.store_webhooks(connection, bodies, now)
            await queue.enqueue_many(connection, JobKind.PROCESS_META_WEBHOOK, ids, now, now)
        return ids

    async def close(self) -> None:
        """Finish storing what was received."""
        await self._storing.close()

    async def process(self, job: Job) -> None:
        """Turn a stored webhook into status callbacks and webhook pushes, in one transaction.

        A webhook about a message not stored yet is put back for later, unchanged.
        """
        now = self._clock()
        try:
            await self._process(job, now, patient=job.attempts < UNKNOWN_MESSAGE_ATTEMPTS)
        except _MessageNotYetStored as waiting:
            async with self._db.transaction() as connection:
                await queue.retry_at(
                    connection,
                    job,
                    run_at=now + UNKNOWN_MESSAGE_DELAY,
                    error=f"no message with wamid {waiting.wamid} yet",
                )
            log.info(
                "webhook.deferred",
                webhook_id=job.subject_id,
                wamid=waiting.wamid,
                attempt=job.attempts,
            )

    async def _process(self, job: Job, now: datetime, *, patient: bool) -> None:
        counts: Counter[str] = Counter()
        async with self._db.transaction() as connection:
            raw = await message_rows.get_webhook(connection, job.subject_id)
            if raw is None:
                await queue.finish(connection, job.id)
                return
            try:
                document = json.loads(raw)
            except ValueError:
                document = None
            if not isinstance(document, dict):
                await message_rows.mark_webhook(connection, job.subject_id, "invalid", None, now)
                await queue.finish(connection, job.id)
                return
            for value in _values_of(document):
                await self._process_value(connection, value, counts, now, patient)
            outcome = "processed" if counts["forwarded"] or counts["recorded"] else "unknown"
            await message_rows.mark_webhook(
                connection, job.subject_id, outcome, json.dumps(dict(counts)), now
            )
            await queue.finish(connection, job.id)
        log.info("webhook.processed", webhook_id=job.subject_id, **dict(counts))

    async def _process_value(
        self,
        connection: Connection,
        value: dict[str, Any],
        counts: Counter[str],
        now: datetime,
        patient: bool,
    ) -> None:
        metadata = value.get("metadata") or {}
        phone = await message_rows.number_by_phone_number_id(
            connection, str(metadata.get("phone_number_id", ""))
        )
        if phone is None:
            counts["unknown_number"] += 1
            return
        for status in value.get("statuses") or []:
            if isinstance(status, dict):
                await self._status(connection, phone, status, counts, now, patient)
        contacts = [c for c in value.get("contacts") or [] if isinstance(c, dict)]
        for message in value.get("messages") or []:
            if isinstance(message, dict):
                await self._inbound(connection, phone, contacts, message, counts, now)

    async def _status(
        self,
        connection: Connection,
        phone: PhoneNumber,
        status: dict[str, Any],
        counts: Counter[str],
        now: datetime,
        patient: bool,
    ) -> None:
        wamid, name = str(status.get("id", "")), str(status.get("status", "")).lower()
        message = await message_rows.get_by_wamid(connection, wamid)
        if message is None and patient:
            raise _MessageNotYetStored(wamid)
        status_id = await message_rows.record_status(
            connection,
            wamid=wamid,
            status=name,
            message_id=message.id if message else None,
            payload=status,
            now=now,
        )
        if status_id is None:
            counts["duplicate"] += 1
            return
        if message is None:
            counts["unknown_message"] += 1
            return
        rank = STATUS_RANK.get(name)
        if rank is None or not await message_rows.advance(connection, message.id, rank, status_id):
            counts["recorded"] += 1
            log.info("message.status_not_forwarded", message_id=message.id, status=name)
            return
        counts["forwarded"] += 1
        event_id = await event_rows.insert_event(
            connection,
            kind="message_status",
            sid=message.sid,
            waba_id=message.waba_id,
            subject_id=message.id,
            status=name,
            payload=status,
            now=now,
        )
        delivery_ids = await self._fan_out_status(connection, phone, message, status, event_id, now)
        log.info(
            "message.status_forwarded",
            message_id=message.id,
            status=name,
            delivery_ids=delivery_ids,
        )

    async def _fan_out_status(
        self,
        connection: Connection,
        phone: PhoneNumber,
        message: Message,
        status: dict[str, Any],
        event_id: str,
        now: datetime,
    ) -> list[str]:
        billing = await message_rows.billing_of(connection, message.sid)
        values = status_callback_values(message, status, billing)
        ids: list[str] = []
        common = {"event_id": event_id, "subject_id": message.id, "now": now}
        if message.callback_url:
            ids.append(
                await deliver_direct(
                    connection,
                    sid=message.sid,
                    number=phone.number,
                    method="GET",
                    url=with_query(message.callback_url, values),
                    body=None,
                    **common,  # type: ignore[arg-type]
                )
            )
        else:
            profile_id = message.callback_profile_id or phone.callback_profile_id
            if profile_id:
                delivery_id = await deliver_to_profile(
                    connection,
                    profile_id=profile_id,
                    values=values,
                    **common,  # type: ignore[arg-type]
                )
                if delivery_id:
                    ids.append(delivery_id)
        if phone.webhook_url:
            payload = webhook_status_payload(phone.number, status)
            ids.append(await self._push(connection, phone, payload, event_id, message.id, now))
        return ids

    async def _inbound(
        self,
        connection: Connection,
        phone: PhoneNumber,
        contacts: list[dict[str, Any]],
        inbound: dict[str, Any],
        counts: Counter[str],
        now: datetime,
    ) -> None:
        if inbound.get("type") != "button":
            counts["unsupported_inbound"] += 1
            return
        first = await message_rows.record_status(
            connection,
            wamid=str(inbound.get("id", "")),
            status="button",
            message_id=None,
            payload=inbound,
            now=now,
        )
        if first is None:
            counts["duplicate"] += 1
            return
        context = inbound.get("context") or {}
        original = await message_rows.get_by_wamid(connection, str(context.get("id", "")))
        counts["forwarded" if phone.webhook_url else "recorded"] += 1
        if not phone.webhook_url:
            return
        event_id = await event_rows.insert_event(
            connection,
            kind="button_click",
            sid=phone.sid,
            waba_id=phone.waba_id,
            subject_id=original.id if original else str(inbound.get("id", "")),
            status="button",
            payload=inbound,
            now=now,
        )
        payload = webhook_button_payload(phone.number, contacts, inbound, original)
        subject = original.id if original else str(inbound.get("id", ""))
        await self._push(connection, phone, payload, event_id, subject, now)

    async def _push(
        self,
        connection: Connection,
        phone: PhoneNumber,
        payload: dict[str, Any],
        event_id: str,
        subject_id: str,
        now: datetime,
    ) -> str:
        assert phone.webhook_url is not None
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return await deliver_direct(
            connection,
            sid=phone.sid,
            number=phone.number,
            event_id=event_id,
            subject_id=subject_id,
            method="POST",
            url=phone.webhook_url,
            body=body,
            now=now,
        )


def _values_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    values: list[dict[str, Any]] = []
    for entry in document.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        for change in entry.get("changes") or []:
            if isinstance(change, dict) and isinstance(change.get("value"), dict):
                values.append(change["value"])
    return values
