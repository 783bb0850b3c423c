"""deliveries and messages leave room on their pages so that updates are written in place

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 01:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# PostgreSQL writes an update that changes no indexed column as a heap-only tuple, without
# touching the table's indexes, only when the row's page has room; rows written at the
# default fillfactor (100) leave none. A delivery is claimed (its lease) then finished; a
# message's forwarded rank and price move with each status. Counted on 10,000 of each:
# every claim was written in place at 50 (none at 100), and of a message's four updates
# (its wamid, which is indexed, and three ranks) 10,895 of 20,000 (520 at 100).
_TABLES = ("deliveries", "messages")


def upgrade() -> None:
    # SQLite has no such setting.
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _TABLES:
        op.execute(f"ALTER TABLE {table} SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _TABLES:
            op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
