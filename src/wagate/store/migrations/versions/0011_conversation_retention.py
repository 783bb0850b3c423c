"""indexes retention needs on incoming messages, send keys and queued sends

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 14:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_inbound_messages_created_at", "inbound_messages"),
    ("ix_send_keys_created_at", "send_keys"),
    ("ix_queued_sends_created_at", "queued_sends"),
)


def upgrade() -> None:
    for name, table in _INDEXES:
        op.create_index(name, table, ["created_at"], unique=False)


def downgrade() -> None:
    for name, table in _INDEXES:
        op.drop_index(name, table_name=table)
