"""Statements run for many rows at once, with little Python per row.

SQLAlchemy's ``execute(statement, [rows…])`` processes every row's every value
through its type machinery, tens of microseconds per row, which at thousands
of rows a second is most of a core. The batches here are the hot path (the
inbox, statuses, events, deliveries, attempts), and their values are plain:
strings, numbers, booleans and UTC datetimes. So each statement is compiled
once per dialect, each value converted by a function chosen once per column,
and the rows handed to the driver's ``executemany`` as tuples.

On PostgreSQL an insert goes further: one statement takes every row as columns
of arrays (``INSERT … SELECT … FROM unnest(…)``), so the server plans and runs
one statement for the batch instead of one per row (for batches of 100
statuses and their events, 0.20 s of the server's CPU per 10,000 where
``executemany`` took 0.27 s).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Boolean, Table, bindparam
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement, ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler

from wagate.store.types import UtcDateTime

__all__ = ["BulkInsert", "Converter", "execute_many"]

Converter = Callable[[Any], Any]
_Prepared = tuple[str, tuple[str, ...], tuple[tuple[Any] | None, ...], tuple[Converter, ...]]
_Arrays = tuple[str, tuple[str, ...], tuple[Converter, ...]]
_cache: dict[tuple[int, str], _Prepared] = {}


def _same(value: Any) -> Any:
    return value


def _sqlite_datetime(value: datetime | None) -> str | None:
    # The text SQLAlchemy's SQLite DATETIME writes, so that comparisons and order agree.
    # A batch's rows mostly share one timestamp: the last one converted is kept.
    global _last_datetime
    if value is None:
        return None
    if _last_datetime[0] is not value:
        utc = value.astimezone(UTC).replace(tzinfo=None)
        _last_datetime = (value, utc.isoformat(sep=" ", timespec="microseconds"))
    return _last_datetime[1]


_last_datetime: tuple[datetime | None, str] = (None, "")


def _utc_datetime(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def _sqlite_boolean(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _converter(type_: Any, dialect: Dialect) -> Converter:
    sqlite = dialect.name == "sqlite"
    if isinstance(type_, UtcDateTime):
        return _sqlite_datetime if sqlite else _utc_datetime
    if isinstance(type_, Boolean) and sqlite:
        return _sqlite_boolean
    return _same


class BulkInsert:
    """``INSERT`` of these columns of a table, optionally skipping rows whose
    ``skip_conflicts_on`` columns are already taken (``ON CONFLICT DO NOTHING``).

    ``computed`` gives, per dialect, columns whose value the database works out for
    each row (an SQL expression, which may refer to the row's bind parameters).
    """

    def __init__(
        self,
        table: Table,
        columns: Sequence[str],
        skip_conflicts_on: Sequence[str] = (),
        computed: Mapping[str, Mapping[str, ColumnElement[Any]]] | None = None,
    ) -> None:
        bound = {name: bindparam(name, type_=table.c[name].type) for name in columns}
        self._statements: dict[str, ClauseElement] = {}
        for dialect, insert in (("sqlite", sqlite_insert), ("postgresql", postgresql_insert)):
            values: dict[str, Any] = {**bound, **(computed or {}).get(dialect, {})}
            statement = insert(table).values(values)
            if skip_conflicts_on:
                statement = statement.on_conflict_do_nothing(index_elements=skip_conflicts_on)
            self._statements[dialect] = statement
        self._table = table
        self._columns = tuple(columns)
        self._skip_conflicts_on = tuple(skip_conflicts_on)
        self._computed_on_postgresql = dict((computed or {}).get("postgresql", {}))
        self._arrays: _Arrays | None = None

    def statement(self, dialect: Dialect) -> ClauseElement:
        """The statement for ``dialect``."""
        return self._statements[dialect.name]

    def arrays(self, dialect: Dialect) -> _Arrays:
        """On PostgreSQL, the statement that inserts every row at once, its parameters
        one array per column, in the rows' order; the columns' names and converters."""
        if self._arrays is None:
            table = self._table
            types = [table.c[name].type.compile(dialect=dialect) for name in self._columns]
            given = ", ".join(f"${i}::{type_}[]" for i, type_ in enumerate(types, start=1))
            names = [*self._columns, *self._computed_on_postgresql]
            values = [f"given.{_quoted(name)}" for name in self._columns]
            for expression in self._computed_on_postgresql.values():
                compiled = expression.compile(dialect=dialect)
                if compiled.params:
                    raise ValueError("a computed column of an array insert takes no parameter")
                values.append(str(compiled))
            aliases = ", ".join(_quoted(name) for name in self._columns)
            sql = (
                f"INSERT INTO {table.name} ({', '.join(_quoted(n) for n in names)})"  # noqa: S608 (names from the schema)
                f" SELECT {', '.join(values)}"
                f" FROM unnest({given}) WITH ORDINALITY AS given({aliases}, wagate_position)"
                " ORDER BY wagate_position"
            )
            if self._skip_conflicts_on:
                keys = ", ".join(_quoted(name) for name in self._skip_conflicts_on)
                sql += f" ON CONFLICT ({keys}) DO NOTHING"
            converters = tuple(_converter(table.c[n].type, dialect) for n in self._columns)
            self._arrays = (sql, self._columns, converters)
        return self._arrays


def _quoted(name: str) -> str:
    return f'"{name}"'


def _prepare(statement: ClauseElement, dialect: Dialect) -> _Prepared:
    key = (id(statement), dialect.name)
    prepared = _cache.get(key)
    if prepared is None:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        names = tuple(compiled.positiontup or ())
        binds = [compiled.binds[name] for name in names]
        # Literals in the statement (a status, ``attempts + 1``) are bound too: their value
        # is the statement's, every row alike.
        fixed = tuple(None if bind.required else (bind.effective_value,) for bind in binds)
        converters = tuple(_converter(bind.type, dialect) for bind in binds)
        prepared = (str(compiled), names, fixed, converters)
        _cache[key] = prepared
    return prepared


async def execute_many(
    connection: AsyncConnection,
    statement: ClauseElement | BulkInsert,
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """Run ``statement`` once per row, in one driver call; each row maps its bind
    parameters' names to plain values. ``statement`` must be built once (a module
    constant): it is compiled on first use and kept."""
    if not rows:
        return
    if isinstance(statement, BulkInsert):
        if connection.dialect.name == "postgresql":
            await _insert_arrays(connection, statement, rows)
            return
        statement = statement.statement(connection.dialect)
    sql, names, fixed, converters = _prepare(statement, connection.dialect)
    columns = list(zip(names, fixed, converters, strict=True))
    parameters = [
        tuple(
            convert(row[name] if constant is None else constant[0])
            for name, constant, convert in columns
        )
        for row in rows
    ]
    await connection.exec_driver_sql(sql, parameters)


async def _insert_arrays(
    connection: AsyncConnection, insert: BulkInsert, rows: Sequence[Mapping[str, Any]]
) -> None:
    sql, names, converters = insert.arrays(connection.dialect)
    arrays = tuple(
        [convert(row[name]) for row in rows]
        for name, convert in zip(names, converters, strict=True)
    )
    await connection.exec_driver_sql(sql, arrays)
