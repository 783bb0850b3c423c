"""Meta webhook ingress: signed status webhooks acknowledged per second, against a bare server.

The benchmark sends messages through the gateway (to the Meta sandbox), then
posts Meta's signed status webhooks for them (sent, delivered, read: one
status per webhook, as Meta sends them) to ``POST /webhooks/meta``, 50 in
flight. Each 200 means the webhook is stored with its processing job; the
worker then processes them. The baseline is the same requests, from the same
client, answered 200 by a bare aiohttp server in its own process
(``bench.receiver``). Every answer is checked, and every stored webhook must
end up processed.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from bench.clients import (
    Burst,
    meta_signed,
    meta_status_webhook,
    poll,
    post_burst,
    send_text_messages,
)
from bench.processes import (
    META_ENV,
    Server,
    Tenant,
    databases,
    messaging_gateway,
    sandbox_and_receiver,
    scratch_directory,
)
from bench.report import ms, percentile, table, times
from bench.upload import BenchmarkFailed
from wagate.settings import Settings
from wagate.store.tables import meta_webhooks

NAME = "ingress"

TENANT = Tenant("BENCHSID", "BENCHWABA", "bench-ingress-key", "15550001234", "BENCHPNID")
STATUSES = ("sent", "delivered", "read")
CONCURRENCY = 50
FULL_MESSAGES, QUICK_MESSAGES = 1000, 100
TIMEOUT = 300.0
STORED = 'wagate_meta_webhooks_total{result="stored"}'
QUEUED = 'wagate_queue_depth{kind="process_meta_webhook"}'
COLUMNS = [
    "run", "database", "webhooks", "seconds", "acks per second", "p50 ack", "p99 ack",
    "processed after s", "processed per second",
]  # fmt: skip


@dataclass(frozen=True)
class Acks:
    """A burst of webhooks and its answers; for the gateway, when the worker was done."""

    label: str
    database: str
    burst: Burst
    processed_after: float | None = None


def _metric(exposition: str, sample: str) -> float:
    """The value of one sample (name and labels as written) in a Prometheus exposition; 0 if
    it is absent."""
    for line in exposition.splitlines():
        name, _, value = line.rpartition(" ")
        if name == sample:
            return float(value)
    return 0.0


def _webhooks(wamids: list[str]) -> list[tuple[bytes, dict[str, str]]]:
    """One signed webhook per status: every message's ``sent``, then ``delivered``, ``read``."""
    secret = META_ENV["WAGATE_META_APP_SECRET"]
    return [
        meta_signed(
            secret,
            meta_status_webhook(
                TENANT.waba_id, TENANT.number, TENANT.phone_number_id, [(wamid, status)]
            ),
        )
        for status in STATUSES
        for wamid in wamids
    ]


def _check_answers(burst: Burst, expected: bytes | None) -> None:
    wrong = Counter(
        (status, answer[:80])
        for status, answer in zip(burst.statuses, burst.answers, strict=True)
        if status != 200 or (expected is not None and answer != expected)
    )
    if wrong:
        raise BenchmarkFailed(f"answers other than 200 {expected!r}: {dict(wrong)}")


async def _outcomes(database_url: str) -> tuple[Counter[str], datetime]:
    """How the stored webhooks ended, and when the last was processed, read from the database."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            query = select(
                meta_webhooks.c.outcome, func.count(), func.max(meta_webhooks.c.processed_at)
            ).group_by(meta_webhooks.c.outcome)
            rows = (await connection.execute(query)).all()
    finally:
        await engine.dispose()
    outcomes = Counter({str(outcome): int(count) for outcome, count, _ in rows})
    finished = [last for outcome, _, last in rows if outcome is not None]
    if not finished:
        raise BenchmarkFailed(f"no webhook was processed: {dict(outcomes)}")
    return outcomes, max(finished)


async def _gateway_acks(
    gateway: Server, session: aiohttp.ClientSession, database: str, messages: int
) -> Acks:
    send_url = f"{gateway.url}/v2/{TENANT.sid}/whatsapp/{TENANT.number}/messages"
    webhooks = _webhooks(await send_text_messages(session, send_url, TENANT.api_key, messages, 16))
    started = time.time()
    burst = await post_burst(session, f"{gateway.url}/webhooks/meta", webhooks, CONCURRENCY)
    _check_answers(burst, b'{"status":"received"}')

    async def drained() -> bool | None:
        async with session.get(gateway.url + "/metrics") as answer:
            exposition = await answer.text()
        stored, queued = _metric(exposition, STORED), _metric(exposition, QUEUED)
        return True if stored >= len(webhooks) and queued == 0 else None

    await poll(drained, every=0.05, timeout=TIMEOUT, what="every webhook processed")
    settings = Settings(
        data_dir=Path(gateway.env["WAGATE_DATA_DIR"]),
        database_url=gateway.env.get("WAGATE_DATABASE_URL"),
    )
    outcomes, last = await _outcomes(settings.resolved_database_url())
    if outcomes != Counter({"processed": len(webhooks)}):
        raise BenchmarkFailed(f"{len(webhooks)} webhooks sent, stored ones ended {outcomes}")
    return Acks("gateway", database, burst, last.timestamp() - started)


def measure_gateway(
    directory: Path, database: str, env: dict[str, str], sandbox: Server, messages: int
) -> Acks:
    """A gateway on one database with the tenant's number: its acks and its processing."""
    with messaging_gateway(directory, sandbox, TENANT, env) as gateway:

        async def measure() -> Acks:
            connector = aiohttp.TCPConnector(limit=CONCURRENCY)
            timeout = aiohttp.ClientTimeout(total=TIMEOUT)
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
                return await _gateway_acks(gateway, session, database, messages)

        return asyncio.run(measure())


async def _baseline(receiver: Server, count: int) -> Acks:
    webhooks = _webhooks([f"wamid.bench{i:08d}" for i in range(count // len(STATUSES))])
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        burst = await post_burst(session, f"{receiver.url}/webhooks/meta", webhooks, CONCURRENCY)
        _check_answers(burst, b"ok")
        async with session.get(receiver.url + "/_receiver/records") as answer:
            received = len(await answer.json())
    if received != len(webhooks):
        raise BenchmarkFailed(f"the receiver saw {received} of {len(webhooks)} webhooks")
    return Acks("bare aiohttp server (baseline)", "–", burst)


def _row(acks: Acks) -> list[object]:
    burst = acks.burst
    processed = "–" if acks.processed_after is None else f"{acks.processed_after:.2f}"
    per_second = "–"
    if acks.processed_after is not None:
        per_second = f"{len(burst.statuses) / acks.processed_after:.0f}"
    return [
        acks.label,
        acks.database,
        len(burst.statuses),
        f"{burst.seconds:.2f}",
        f"{burst.per_second:.0f}",
        ms(percentile(burst.latencies, 0.5)),
        ms(percentile(burst.latencies, 0.99)),
        processed,
        per_second,
    ]


def _section(gateways: list[Acks], baseline: Acks, skipped: str | None) -> str:
    summary: list[list[object]] = []
    for acks in gateways:
        ratio = acks.burst.per_second / baseline.burst.per_second
        name = f"gateway on {acks.database}"
        summary += [
            [f"{name}, webhooks acknowledged per second", f"{acks.burst.per_second:.0f}"],
            [f"**ratio {name} / bare aiohttp server**", times(ratio)],
        ]
    parts = [
        "## Meta webhook ingress",
        "How many of Meta's signed webhooks a real `wagate serve` acknowledges per second on "
        "`POST /webhooks/meta`, and how soon its worker has processed them all. The "
        "webhooks are status updates (sent, delivered, read; one status each, "
        f"{len(gateways[0].burst.statuses):,} in all) "
        "for messages sent through the gateway to the Meta sandbox beforehand, each signed "
        "with `X-Hub-Signature-256` (HMAC-SHA256 of the body with the app secret), posted by "
        f"aiohttp {CONCURRENCY} in flight. A 200 means the gateway checked the signature and "
        "committed the webhook with its processing job. The baseline is the same requests "
        "from the same client to a bare aiohttp server in its own process that reads the "
        "body and answers 200. Ack latency runs from a request's send to its answer read. "
        '"Processed after" runs from the first request sent to the last webhook marked '
        "processed in the database, once `/metrics` shows every webhook stored and none "
        "queued; every stored webhook is checked to have ended `processed` (each status "
        "recorded for its message; no callback profile is attached, so none is sent).",
        table(COLUMNS, [_row(acks) for acks in [*gateways, baseline]]),
        table(["figure", "value"], summary),
    ]
    if skipped is not None:
        parts.append(f"Skipped on PostgreSQL: {skipped}.")
    return "\n\n".join(parts)


def run(workdir: Path, quick: bool) -> str:
    """Measure webhook acks and processing on each database, and the bare server's acks."""
    messages = QUICK_MESSAGES if quick else FULL_MESSAGES
    with (
        scratch_directory(workdir, NAME) as directory,
        sandbox_and_receiver(directory) as (sandbox, receiver),
        databases() as (chosen, skipped),
    ):
        gateways = [
            measure_gateway(directory / f"gateway-{i}", name, env, sandbox, messages)
            for i, (name, env) in enumerate(chosen.items())
        ]
        baseline = asyncio.run(_baseline(receiver, len(gateways[0].burst.statuses)))
    return _section(gateways, baseline, skipped)
