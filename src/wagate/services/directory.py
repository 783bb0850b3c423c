"""What the operator lists: accounts, their WABAs, numbers and uploads.

Every listing names an unknown account or WABA as :class:`NotFound`, so the
command line can say so instead of printing an empty table.
"""

from __future__ import annotations

from typing import Any

from wagate.domain import errors
from wagate.domain.tenancy import PhoneNumber, Waba
from wagate.domain.uploads import Upload
from wagate.store import Connection, Database, directory, tenancy
from wagate.store import uploads as upload_rows

__all__ = ["DirectoryService"]


class DirectoryService:
    """Read-only listings for the operator's command line."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def require_account(self, sid: str) -> None:
        """:class:`NotFound` unless the account exists."""
        async with self._db.transaction() as connection:
            await tenancy.require_account(connection, sid)

    async def accounts(self, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """A page of accounts (SID, company id, plan, type, creation) and the total."""
        async with self._db.transaction() as connection:
            return await directory.list_accounts(connection, limit=limit, offset=offset)

    async def wabas(self, sid: str | None, *, limit: int, offset: int) -> tuple[list[Waba], int]:
        """A page of WABAs, of one account when ``sid`` is given, and the total."""
        async with self._db.transaction() as connection:
            if sid is not None:
                await tenancy.require_account(connection, sid)
            return await directory.list_wabas(connection, sid, limit=limit, offset=offset)

    async def numbers(
        self, sid: str | None, waba_id: str | None, *, limit: int, offset: int
    ) -> tuple[list[PhoneNumber], int]:
        """A page of numbers, of an account or a WABA when given, and the total."""
        async with self._db.transaction() as connection:
            if sid is not None:
                await tenancy.require_account(connection, sid)
            if waba_id is not None:
                await _require_waba(connection, sid, waba_id)
            return await directory.list_numbers(
                connection, sid, waba_id, limit=limit, offset=offset
            )

    async def uploads(
        self, sid: str, waba_id: str, *, limit: int, offset: int
    ) -> tuple[list[Upload], int]:
        """A page of a WABA's uploads, newest first, and the total."""
        async with self._db.transaction() as connection:
            await tenancy.require_account(connection, sid)
            await _require_waba(connection, sid, waba_id)
            return await upload_rows.list_uploads(connection, waba_id, limit=limit, offset=offset)


async def _require_waba(connection: Connection, sid: str | None, waba_id: str) -> None:
    waba = await tenancy.get_waba(connection, waba_id)
    if waba is None or (sid is not None and waba.sid != sid):
        where = f" in account {sid}" if sid is not None else ""
        raise errors.NotFound(f"no WABA {waba_id}{where}")
