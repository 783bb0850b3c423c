"""Every setting of wagate, read from ``WAGATE_*`` environment variables."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from wagate.domain.pricing import RateCard, parse_rate_card
from wagate.domain.retry import parse_schedule
from wagate.domain.uploads import UploadPolicy
from wagate.setting_values import (
    check_database_url,
    check_http_url,
    check_networks,
    check_storage_url,
)

MB = 1024 * 1024


class Settings(BaseSettings):
    """Configuration of a wagate process. Each field is ``WAGATE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="WAGATE_", extra="ignore")

    data_dir: Path = Field(Path(".wagate"), description="Where the SQLite file and media live.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default a SQLite file in the data directory. "
        "postgresql+asyncpg://… for PostgreSQL.",
    )
    database_pool_size: int = Field(
        20,
        ge=1,
        description="PostgreSQL connections one process keeps open, at most "
        "(SQLite always uses one).",
    )
    public_url: str = Field(
        "http://127.0.0.1:8080", description="Base URL customers reach this gateway on."
    )
    upload_max_bytes: int = Field(100 * MB, ge=1, description="Largest file accepted, in bytes.")
    upload_rate_limit: int = Field(20, ge=1, description="Accepted uploads per WABA per window.")
    upload_rate_window_seconds: int = Field(
        3600, ge=1, description="Rate-limit window, in seconds."
    )
    uploads_in_progress_per_account: int = Field(
        10,
        ge=1,
        description="Uploads one account may be sending at once, per API process (429 beyond).",
    )
    upload_min_bytes_per_second: int = Field(
        32768,
        ge=0,
        description="An upload slower than this, over any stretch of the idle timeout, is cut "
        "with 408 (0: no minimum).",
    )
    request_idle_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="A request whose body sends nothing for this long is cut with 408; a "
        "connection that sends no complete request head for this long is closed.",
    )
    request_body_deadline_seconds: float = Field(
        60.0,
        gt=0,
        description="The longest a request body other than an upload may take to arrive "
        "(uploads are bounded by their minimum rate instead).",
    )
    handle_ttl_seconds: int = Field(86400, ge=1, description="UPLOADED becomes EXPIRED after this.")
    retention_seconds: int = Field(
        259200,
        ge=1,
        description="Every record of customer data (uploads and media, messages, statuses, "
        "Meta webhooks, events, callbacks and their attempts) is purged this long after it "
        "was written.",
    )
    retention_sweep_seconds: float = Field(
        60.0, gt=0, description="How often the worker looks for data past its retention."
    )
    retention_batch_size: int = Field(
        200,
        ge=1,
        description="Rows (or uploads, or messages) purged per transaction: small enough that "
        "no purge holds the database for long.",
    )
    idempotency_ttl_seconds: int = Field(
        86400, ge=1, description="How long an Idempotency-Key is remembered."
    )
    graph_url: str = Field(
        "https://graph.facebook.com", description="Base URL of Meta's Graph API (or the sandbox)."
    )
    graph_version: str = Field(
        "v24.0",
        pattern=r"^v\d+\.\d+$",
        description="Graph API version in request paths (a WABA may have its own: "
        "wagate wabas graph-version).",
    )
    meta_app_id: str = Field("wagate-sandbox-app", description="Meta app id for uploads.")
    meta_access_token: str = Field(
        "wagate-sandbox-token", description="Meta access token (system user token)."
    )
    meta_app_secret: str = Field(
        "wagate-sandbox-secret", description="Meta app secret: signs Meta's webhooks."
    )
    meta_verify_token: str = Field(
        "wagate-sandbox-verify", description="Token Meta echoes when verifying the webhook."
    )
    job_lease_seconds: float = Field(
        30.0, gt=0, description="How long a claimed job is a worker's before others may take it."
    )
    worker_poll_seconds: float = Field(1.0, gt=0, description="Longest idle wait between claims.")
    worker_grace_seconds: float = Field(
        10.0, ge=0, description="On shutdown, how long running jobs may finish before release."
    )
    worker_niceness: int = Field(
        19,
        ge=0,
        le=19,
        description="How much lower than the API's the CPU priority (nice) of the worker "
        "children of `wagate serve` is: on a busy machine, acknowledging webhooks goes first.",
    )
    transfer_concurrency: int = Field(
        4, ge=1, description="Uploads transferred at once per worker."
    )
    transfer_chunk_bytes: int = Field(4 * MB, ge=1, description="Bytes per upload POST to Meta.")
    transfer_max_attempts: int = Field(
        8, ge=1, description="Consecutive failed chunks before a transfer is retried later."
    )
    transfer_max_job_attempts: int = Field(
        10, ge=1, description="Transfer runs before an upload is FAILED."
    )
    sandbox_webhook_url: str = Field(
        "http://127.0.0.1:8080/webhooks/meta",
        description="Where the Meta sandbox sends its signed webhooks (the gateway's ingress).",
    )
    pod: str = Field(
        "stage",
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="Pod name: the prefix of callback profile ids.",
    )
    callback_allowed_networks: str = Field(
        "",
        description="Comma-separated CIDRs callbacks may reach although private or loopback "
        "(e.g. 127.0.0.0/8 for local tests).",
    )
    rate_card: str = Field(
        "",
        description="Prices of billed messages for status callbacks, as JSON: category → "
        'country (ISO code, or "*") → price, e.g. {"marketing": {"IN": "0.0107", "*": "0.025"}}. '
        "An account's own rate for the category comes first.",
    )
    retry_schedule: str = Field(
        "5,30,120,600,1800,3600,7200,14400,28800,43200,86400,64800",
        description="Seconds between callback attempts; spans the 3 days of retention.",
    )
    callback_connect_timeout_seconds: float = Field(
        5.0, gt=0, description="Callback connect timeout."
    )
    callback_timeout_seconds: float = Field(15.0, gt=0, description="Callback total timeout.")
    callback_endpoint_concurrency: int = Field(
        32, ge=1, description="Requests in flight to one endpoint, per worker."
    )
    callback_slow_after_seconds: float = Field(
        1.0,
        gt=0,
        description="An endpoint whose answer takes longer than this is slow: it sends one "
        "request at a time, from a small pool of its own, until it answers quickly again.",
    )
    delivery_concurrency: int = Field(
        64, ge=1, description="Callback requests in flight per worker."
    )
    inbox_concurrency: int = Field(
        2,
        ge=1,
        description="Inbox partitions one worker processes at once on PostgreSQL "
        "(SQLite always processes one batch at a time).",
    )
    send_rate_per_number: float = Field(
        80.0,
        ge=0,
        description="Sends per second per business number (Meta's default throughput); "
        "more are queued and sent when allowed. 0: no limit.",
    )
    send_queue_ttl_seconds: float = Field(
        3600.0,
        gt=0,
        description="A queued send not sent within this many seconds gets a failed callback.",
    )
    send_concurrency: int = Field(
        32, ge=1, description="Queued sends in flight to Meta at once, per worker."
    )
    media_download_concurrency: int = Field(
        4, ge=1, description="Incoming media downloaded from Meta at once, per worker."
    )
    media_download_max_attempts: int = Field(
        5,
        ge=1,
        description="Runs of an incoming media download (each a few quick tries) before the "
        "customer is told it failed.",
    )
    profile_auto_disable_seconds: float = Field(
        86400.0,
        gt=0,
        description="A profile whose deliveries have all failed this long is auto-disabled.",
    )
    storage_url: str = Field(
        "",
        description="Where media bytes live: empty for <data_dir>/media, a directory, "
        "or s3://bucket/prefix.",
    )
    s3_endpoint: str = Field(
        "", description="S3-compatible endpoint URL (empty for AWS); http:// is allowed."
    )
    s3_region: str = Field("us-east-1", description="S3 region.")
    s3_access_key_id: str = Field("", description="S3 access key id (empty: AWS_* variables).")
    s3_secret_access_key: str = Field(
        "", description="S3 secret access key (empty: AWS_* variables)."
    )
    portal_enabled: bool = Field(True, description="Serve the customer portal under /portal/.")
    portal_session_key: SecretStr | None = Field(
        None,
        description="Key that signs portal sessions; empty: one generated once and kept in "
        "the data directory (set it when API processes do not share one).",
    )
    portal_session_seconds: int = Field(
        28800, ge=60, description="How long a portal sign-in lasts, in seconds."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", description="Log level: DEBUG, INFO, WARNING, ERROR or CRITICAL."
    )
    log_format: Literal["console", "json"] = Field("console", description="console or json.")

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_capitals(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("public_url", "graph_url", "sandbox_webhook_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return check_http_url(value)

    @field_validator("s3_endpoint")
    @classmethod
    def _optional_http_url(cls, value: str) -> str:
        return check_http_url(value) if value else value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        return check_database_url(value) if value else None

    @field_validator("storage_url")
    @classmethod
    def _storage_url(cls, value: str) -> str:
        return check_storage_url(value)

    @field_validator("callback_allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        return check_networks(value)

    @field_validator("rate_card")
    @classmethod
    def _rate_card(cls, value: str) -> str:
        parse_rate_card(json.loads(value) if value.strip() else {})
        return value

    def operator_rate_card(self) -> RateCard:
        """The operator's rate card (empty when none is set)."""
        return parse_rate_card(json.loads(self.rate_card) if self.rate_card.strip() else {})

    @field_validator("retry_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        parse_schedule(value)
        return value

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'wagate.db').resolve()}"

    def sqlite_path(self) -> Path | None:
        """The SQLite database file; None when the database is PostgreSQL or in memory."""
        scheme, _, rest = self.resolved_database_url().partition("://")
        if not scheme.startswith("sqlite"):
            return None
        # sqlite:///relative.db, sqlite:////absolute.db, optionally ?options
        path = rest.removeprefix("/").split("?", 1)[0]
        return Path(path) if path and path != ":memory:" else None

    @property
    def media_dir(self) -> Path:
        """The directory media bytes are stored in, when they are stored in files."""
        if self.storage_url and not self.storage_url.startswith("s3://"):
            return Path(self.storage_url.removeprefix("file://"))
        return self.data_dir / "media"

    def upload_policy(self) -> UploadPolicy:
        """The upload limits as the domain sees them."""
        return UploadPolicy(
            max_bytes=self.upload_max_bytes,
            rate_limit=self.upload_rate_limit,
            rate_window=timedelta(seconds=self.upload_rate_window_seconds),
            handle_ttl=timedelta(seconds=self.handle_ttl_seconds),
            retention=timedelta(seconds=self.retention_seconds),
            idempotency_ttl=timedelta(seconds=self.idempotency_ttl_seconds),
            max_in_progress=self.uploads_in_progress_per_account,
        )
