"""Numbering deliveries (``deliveries.seq``), the order they go out in within their key.

A delivery's number is the database's to give, in the order rows are written,
never a process clock: the processes adding deliveries of one key may run on
machines whose clocks disagree. The insert comes after the key's head row is
claimed (:func:`wagate.store.order_heads.claim`), which serializes the
transactions adding to one key, so a later transaction's rows get higher
numbers. PostgreSQL draws them from a sequence (migration 0014 started it past
every number a clock gave); on SQLite, whose writers take turns, each row gets
one more than the row written last (the highest rowid), which keeps every
number higher than those before it, whatever was deleted since.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Sequence, literal_column

__all__ = ["NEXT", "SEQUENCE"]

SEQUENCE = Sequence("delivery_seq")

_LAST_WRITTEN = "(SELECT last.seq FROM deliveries AS last ORDER BY last.rowid DESC LIMIT 1)"

#: Per dialect, the expression an ``INSERT INTO deliveries`` gives each row's ``seq``.
NEXT: dict[str, ColumnElement[Any]] = {
    "postgresql": SEQUENCE.next_value(),
    "sqlite": literal_column(f"(coalesce({_LAST_WRITTEN}, 0) + 1)"),
}
