"""deliveries numbered within their order key by the database, not a process clock

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 21:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite numbers each delivery on from the one written last and needs nothing new. On
    # PostgreSQL the sequence starts past every number the clock gave, so that a delivery
    # added now goes behind those already waiting.
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE SEQUENCE delivery_seq AS bigint")
    op.execute(
        "SELECT setval('delivery_seq', GREATEST((SELECT max(seq) FROM deliveries), 0) + 1, false)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE delivery_seq")
