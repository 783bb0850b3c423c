"""webhook event subscriptions, marketing preferences, template categories, graph versions

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 00:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from wagate.store.types import UtcDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("wabas", schema=None) as batch_op:
        batch_op.add_column(sa.Column("graph_version", sa.String(length=16), nullable=True))
    op.create_table(
        "webhook_subscriptions",
        sa.Column("owner_kind", sa.String(length=8), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("event_types", sa.Text(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("owner_kind", "owner_id", name=op.f("pk_webhook_subscriptions")),
    )
    op.create_table(
        "marketing_preferences",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("value", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False, server_default=""),
        sa.Column("reported_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("number", "user_id", name=op.f("pk_marketing_preferences")),
    )
    op.create_table(
        "template_categories",
        sa.Column("waba_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("language", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("waba_id", "name", "language", name=op.f("pk_template_categories")),
    )


def downgrade() -> None:
    op.drop_table("template_categories")
    op.drop_table("marketing_preferences")
    op.drop_table("webhook_subscriptions")
    with op.batch_alter_table("wabas", schema=None) as batch_op:
        batch_op.drop_column("graph_version")
