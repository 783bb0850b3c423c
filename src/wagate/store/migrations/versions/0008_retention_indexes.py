"""indexes the retention purge finds old rows by

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-30 13:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None

#: (index, table, columns): what the purge looks rows up by, oldest first or by owner.
INDEXES = (
    ("ix_uploads_purge_at", "uploads", ["purge_at"]),
    ("ix_idempotency_keys_upload_id", "idempotency_keys", ["upload_id"]),
    ("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"]),
    ("ix_messages_created_at", "messages", ["created_at"]),
    ("ix_message_statuses_created_at", "message_statuses", ["created_at"]),
    ("ix_events_created_at", "events", ["created_at"]),
    ("ix_deliveries_created_at", "deliveries", ["created_at"]),
    ("ix_delivery_attempts_created_at", "delivery_attempts", ["created_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
