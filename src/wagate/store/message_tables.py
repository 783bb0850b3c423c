"""The schema of messaging, as SQLAlchemy Core tables: the messages sent and their
statuses, Meta's webhooks as received (the inbox and its spool), the messages users
send, and the send queue. :mod:`wagate.store.tables` holds the rest."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from wagate.store.schema import metadata
from wagate.store.types import UtcDateTime

__all__ = [
    "inbound_messages",
    "inbox",
    "ingress_spool",
    "message_statuses",
    "messages",
    "queued_sends",
    "send_buckets",
    "send_keys",
    "user_identities",
]

# Messages sent through the gateway, with what their callbacks need.
messages = Table(
    "messages",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("sid", String(64), nullable=False),
    Column("waba_id", String(64), nullable=False),
    Column("number", String(32), nullable=False),
    Column("phone_number_id", String(64), nullable=False),
    Column("recipient", String(32), nullable=False),
    # Written ahead of the call to Meta, so the wamid comes later (through the inbox).
    Column("wamid", String(255), nullable=True, unique=True),
    Column("state", String(16), nullable=False, server_default="sent"),
    Column("type", String(32), nullable=False),
    Column("template_id", String(64), nullable=True),
    Column("template_name", String(512), nullable=True),
    Column("template_components", Text, nullable=True),
    Column("ref", Text, nullable=True),
    Column("ref1", Text, nullable=True),
    Column("ref2", Text, nullable=True),
    Column("callback_url", Text, nullable=True),
    Column("callback_profile_id", String(64), nullable=True),
    Column("tag_name", Text, nullable=True),
    Column("forwarded_rank", Integer, nullable=False, server_default="0"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # The BSUID the send named (recipient is "" when it named no phone number).
    Column("recipient_user_id", String(160), nullable=True),
    # Decided from Meta's pricing: NULL until a status carried it, "" when free.
    Column("price", String(32), nullable=True),
    Index("ix_messages_sid_created_at", "sid", "created_at"),
    Index("ix_messages_created_at", "created_at"),
    # ?ref= reads; hash on PostgreSQL, which takes a ref of any length.
    Index("ix_messages_ref", "ref", postgresql_using="hash"),
    Index("ix_messages_recipient_user_id", "recipient_user_id"),
)

# Each (wamid, status) Meta reported, once, and whether it was forwarded.
message_statuses = Table(
    "message_statuses",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("wamid", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("message_id", String(64), nullable=True),
    Column("meta_timestamp", String(32), nullable=True),
    Column("forwarded", Boolean, nullable=False),
    # forwarded, not_forwarded, or held (its message not recorded yet: message_id is NULL).
    Column("outcome", String(16), nullable=True),
    # The inbox position of the webhook that reported it: the order statuses apply in.
    Column("seq", BigInteger, nullable=True),
    Column("payload", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("wamid", "status"),
    Index("ix_message_statuses_created_at", "created_at"),
)

# The ordered stream the processor applies: Meta's webhooks exactly as received
# (stored before they are acknowledged) and our records of sent messages' wamids.
inbox = Table(
    "inbox",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("scope", String(64), nullable=True),
    Column("item_count", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("processed_at", UtcDateTime, nullable=True),
    # processed, recorded, unknown, invalid (unparsable), failed (processing raised: see
    # detail), reprocessed (replaced by new entries after a fix).
    Column("outcome", String(32), nullable=True),
    Column("detail", Text, nullable=True),
    Index(
        "ix_inbox_pending",
        "partition",
        "seq",
        postgresql_where=text("processed_at IS NULL"),
        sqlite_where=text("processed_at IS NULL"),
    ),
    # SQLite's processor takes the oldest pending entries of every partition: without
    # this it scanned every entry kept (3 days of webhooks) for the few pending.
    Index(
        "ix_inbox_pending_seq",
        "seq",
        postgresql_where=text("processed_at IS NULL"),
        sqlite_where=text("processed_at IS NULL"),
    ),
    sqlite_autoincrement=True,
)

# One row: the number of the last webhook moved from the ingress spool (SQLite) into the
# inbox, written in the same transaction as the entries.
ingress_spool = Table(
    "ingress_spool",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("moved_through", BigInteger, nullable=False),
)

# Messages users sent to business numbers, once each (Meta's id), and their media.
inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("wamid", String(255), nullable=False, unique=True),
    Column("sid", String(64), nullable=False),
    Column("waba_id", String(64), nullable=False),
    Column("number", String(32), nullable=False),
    Column("phone_number_id", String(64), nullable=False),
    Column("sender", String(32), nullable=False),
    Column("type", String(32), nullable=False),
    Column("reply_to", String(255), nullable=True),
    # The inbox position of the webhook that brought it.
    Column("seq", BigInteger, nullable=True),
    # {"message": Meta's message object, "contact": the sender's contacts entry}
    Column("payload", Text, nullable=False),
    Column("media_id", String(255), nullable=True),
    # pending (to download), stored, or failed (media_error says why).
    Column("media_state", String(16), nullable=True),
    Column("media_type", String(128), nullable=True),
    Column("media_size", BigInteger, nullable=True),
    Column("media_sha256", String(64), nullable=True),
    Column("media_blob_key", String(255), nullable=True),
    Column("media_token", String(64), nullable=True, unique=True),
    Column("media_error", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # The sender's BSUID (sender, the phone number, is "" when Meta sent none).
    Column("sender_user_id", String(160), nullable=True),
    Index("ix_inbound_messages_sid_created_at", "sid", "created_at"),
    Index("ix_inbound_messages_created_at", "created_at"),
)

# Who a user is, per WABA: the BSUID Meta calls them and their phone number when known.
user_identities = Table(
    "user_identities",
    metadata,
    Column("waba_id", String(64), primary_key=True),
    Column("user_id", String(160), primary_key=True),
    Column("phone", String(32), nullable=True),
    Column("parent_user_id", String(160), nullable=True),
    Column("username", String(64), nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_user_identities_phone", "waba_id", "phone"),
)

# For each business number that sends, the instant its send bucket is full again.
send_buckets = Table(
    "send_buckets",
    metadata,
    Column("phone_number_id", String(64), primary_key=True),
    Column("ready_at", UtcDateTime, nullable=False),
)

# Messages waiting until their number (or their user) may be sent to again.
queued_sends = Table(
    "queued_sends",
    metadata,
    Column("message_id", String(64), primary_key=True),
    Column("phone_number_id", String(64), nullable=False),
    Column("recipient", String(64), nullable=False),
    # The Cloud API body to send, as checked when it was accepted.
    Column("request", Text, nullable=False),
    Column("not_before", UtcDateTime, nullable=False),
    Column("deadline", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
    Column("locked_by", String(128), nullable=True),
    Column("locked_until", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_queued_sends_phone_number_id_not_before", "phone_number_id", "not_before"),
    Index("ix_queued_sends_deadline", "deadline"),
    Index("ix_queued_sends_created_at", "created_at"),
)

# Idempotency-Key of sends: the first request's message and, once known, its answer.
send_keys = Table(
    "send_keys",
    metadata,
    Column("number", String(32), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("message_id", String(64), nullable=False),
    Column("answer", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_send_keys_created_at", "created_at"),
)
