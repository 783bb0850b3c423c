"""messages, statuses, meta webhooks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 01:37:21.309555
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from wagate.store.types import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_statuses",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("wamid", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=True),
        sa.Column("meta_timestamp", sa.String(length=32), nullable=True),
        sa.Column("forwarded", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_statuses")),
        sa.UniqueConstraint("wamid", "status", name=op.f("uq_message_statuses_wamid_status")),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("waba_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("phone_number_id", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=32), nullable=False),
        sa.Column("wamid", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("template_id", sa.String(length=64), nullable=True),
        sa.Column("template_name", sa.String(length=512), nullable=True),
        sa.Column("template_components", sa.Text(), nullable=True),
        sa.Column("ref", sa.Text(), nullable=True),
        sa.Column("ref1", sa.Text(), nullable=True),
        sa.Column("ref2", sa.Text(), nullable=True),
        sa.Column("callback_url", sa.Text(), nullable=True),
        sa.Column("callback_profile_id", sa.String(length=64), nullable=True),
        sa.Column("tag_name", sa.Text(), nullable=True),
        sa.Column("forwarded_rank", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("wamid", name=op.f("uq_messages_wamid")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_sid_created_at", ["sid", "created_at"], unique=False)

    op.create_table(
        "meta_webhooks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("processed_at", UtcDateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meta_webhooks")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "account_type", sa.String(length=16), server_default="postpaid", nullable=False
            )
        )
        batch_op.add_column(sa.Column("rate_card", sa.Text(), server_default="{}", nullable=False))

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("number", sa.String(length=32), nullable=True))

    with op.batch_alter_table("numbers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("webhook_secret", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("numbers", schema=None) as batch_op:
        batch_op.drop_column("webhook_secret")

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("number")

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("rate_card")
        batch_op.drop_column("account_type")

    op.drop_table("meta_webhooks")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_sid_created_at")

    op.drop_table("messages")
    op.drop_table("message_statuses")
