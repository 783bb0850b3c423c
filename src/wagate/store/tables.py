"""The schema, as SQLAlchemy Core tables. Alembic migrations create it."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    Text,
)

from wagate.store.types import UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

accounts = Table(
    "accounts",
    metadata,
    Column("sid", String(64), primary_key=True),
    Column("company_id", String(64), nullable=False),
    Column("api_key_hash", String(64), nullable=False),
    Column("whatsapp_enabled", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

wabas = Table(
    "wabas",
    metadata,
    Column("waba_id", String(64), primary_key=True),
    Column("sid", String(64), ForeignKey("accounts.sid"), nullable=False, index=True),
    Column("api_version", String(8), nullable=False),
    Column("callback_profile_id", String(128), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

numbers = Table(
    "numbers",
    metadata,
    Column("number", String(32), primary_key=True),
    Column("sid", String(64), ForeignKey("accounts.sid"), nullable=False),
    Column("waba_id", String(64), ForeignKey("wabas.waba_id"), nullable=False, index=True),
    Column("phone_number_id", String(64), nullable=False, unique=True),
    Column("callback_profile_id", String(128), nullable=True),
    Column("webhook_url", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

uploads = Table(
    "uploads",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("sid", String(64), ForeignKey("accounts.sid"), nullable=False),
    Column("waba_id", String(64), ForeignKey("wabas.waba_id"), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("media_type", String(32), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("blob_key", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("uploaded_file_handle", Text, nullable=True),
    Column("file_link_token", String(64), nullable=True, unique=True),
    Column("failure_reason", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("purge_at", UtcDateTime, nullable=False),
    Index("ix_uploads_waba_id_created_at", "waba_id", "created_at"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("waba_id", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("upload_id", String(36), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
