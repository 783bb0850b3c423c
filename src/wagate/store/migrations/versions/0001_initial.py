"""accounts, wabas, numbers, uploads

Revision ID: 0001
Revises:
Create Date: 2026-11-23 00:38:34.912199
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from wagate.store.types import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=False),
        sa.Column("api_key_hash", sa.String(length=64), nullable=False),
        sa.Column("whatsapp_enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_accounts")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("waba_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("upload_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("waba_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "wabas",
        sa.Column("waba_id", sa.String(length=64), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("api_version", sa.String(length=8), nullable=False),
        sa.Column("callback_profile_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["sid"], ["accounts.sid"], name=op.f("fk_wabas_sid_accounts")),
        sa.PrimaryKeyConstraint("waba_id", name=op.f("pk_wabas")),
    )
    with op.batch_alter_table("wabas", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wabas_sid"), ["sid"], unique=False)

    op.create_table(
        "numbers",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("waba_id", sa.String(length=64), nullable=False),
        sa.Column("phone_number_id", sa.String(length=64), nullable=False),
        sa.Column("callback_profile_id", sa.String(length=128), nullable=True),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["sid"], ["accounts.sid"], name=op.f("fk_numbers_sid_accounts")),
        sa.ForeignKeyConstraint(
            ["waba_id"], ["wabas.waba_id"], name=op.f("fk_numbers_waba_id_wabas")
        ),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_numbers")),
        sa.UniqueConstraint("phone_number_id", name=op.f("uq_numbers_phone_number_id")),
    )
    with op.batch_alter_table("numbers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_numbers_waba_id"), ["waba_id"], unique=False)

    op.create_table(
        "uploads",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("waba_id", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("blob_key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("uploaded_file_handle", sa.Text(), nullable=True),
        sa.Column("file_link_token", sa.String(length=64), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("purge_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["sid"], ["accounts.sid"], name=op.f("fk_uploads_sid_accounts")),
        sa.ForeignKeyConstraint(
            ["waba_id"], ["wabas.waba_id"], name=op.f("fk_uploads_waba_id_wabas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads")),
        sa.UniqueConstraint("file_link_token", name=op.f("uq_uploads_file_link_token")),
    )
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.create_index(
            "ix_uploads_waba_id_created_at", ["waba_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.drop_index("ix_uploads_waba_id_created_at")

    op.drop_table("uploads")
    with op.batch_alter_table("numbers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_numbers_waba_id"))

    op.drop_table("numbers")
    with op.batch_alter_table("wabas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wabas_sid"))

    op.drop_table("wabas")
    op.drop_table("idempotency_keys")
    op.drop_table("accounts")
