"""Prometheus metrics of a wagate process.

Counters and histograms count what this process did; Prometheus adds them up
across processes. The gauges of stored state (uploads by status, deliveries by
status, queue depth, oldest due job) are read from the database at scrape
time, so every process reports the same global figures.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

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
MEDIA_DOWNLOADS = Counter(
    "wagate_media_downloads_total",
    "Downloads of incoming messages' media, by outcome (stored, failed).",
    ["outcome"],
    registry=REGISTRY,
)
META_WEBHOOKS = Counter(
    "wagate_meta_webhooks_total",
    "Meta webhooks received, by result (stored or rejected).",
    ["result"],
    registry=REGISTRY,
)
META_WEBHOOKS_INVALID = Counter(
    "wagate_meta_webhooks_invalid_total",
    "Stored Meta webhooks whose body could not be parsed.",
    registry=REGISTRY,
)
META_WEBHOOKS_FAILED = Counter(
    "wagate_meta_webhooks_failed_total",
    "Stored Meta webhooks set aside because processing them raised (see wagate webhooks list).",
    registry=REGISTRY,
)
INBOX_BATCHES = Counter(
    "wagate_inbox_batches_total",
    "Batches of the inbox processed (each one transaction).",
    registry=REGISTRY,
)
INBOX_ENTRIES = Counter(
    "wagate_inbox_entries_total",
    "Inbox entries processed (Meta webhooks and records of sent messages).",
    registry=REGISTRY,
)
DB_STATEMENTS = Counter(
    "wagate_db_statements_total",
    "SQL statements this process sent to the database.",
    registry=REGISTRY,
)
ENDPOINT_STATE_CHANGES = Counter(
    "wagate_endpoint_state_changes_total",
    "Endpoints that entered a state (slow, open, probing, healthy), as a worker judged them.",
    ["state"],
    registry=REGISTRY,
)
DELIVERY_ATTEMPTS = Counter(
    "wagate_delivery_attempts_total",
    "Callback attempts by outcome (succeeded, retry, dead).",
    ["outcome"],
    registry=REGISTRY,
)
RETENTION_PURGED = Counter(
    "wagate_retention_purged_rows_total",
    "Rows deleted because they were past their retention, by table.",
    ["table"],
    registry=REGISTRY,
)
DELIVERY_LATENESS = Histogram(
    "wagate_delivery_lateness_seconds",
    "How long after its scheduled time an attempt was made.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
    registry=REGISTRY,
)
INGRESS_SPOOLED = Gauge(
    "wagate_ingress_spooled",
    "Meta webhooks this API process acknowledged and spooled but has not yet moved into "
    "the inbox (the embedded SQLite only).",
    registry=REGISTRY,
)
UPLOADS_BY_STATUS = Gauge(
    "wagate_uploads", "Stored uploads by status.", ["status"], registry=REGISTRY
)
DELIVERIES_BY_STATUS = Gauge(
    "wagate_deliveries", "Stored deliveries by status.", ["status"], registry=REGISTRY
)
ENDPOINTS_BY_STATE = Gauge(
    "wagate_endpoints",
    "Callback endpoints that are not healthy, by state (slow, open, probing).",
    ["state"],
    registry=REGISTRY,
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
        (ENDPOINTS_BY_STATE, "endpoints"),
        (QUEUE_DEPTH, "queue"),
    ):
        gauge.clear()
        for label, value in state.get(key, {}).items():
            gauge.labels(label).set(value)
    OLDEST_DUE_AGE.set(oldest_due_age)
    return generate_latest(REGISTRY)


#: The gauges of stored state: every process reports the same figures, read from the database.
STATE_FAMILIES = frozenset(
    {
        "wagate_uploads",
        "wagate_deliveries",
        "wagate_endpoints",
        "wagate_queue_depth",
        "wagate_oldest_due_job_age_seconds",
    }
)


def own_counters() -> bytes:
    """This process's counters and histograms, without the stored-state gauges."""
    return generate_latest(_WithoutState())


class _WithoutState(Collector):
    def collect(self) -> Iterator[Metric]:
        for family in REGISTRY.collect():
            if family.name not in STATE_FAMILIES:
                yield family


def merge(own: bytes, others: Sequence[bytes]) -> bytes:
    """One exposition of several processes of one gateway: ``own`` as it is, plus the
    counters and histograms of ``others`` added in (their stored-state gauges left out,
    since ``own`` has the same figures)."""
    families: dict[str, Metric] = {}
    values: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    for index, text in enumerate([own, *others]):
        for family in text_string_to_metric_families(text.decode("utf-8")):
            if index > 0 and family.name in STATE_FAMILIES:
                continue
            families.setdefault(family.name, family)
            samples = values.setdefault(family.name, {})
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                if key not in samples:
                    samples[key] = sample.value
                elif sample.name.endswith("_created"):
                    samples[key] = min(samples[key], sample.value)
                else:
                    samples[key] += sample.value
    merged = CollectorRegistry(auto_describe=False)
    merged.register(_Fixed(families, values))
    return generate_latest(merged)


class _Fixed(Collector):
    def __init__(
        self,
        families: dict[str, Metric],
        values: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]],
    ) -> None:
        self._families = families
        self._values = values

    def collect(self) -> Iterator[Metric]:
        for name, family in self._families.items():
            metric = Metric(name, family.documentation, family.type, family.unit)
            for (sample_name, labels), value in self._values[name].items():
                metric.add_sample(sample_name, dict(labels), value)
            yield metric
