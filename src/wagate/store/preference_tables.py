"""The schema of what customers and users choose, as SQLAlchemy Core tables: the
webhook events a WABA or number opts into, users' marketing preferences, and the
template categories a marketing send is judged by. :mod:`wagate.store.tables`
names them with the rest of the schema."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, String, Table, Text

from wagate.store.schema import metadata
from wagate.store.types import UtcDateTime

__all__ = ["marketing_preferences", "template_categories", "webhook_subscriptions"]

# The webhook event types a WABA (owner_kind "waba") or a number ("number") opts into:
# a JSON list of names of the catalogue (domain/webhook_events.py), or "*".
webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("owner_kind", String(8), primary_key=True),
    Column("owner_id", String(64), primary_key=True),
    Column("sid", String(64), nullable=False),
    Column("event_types", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Each user's latest marketing preference toward a business number, by one of the user's
# ids (phone number or business-scoped user id), as Meta's user_preferences reported it.
marketing_preferences = Table(
    "marketing_preferences",
    metadata,
    Column("number", String(32), primary_key=True),
    Column("user_id", String(128), primary_key=True),
    Column("opted_out", Boolean, nullable=False),
    Column("value", String(16), nullable=False),
    Column("detail", Text, nullable=False, server_default=""),
    Column("reported_at", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# The category Meta gives each template of a WABA, per language ("" when not said).
template_categories = Table(
    "template_categories",
    metadata,
    Column("waba_id", String(64), primary_key=True),
    Column("name", String(512), primary_key=True),
    Column("language", String(32), primary_key=True),
    Column("category", String(32), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
