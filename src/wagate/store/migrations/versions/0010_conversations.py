"""incoming messages and their media, queued and idempotent sends, send buckets

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from wagate.store.types import UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("numbers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("incoming_callback_profile_id", sa.String(length=128), nullable=True)
        )
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("wamid", sa.String(length=255), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("waba_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("phone_number_id", sa.String(length=64), nullable=False),
        sa.Column("sender", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("reply_to", sa.String(length=255), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("media_id", sa.String(length=255), nullable=True),
        sa.Column("media_state", sa.String(length=16), nullable=True),
        sa.Column("media_type", sa.String(length=128), nullable=True),
        sa.Column("media_size", sa.BigInteger(), nullable=True),
        sa.Column("media_sha256", sa.String(length=64), nullable=True),
        sa.Column("media_blob_key", sa.String(length=255), nullable=True),
        sa.Column("media_token", sa.String(length=64), nullable=True),
        sa.Column("media_error", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint("wamid", name=op.f("uq_inbound_messages_wamid")),
        sa.UniqueConstraint("media_token", name=op.f("uq_inbound_messages_media_token")),
    )
    op.create_index("ix_inbound_messages_sid_created_at", "inbound_messages", ["sid", "created_at"])
    op.create_table(
        "send_buckets",
        sa.Column("phone_number_id", sa.String(length=64), nullable=False),
        sa.Column("ready_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("phone_number_id", name=op.f("pk_send_buckets")),
    )
    op.create_table(
        "queued_sends",
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("phone_number_id", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("not_before", UtcDateTime(), nullable=False),
        sa.Column("deadline", UtcDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("locked_by", sa.String(length=128), nullable=True),
        sa.Column("locked_until", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_queued_sends")),
    )
    op.create_index(
        "ix_queued_sends_phone_number_id_not_before",
        "queued_sends",
        ["phone_number_id", "not_before"],
    )
    op.create_index("ix_queued_sends_deadline", "queued_sends", ["deadline"])
    op.create_table(
        "send_keys",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("number", "key", name=op.f("pk_send_keys")),
    )


def downgrade() -> None:
    op.drop_table("send_keys")
    op.drop_index("ix_queued_sends_deadline", table_name="queued_sends")
    op.drop_index("ix_queued_sends_phone_number_id_not_before", table_name="queued_sends")
    op.drop_table("queued_sends")
    op.drop_table("send_buckets")
    op.drop_index("ix_inbound_messages_sid_created_at", table_name="inbound_messages")
    op.drop_table("inbound_messages")
    with op.batch_alter_table("numbers", schema=None) as batch_op:
        batch_op.drop_column("incoming_callback_profile_id")
