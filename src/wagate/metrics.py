"""Prometheus metrics of a wagate process.

Counters and histograms count what this process did; Prometheus adds them up
across processes. The gauges of stored state (uploads by status, deliveries by
status, queue depth, oldest due job) are read from the database at scrape
time, so every process reports the same global figures.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

UPLOADS_ACCEPTED = Counter(
    "wagate_uploads_accepted_total", "Uploads answered 202.", registry=REGISTRY
)
UPLOAD_BYTES_RECEIVED = Counter(
    "wagate_upload_bytes_received_total", "File bytes of accepted uploads.", registry=REGISTRY
)
TRANSFER_BYTES = Counter(
    "wagate_transfer_bytes_total", "File bytes Meta confirmed receiving.", registry=REGISTRY
)
TRANSFER_RESUMES = Counter(
    "wagate_transfer_resumes_total",
    "Transfers that continued an existing Meta upload session from its offset.",
    registry=REGISTRY,
)
TRANSFERS_FINISHED = Counter(
    "wagate_transfers_finished_total", "Transfers by outcome.", ["outcome"], registry=REGISTRY
)
META_WEBHOOKS = Counter(
    "wagate_meta_webhooks_total",
    "Meta webhooks received, by result (stored or rejected).",
    ["result"],
    registry=REGISTRY,
)
DELIVERY_ATTEMPTS = Counter(
    "wagate_delivery_attempts_total",
    "Callback attempts by outcome (succeeded, retry, dead).",
    ["outcome"],
    registry=REGISTRY,
)
DELIVERY_LATENESS = Histogram(
    "wagate_delivery_lateness_seconds",
    "How long after its scheduled time an attempt was made.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
    registry=REGISTRY,
)
UPLOADS_BY_STATUS = Gauge(
    "wagate_uploads", "Stored uploads by status.", ["status"], registry=REGISTRY
)
DELIVERIES_BY_STATUS = Gauge(
    "wagate_deliveries", "Stored deliveries by status.", ["status"], registry=REGISTRY
)
QUEUE_DEPTH = Gauge(
    "wagate_queue_depth",
    "Queued work by kind (jobs and pending deliveries).",
    ["kind"],
    registry=REGISTRY,
)
OLDEST_DUE_AGE = Gauge(
    "wagate_oldest_due_job_age_seconds",
    "How long the oldest due, unclaimed job or delivery has waited.",
    registry=REGISTRY,
)


def render(state: dict[str, dict[str, float]], oldest_due_age: float) -> bytes:
    """The exposition text, with the stored-state gauges set from ``state``."""
    for gauge, key in (
        (UPLOADS_BY_STATUS, "uploads"),
        (DELIVERIES_BY_STATUS, "deliveries"),
        (QUEUE_DEPTH, "queue"),
    ):
        gauge.clear()
        for label, value in state.get(key, {}).items():
            gauge.labels(label).set(value)
    OLDEST_DUE_AGE.set(oldest_due_age)
    return generate_latest(REGISTRY)
