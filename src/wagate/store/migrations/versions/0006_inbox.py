"""the inbox replaces meta_webhooks and their jobs; ordered deliveries; write-ahead messages

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 10:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from wagate.domain.inbox import webhook_entries
from wagate.store.types import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PENDING = sa.text("processed_at IS NULL")


def upgrade() -> None:
    inbox = op.create_table(
        "inbox",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=True),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("processed_at", UtcDateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_inbox")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_inbox_pending",
        "inbox",
        ["partition", "seq"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    _move_meta_webhooks(inbox)
    op.drop_table("meta_webhooks")
    op.execute(sa.text("DELETE FROM jobs WHERE kind = 'process_meta_webhook'"))

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.alter_column("wamid", existing_type=sa.String(length=255), nullable=True)
        batch_op.add_column(
            sa.Column("state", sa.String(length=16), server_default="sent", nullable=False)
        )
    with op.batch_alter_table("message_statuses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("order_key", sa.String(length=400), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.create_index("ix_deliveries_order_key_seq", ["order_key", "seq"], unique=False)
    op.create_table(
        "delivery_heads",
        sa.Column("order_key", sa.String(length=400), nullable=False),
        sa.Column("delivery_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("order_key", name=op.f("pk_delivery_heads")),
    )
    op.execute(
        sa.text(
            "UPDATE deliveries SET order_key = "
            "subject_id || '|' || endpoint || '|' || COALESCE(profile_id, 'direct')"
        )
    )
    _name_heads()


def _name_heads() -> None:
    """Every order key with pending deliveries gets its oldest pending one as its head."""
    op.execute(
        sa.text(
            "INSERT INTO delivery_heads (order_key, delivery_id) "
            "SELECT d.order_key, min(d.id) FROM deliveries d WHERE d.status = 'pending' "
            "AND d.created_at = (SELECT min(e.created_at) FROM deliveries e "
            "WHERE e.order_key = d.order_key AND e.status = 'pending') GROUP BY d.order_key"
        )
    )


def _move_meta_webhooks(inbox: sa.Table) -> None:
    """Every stored Meta webhook becomes inbox entries, in the order it was received."""
    connection = op.get_bind()
    stored = sa.table(
        "meta_webhooks",
        sa.column("id", sa.String()),
        sa.column("body", sa.Text()),
        sa.column("received_at", UtcDateTime()),
        sa.column("processed_at", UtcDateTime()),
        sa.column("outcome", sa.String()),
        sa.column("detail", sa.Text()),
    )
    rows = connection.execute(sa.select(stored).order_by(stored.c.received_at, stored.c.id)).all()
    for row in rows:
        for entry in webhook_entries(row.body):
            connection.execute(
                inbox.insert().values(
                    kind=entry.kind.value,
                    partition=entry.partition,
                    scope=entry.scope,
                    item_count=entry.items,
                    body=entry.body,
                    received_at=row.received_at,
                    processed_at=row.processed_at,
                    outcome=row.outcome,
                    detail=row.detail,
                )
            )


def downgrade() -> None:
    op.drop_table("delivery_heads")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_order_key_seq")
        batch_op.drop_column("seq")
        batch_op.drop_column("order_key")
    with op.batch_alter_table("message_statuses", schema=None) as batch_op:
        batch_op.drop_column("seq")
        batch_op.drop_column("outcome")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("state")
        batch_op.alter_column("wamid", existing_type=sa.String(length=255), nullable=False)
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
    op.drop_index("ix_inbox_pending", table_name="inbox")
    op.drop_table("inbox")
