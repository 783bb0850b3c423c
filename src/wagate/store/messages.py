"""Messages, the statuses Meta reported for them, and Meta's webhooks as received."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from wagate.domain.messages import Billing, Message
from wagate.domain.tenancy import PhoneNumber
from wagate.store.tables import accounts, message_statuses, messages, meta_webhooks, numbers


def _to_message(row: Any) -> Message:
    return Message(
        id=row.id,
        sid=row.sid,
        waba_id=row.waba_id,
        number=row.number,
        phone_number_id=row.phone_number_id,
        recipient=row.recipient,
        wamid=row.wamid,
        type=row.type,
        template_id=row.template_id,
        template_name=row.template_name,
        template_components=json.loads(row.template_components)
        if row.template_components
        else None,
        ref=row.ref,
        ref1=row.ref1,
        ref2=row.ref2,
        callback_url=row.callback_url,
        callback_profile_id=row.callback_profile_id,
        tag_name=row.tag_name,
        forwarded_rank=row.forwarded_rank,
    )


async def insert_message(connection: AsyncConnection, message: Message, now: datetime) -> None:
    """Store a message Meta accepted."""
    await connection.execute(
        messages.insert().values(
            id=message.id,
            sid=message.sid,
            waba_id=message.waba_id,
            number=message.number,
            phone_number_id=message.phone_number_id,
            recipient=message.recipient,
            wamid=message.wamid,
            type=message.type,
            template_id=message.template_id,
            template_name=message.template_name,
            template_components=json.dumps(message.template_components)
            if message.template_components is not None
            else None,
            ref=message.ref,
            ref1=message.ref1,
            ref2=message.ref2,
            callback_url=message.callback_url,
            callback_profile_id=message.callback_profile_id,
            tag_name=message.tag_name,
            forwarded_rank=0,
            created_at=now,
            updated_at=now,
        )
    )


async def get_by_wamid(connection: AsyncConnection, wamid: str) -> Message | None:
    """The message Meta knows as ``wamid``, or None."""
    row = (await connection.execute(select(messages).where(messages.c.wamid == wamid))).first()
    return None if row is None else _to_message(row)


async def record_status(
    connection: AsyncConnection,
    *,
    wamid: str,
    status: str,
    message_id: str | None,
    payload: dict[str, Any],
    now: datetime,
) -> str | None:
    """Record a (wamid, status) the first time it is seen; None for a repeat."""
    insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(message_statuses)
        .values(
            id=str(uuid.uuid4()),
            wamid=wamid,
            status=status,
            message_id=message_id,
            meta_timestamp=str(payload.get("timestamp", ""))[:32],
            forwarded=False,
            payload=json.dumps(payload, separators=(",", ":")),
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["wamid", "status"])
        .returning(message_statuses.c.id)
    )
    status_id: str | None = (await connection.execute(statement)).scalar_one_or_none()
    return status_id


async def advance(connection: AsyncConnection, message_id: str, rank: int, status_id: str) -> bool:
    """Move the message's forwarded rank up to ``rank``; False when it was already there."""
    result = await connection.execute(
        update(messages)
        .where(messages.c.id == message_id, messages.c.forwarded_rank < rank)
        .values(forwarded_rank=rank)
    )
    if result.rowcount != 1:
        return False
    await connection.execute(
        update(message_statuses).where(message_statuses.c.id == status_id).values(forwarded=True)
    )
    return True


async def status_sequence(connection: AsyncConnection, wamid: str) -> list[str]:
    """The statuses Meta reported for a message, in arrival order."""
    rows = (
        await connection.execute(
            select(message_statuses.c.status)
            .where(message_statuses.c.wamid == wamid)
            .order_by(message_statuses.c.created_at)
        )
    ).all()
    return [row.status for row in rows]


async def number_by_phone_number_id(
    connection: AsyncConnection, phone_number_id: str
) -> PhoneNumber | None:
    """The business number Meta calls ``phone_number_id``, or None."""
    row = (
        await connection.execute(
            select(numbers).where(numbers.c.phone_number_id == phone_number_id)
        )
    ).first()
    if row is None:
        return None
    return PhoneNumber(
        number=row.number,
        sid=row.sid,
        waba_id=row.waba_id,
        phone_number_id=row.phone_number_id,
        callback_profile_id=row.callback_profile_id,
        webhook_url=row.webhook_url,
        created_at=row.created_at,
    )


async def webhook_secrets_of(
    connection: AsyncConnection, phone_numbers: Collection[str]
) -> dict[str, str]:
    """The signing secrets of the numbers among ``phone_numbers`` that have one."""
    if not phone_numbers:
        return {}
    query = select(numbers.c.number, numbers.c.webhook_secret).where(
        numbers.c.number.in_(list(phone_numbers)), numbers.c.webhook_secret.is_not(None)
    )
    return {row.number: row.webhook_secret for row in await connection.execute(query)}


async def set_webhook_secret(connection: AsyncConnection, number: str, secret: str) -> None:
    """Give a number its signing secret."""
    await connection.execute(
        update(numbers).where(numbers.c.number == number).values(webhook_secret=secret)
    )


async def billing_of(connection: AsyncConnection, sid: str) -> Billing:
    """The account's type and rate card."""
    row = (
        await connection.execute(
            select(accounts.c.account_type, accounts.c.rate_card).where(accounts.c.sid == sid)
        )
    ).first()
    if row is None:
        return Billing(account_type="postpaid", rate_card={})
    return Billing(account_type=row.account_type, rate_card=json.loads(row.rate_card or "{}"))


async def set_billing(
    connection: AsyncConnection, sid: str, account_type: str, rate_card: dict[str, str]
) -> None:
    """Set an account's type and rate card."""
    await connection.execute(
        update(accounts)
        .where(accounts.c.sid == sid)
        .values(account_type=account_type, rate_card=json.dumps(rate_card))
    )


async def store_webhook(connection: AsyncConnection, body: str, now: datetime) -> str:
    """Keep a Meta webhook exactly as received."""
    webhook_id = str(uuid.uuid4())
    await connection.execute(
        meta_webhooks.insert().values(id=webhook_id, body=body, received_at=now)
    )
    return webhook_id


async def store_webhooks(
    connection: AsyncConnection, bodies: list[str], now: datetime
) -> list[str]:
    """Keep several Meta webhooks exactly as received, in one statement; their ids."""
    ids = [str(uuid.uuid4()) for _ in bodies]
    await connection.execute(
        meta_webhooks.insert(),
        [
            {"id": webhook_id, "body": body, "received_at": now}
            for webhook_id, body in zip(ids, bodies, strict=True)
        ],
    )
    return ids


async def get_webhook(connection: AsyncConnection, webhook_id: str) -> str | None:
    """The raw body of a stored Meta webhook."""
    value = (
        await connection.execute(
            select(meta_webhooks.c.body).where(meta_webhooks.c.id == webhook_id)
        )
    ).scalar_one_or_none()
    return value


async def mark_webhook(
    connection: AsyncConnection, webhook_id: str, outcome: str, detail: str | None, now: datetime
) -> None:
    """Record what processing a webhook came to."""
    await connection.execute(
        update(meta_webhooks)
        .where(meta_webhooks.c.id == webhook_id)
        .values(processed_at=now, outcome=outcome, detail=detail)
    )


async def count_webhooks_by_outcome(connection: AsyncConnection) -> dict[str, int]:
    """How many webhooks ended in each outcome (None: not processed yet)."""
    rows = (
        await connection.execute(
            select(meta_webhooks.c.outcome, func.count()).group_by(meta_webhooks.c.outcome)
        )
    ).all()
    return {str(row[0]): int(row[1]) for row in rows}
