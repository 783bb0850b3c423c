"""Read-only listings of who uses the gateway: accounts, WABAs and numbers.

The operator's command line lists them; the customer API reads one at a time
through :mod:`wagate.store.tenancy`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from wagate.domain.tenancy import ApiVersion, PhoneNumber, Waba
from wagate.store.tables import accounts, numbers, wabas

__all__ = ["list_accounts", "list_numbers", "list_wabas"]


async def _page(
    connection: AsyncConnection, query: Select[Any], limit: int, offset: int
) -> tuple[list[Any], int]:
    total = (
        await connection.execute(select(func.count()).select_from(query.order_by(None).subquery()))
    ).scalar_one()
    rows = (await connection.execute(query.limit(limit).offset(offset))).all()
    return list(rows), int(total)


async def list_accounts(
    connection: AsyncConnection, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of accounts, oldest first, without their key hashes; and the total."""
    query = select(
        accounts.c.sid,
        accounts.c.company_id,
        accounts.c.whatsapp_enabled,
        accounts.c.account_type,
        accounts.c.created_at,
    ).order_by(accounts.c.created_at, accounts.c.sid)
    rows, total = await _page(connection, query, limit, offset)
    return [dict(row._mapping) for row in rows], total


async def list_wabas(
    connection: AsyncConnection, sid: str | None, *, limit: int, offset: int
) -> tuple[list[Waba], int]:
    """A page of WABAs (of one account when ``sid`` is given), oldest first; and the total."""
    query = select(wabas).order_by(wabas.c.created_at, wabas.c.waba_id)
    if sid is not None:
        query = query.where(wabas.c.sid == sid)
    rows, total = await _page(connection, query, limit, offset)
    return [
        Waba(
            waba_id=row.waba_id,
            sid=row.sid,
            api_version=ApiVersion(row.api_version),
            callback_profile_id=row.callback_profile_id,
            created_at=row.created_at,
        )
        for row in rows
    ], total


async def list_numbers(
    connection: AsyncConnection,
    sid: str | None,
    waba_id: str | None,
    *,
    limit: int,
    offset: int,
) -> tuple[list[PhoneNumber], int]:
    """A page of numbers (of an account, of a WABA) in number order; and the total."""
    query = select(
        numbers.c.number,
        numbers.c.sid,
        numbers.c.waba_id,
        numbers.c.phone_number_id,
        numbers.c.callback_profile_id,
        numbers.c.webhook_url,
        numbers.c.created_at,
        numbers.c.incoming_callback_profile_id,
    ).order_by(numbers.c.number)
    if sid is not None:
        query = query.where(numbers.c.sid == sid)
    if waba_id is not None:
        query = query.where(numbers.c.waba_id == waba_id)
    rows, total = await _page(connection, query, limit, offset)
    return [PhoneNumber(**row._mapping) for row in rows], total
