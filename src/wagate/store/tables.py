"""The schema, as SQLAlchemy Core tables. Alembic migrations create it."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
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
    Column("account_type", String(16), nullable=False, server_default="postpaid"),
    Column("rate_card", Text, nullable=False, server_default="{}"),
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
    # The Graph API version the WABA's upstream calls use; None: WAGATE_GRAPH_VERSION.
    Column("graph_version", String(16), nullable=True),
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
    Column("webhook_secret", String(128), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("incoming_callback_profile_id", String(128), nullable=True),
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
    Column("meta_session_id", Text, nullable=True),
    Column("bytes_transferred", BigInteger, nullable=False, server_default="0"),
    Column("transfer_resumes", Integer, nullable=False, server_default="0"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("purge_at", UtcDateTime, nullable=False),
    Index("ix_uploads_waba_id_created_at", "waba_id", "created_at"),
    Index("ix_uploads_purge_at", "purge_at"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("waba_id", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("upload_id", String(36), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_idempotency_keys_upload_id", "upload_id"),
    Index("ix_idempotency_keys_created_at", "created_at"),
)

# The queue: work due at ``run_at``, claimed under a lease (``locked_until``).
jobs = Table(
    "jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("run_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("locked_by", String(128), nullable=True),
    Column("locked_until", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_jobs_kind_run_at", "kind", "run_at"),
    Index("ix_jobs_subject_id", "subject_id"),
)

# Status changes customers are told about, written with the change itself.
events = Table(
    "events",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("sid", String(64), nullable=False),
    Column("waba_id", String(64), nullable=True),
    Column("subject_id", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_events_subject_id", "subject_id"),
    Index("ix_events_created_at", "created_at"),
)

callback_profiles = Table(
    "callback_profiles",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("sid", String(64), ForeignKey("accounts.sid"), nullable=False, index=True),
    Column("title", String(255), nullable=False),
    Column("http_method", String(8), nullable=False),
    Column("url", Text, nullable=False),
    Column("body", Text, nullable=True),
    Column("headers", Text, nullable=False, server_default="{}"),
    Column("secret", String(128), nullable=False),
    Column("previous_secret", String(128), nullable=True),
    Column("previous_secret_expires_at", UtcDateTime, nullable=True),
    Column("status", Integer, nullable=False),
    Column("failing_since", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# One notification to one endpoint. The row is its own queue entry: the claim
# can then skip endpoints this worker already has enough requests in flight to.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("sid", String(64), nullable=False),
    Column("event_id", String(36), nullable=False, index=True),
    Column("subject_id", String(64), nullable=False, index=True),
    Column("profile_id", String(64), nullable=True, index=True),
    Column("number", String(32), nullable=True),
    Column("method", String(8), nullable=False),
    Column("url", Text, nullable=False),
    Column("body", Text, nullable=True),
    # A profile's deliveries keep the event's placeholder values (JSON), so that a
    # profile whose template changes can re-render the deliveries still waiting.
    Column("template_values", Text, nullable=True),
    Column("endpoint", String(255), nullable=False),
    # Deliveries with one order key (a subject and an endpoint) go out one at a time,
    # in ``seq`` order: the later ones are "queued" until the one before ends.
    Column("order_key", String(400), nullable=False, server_default=""),
    Column("seq", BigInteger, nullable=False, server_default="0"),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("trigger", String(16), nullable=False, server_default="scheduled"),
    Column("run_at", UtcDateTime, nullable=False),
    Column("locked_by", String(128), nullable=True),
    Column("locked_until", UtcDateTime, nullable=True),
    Column("last_response_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    Index("ix_deliveries_status_run_at", "status", "run_at"),
    Index("ix_deliveries_sid_created_at", "sid", "created_at"),
    Index("ix_deliveries_order_key_seq", "order_key", "seq"),
    Index("ix_deliveries_created_at", "created_at"),
)

# For each order key with unfinished deliveries, the one that goes next (pending);
# the others of the key wait queued. Keeping it in a row of its own lets the
# processor that adds deliveries and the worker that finishes them serialize on
# that one row, without locking the deliveries themselves.
delivery_heads = Table(
    "delivery_heads",
    metadata,
    Column("order_key", String(400), primary_key=True),
    Column("delivery_id", String(64), nullable=False),
)

# What the delivery lanes have learnt of each endpoint (scheme, host, port): its
# breaker, shared by every worker, and shown to customers beside their deliveries.
endpoint_health = Table(
    "endpoint_health",
    metadata,
    Column("endpoint", String(255), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("failures", Integer, nullable=False),
    Column("open_until", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("delivery_id", String(64), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("method", String(8), nullable=False),
    Column("url", Text, nullable=False),
    Column("request_headers", Text, nullable=False),
    Column("response_status", Integer, nullable=True),
    Column("response_body", Text, nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Column("error_class", String(64), nullable=True),
    Column("error", Text, nullable=True),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_delivery_attempts_created_at", "created_at"),
)

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
