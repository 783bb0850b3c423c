"""Accounts, WABAs and numbers in the database."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from sqlalchemy import Insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from wagate.domain.errors import Conflict, NotFound
from wagate.domain.messages import Billing
from wagate.domain.tenancy import Account, ApiVersion, PhoneNumber, Waba
from wagate.store.tables import accounts, numbers, wabas

__all__ = [
    "billing_of",
    "get_account",
    "get_number",
    "get_waba",
    "insert_account",
    "insert_number",
    "insert_waba",
    "numbers_by_phone_number_id",
    "numbers_of",
    "require_account",
    "set_billing",
    "set_number_targets",
    "set_waba_profile",
    "set_webhook_secret",
    "to_number",
    "wabas_of",
    "webhook_secrets_of",
]


async def _insert_new(connection: AsyncConnection, insert: Insert, conflict: str) -> None:
    """Run ``insert``; :class:`Conflict` saying ``conflict`` when a key it writes exists.

    A savepoint keeps the caller's transaction usable after the refusal.
    """
    try:
        async with connection.begin_nested():
            await connection.execute(insert)
    except IntegrityError as exc:
        raise Conflict(conflict) from exc


async def insert_account(connection: AsyncConnection, account: Account) -> None:
    """Store a new account; :class:`Conflict` when the SID exists."""
    await _insert_new(
        connection,
        accounts.insert().values(
            sid=account.sid,
            company_id=account.company_id,
            api_key_hash=account.api_key_hash,
            whatsapp_enabled=account.whatsapp_enabled,
            account_type=account.account_type,
            rate_card=json.dumps(account.rate_card),
            created_at=account.created_at,
        ),
        f"account {account.sid} already exists",
    )


async def get_account(connection: AsyncConnection, sid: str) -> Account | None:
    """The account with this SID, or None."""
    row = (await connection.execute(select(accounts).where(accounts.c.sid == sid))).first()
    if row is None:
        return None
    return Account(
        sid=row.sid,
        company_id=row.company_id,
        api_key_hash=row.api_key_hash,
        whatsapp_enabled=row.whatsapp_enabled,
        created_at=row.created_at,
        account_type=row.account_type,
        rate_card=json.loads(row.rate_card or "{}"),
    )


async def insert_waba(connection: AsyncConnection, waba: Waba) -> None:
    """Store a new WABA; :class:`Conflict` when its id exists."""
    await _insert_new(
        connection,
        wabas.insert().values(
            waba_id=waba.waba_id,
            sid=waba.sid,
            api_version=waba.api_version.value,
            callback_profile_id=waba.callback_profile_id,
            created_at=waba.created_at,
        ),
        f"WABA {waba.waba_id} already exists",
    )


async def get_waba(connection: AsyncConnection, waba_id: str, *, lock: bool = False) -> Waba | None:
    """The WABA with this id, or None; ``lock`` holds its row until commit."""
    query = select(wabas).where(wabas.c.waba_id == waba_id)
    if lock and connection.dialect.name != "sqlite":
        query = query.with_for_update()
    row = (await connection.execute(query)).first()
    return None if row is None else _to_waba(row)


def _to_waba(row: Any) -> Waba:
    return Waba(
        waba_id=row.waba_id,
        sid=row.sid,
        api_version=ApiVersion(row.api_version),
        callback_profile_id=row.callback_profile_id,
        created_at=row.created_at,
    )


async def insert_number(connection: AsyncConnection, number: PhoneNumber) -> None:
    """Store a new WhatsApp number; :class:`Conflict` when it or its phone number id exists."""
    await _insert_new(
        connection,
        numbers.insert().values(
            number=number.number,
            sid=number.sid,
            waba_id=number.waba_id,
            phone_number_id=number.phone_number_id,
            callback_profile_id=number.callback_profile_id,
            webhook_url=number.webhook_url,
            created_at=number.created_at,
            incoming_callback_profile_id=number.incoming_callback_profile_id,
        ),
        f"number {number.number} or phone number id {number.phone_number_id} already exists",
    )


async def get_number(connection: AsyncConnection, number: str) -> PhoneNumber | None:
    """The WhatsApp number, or None."""
    row = (await connection.execute(select(numbers).where(numbers.c.number == number))).first()
    return None if row is None else to_number(row)


def to_number(row: Any) -> PhoneNumber:
    """A ``numbers`` row as the domain's phone number."""
    return PhoneNumber(
        number=row.number,
        sid=row.sid,
        waba_id=row.waba_id,
        phone_number_id=row.phone_number_id,
        callback_profile_id=row.callback_profile_id,
        webhook_url=row.webhook_url,
        created_at=row.created_at,
        incoming_callback_profile_id=row.incoming_callback_profile_id,
    )


async def wabas_of(connection: AsyncConnection, sid: str) -> list[Waba]:
    """The account's WABAs, oldest first."""
    query = select(wabas).where(wabas.c.sid == sid).order_by(wabas.c.created_at, wabas.c.waba_id)
    return [_to_waba(row) for row in await connection.execute(query)]


async def numbers_of(connection: AsyncConnection, sid: str) -> list[PhoneNumber]:
    """The account's WhatsApp numbers, oldest first."""
    query = (
        select(numbers).where(numbers.c.sid == sid).order_by(numbers.c.created_at, numbers.c.number)
    )
    return [to_number(row) for row in await connection.execute(query)]


async def require_account(connection: AsyncConnection, sid: str) -> Account:
    """The account with this SID; :class:`NotFound` when there is none."""
    account = await get_account(connection, sid)
    if account is None:
        raise NotFound(f"no account with SID {sid}")
    return account


async def set_waba_profile(
    connection: AsyncConnection, waba_id: str, profile_id: str | None
) -> None:
    """Attach a callback profile to a WABA (None detaches)."""
    await connection.execute(
        update(wabas).where(wabas.c.waba_id == waba_id).values(callback_profile_id=profile_id)
    )


async def set_number_targets(
    connection: AsyncConnection,
    number: str,
    *,
    profile_id: str | None,
    webhook_url: str | None,
    clear_profile: bool,
    clear_webhook: bool,
    incoming_profile_id: str | None = None,
    clear_incoming_profile: bool = False,
) -> None:
    """Set or clear a number's callback profiles (status, incoming) and webhook URL."""
    values: dict[str, str | None] = {}
    if profile_id is not None or clear_profile:
        values["callback_profile_id"] = profile_id
    if webhook_url is not None or clear_webhook:
        values["webhook_url"] = webhook_url
    if incoming_profile_id is not None or clear_incoming_profile:
        values["incoming_callback_profile_id"] = incoming_profile_id
    if values:
        await connection.execute(update(numbers).where(numbers.c.number == number).values(**values))


async def numbers_by_phone_number_id(
    connection: AsyncConnection, phone_number_ids: Collection[str]
) -> dict[str, PhoneNumber]:
    """The business numbers Meta calls by these phone number ids, by that id."""
    if not phone_number_ids:
        return {}
    rows = await connection.execute(
        select(numbers).where(numbers.c.phone_number_id.in_(list(phone_number_ids)))
    )
    return {row.phone_number_id: to_number(row) for row in rows}


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


async def billing_of(connection: AsyncConnection, sids: Collection[str]) -> dict[str, Billing]:
    """Each account's type and rate card, by SID (postpaid with no prices when unknown)."""
    found: dict[str, Billing] = {}
    if sids:
        rows = await connection.execute(
            select(accounts.c.sid, accounts.c.account_type, accounts.c.rate_card).where(
                accounts.c.sid.in_(list(sids))
            )
        )
        for row in rows:
            found[row.sid] = Billing(row.account_type, json.loads(row.rate_card or "{}"))
    return {sid: found.get(sid, Billing(account_type="postpaid", rate_card={})) for sid in sids}


async def set_billing(
    connection: AsyncConnection, sid: str, account_type: str, rate_card: dict[str, str]
) -> None:
    """Set an account's type and rate card."""
    await connection.execute(
        update(accounts)
        .where(accounts.c.sid == sid)
        .values(account_type=account_type, rate_card=json.dumps(rate_card))
    )
