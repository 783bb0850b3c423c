"""the pending inbox entries in seq order, without scanning processed ones

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 17:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_inbox_pending_seq",
        "inbox",
        ["seq"],
        unique=False,
        postgresql_where=sa.text("processed_at IS NULL"),
        sqlite_where=sa.text("processed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_inbox_pending_seq", table_name="inbox")
