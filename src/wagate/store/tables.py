"""The schema, as SQLAlchemy Core tables. Alembic migrations create it.

The tables of messaging are defined in :mod:`wagate.store.message_tables`, those of
customers' and users' choices in :mod:`wagate.store.preference_tables`; both are named
here too, so that this module is the whole schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from wagate.store.message_tables import (
    inbound_messages,
    inbox,
    ingress_spool,
    message_statuses,
    messages,
    queued_sends,
    send_buckets,
    send_keys,
    user_identities,
)
from wagate.store.preference_tables import (
    marketing_preferences,
    template_categories,
    webhook_subscriptions,
)
from wagate.store.schema import metadata
from wagate.store.types import UtcDateTime

__all__ = [
    "accounts",
    "callback_profiles",
    "deliveries",
    "delivery_attempts",
    "delivery_heads",
    "endpoint_health",
    "events",
    "idempotency_keys",
    "inbound_messages",
    "inbox",
    "ingress_spool",
    "jobs",
    "marketing_preferences",
    "message_statuses",
    "messages",
    "metadata",
    "numbers",
    "queued_sends",
    "send_buckets",
    "send_keys",
    "template_categories",
    "uploads",
    "user_identities",
    "wabas",
    "webhook_subscriptions",
]

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
