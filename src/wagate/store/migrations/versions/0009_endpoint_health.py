"""endpoint health: each endpoint's breaker, shared by the workers

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 13:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from wagate.store.types import UtcDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "endpoint_health",
        sa.Column("endpoint", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("open_until", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("endpoint", name=op.f("pk_endpoint_health")),
    )


def downgrade() -> None:
    op.drop_table("endpoint_health")
