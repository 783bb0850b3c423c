"""Alembic environment: runs on the connection wagate hands it."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from wagate.store.tables import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("wagate runs its migrations itself: use `wagate migrate`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
