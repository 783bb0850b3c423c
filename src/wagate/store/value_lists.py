"""A column matched against a list of values, in one statement text whatever its length.

``column.in_(values)`` renders one placeholder per value, so every length of
list is a statement text of its own. asyncpg prepares each text once per
pooled connection (a round trip, and planning, before its first execution)
and keeps 100 of them: the hot lookups by a batch's ids, whose lists run from
one to a few hundred long, made a fifth of a PostgreSQL process's statements
prepares. On PostgreSQL the list is therefore one array parameter
(``column = ANY(:values)``); SQLite, whose statements are prepared in the
process itself, keeps ``IN``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

__all__ = ["among"]


def among(
    connection: AsyncConnection, column: ColumnElement[Any], values: Iterable[Any]
) -> ColumnElement[bool]:
    """``column`` is one of ``values``, as fits ``connection``'s database."""
    listed = list(values)
    if connection.dialect.name == "postgresql":
        return column == any_(bindparam(None, listed, type_=ARRAY(column.type)))
    return column.in_(listed)
