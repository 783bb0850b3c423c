"""users known by business-scoped user id, per-message prices, an index for ?ref=

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 00:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from wagate.store.types import UtcDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("recipient_user_id", sa.String(160), nullable=True))
    op.add_column("messages", sa.Column("price", sa.String(32), nullable=True))
    op.create_index("ix_messages_ref", "messages", ["ref"], postgresql_using="hash")
    op.create_index("ix_messages_recipient_user_id", "messages", ["recipient_user_id"])
    op.add_column("inbound_messages", sa.Column("sender_user_id", sa.String(160), nullable=True))
    op.create_table(
        "user_identities",
        sa.Column("waba_id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(160), primary_key=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("parent_user_id", sa.String(160), nullable=True),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_user_identities_phone", "user_identities", ["waba_id", "phone"])


def downgrade() -> None:
    op.drop_index("ix_user_identities_phone", table_name="user_identities")
    op.drop_table("user_identities")
    op.drop_column("inbound_messages", "sender_user_id")
    op.drop_index("ix_messages_recipient_user_id", table_name="messages")
    op.drop_index("ix_messages_ref", table_name="messages")
    op.drop_column("messages", "price")
    op.drop_column("messages", "recipient_user_id")
