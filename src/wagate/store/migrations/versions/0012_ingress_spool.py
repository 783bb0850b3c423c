"""how far the ingress spool has been moved into the inbox

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 16:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "ingress_spool",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("moved_through", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingress_spool")),
    )
    op.bulk_insert(table, [{"id": 1, "moved_through": 0}])


def downgrade() -> None:
    op.drop_table("ingress_spool")
