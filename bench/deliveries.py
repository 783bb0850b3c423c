"""Callback deliveries: how fast the worker delivers a backlog to a local receiver, and how late.

Events are message statuses: the benchmark sends messages through the
gateway (to the Meta sandbox) and posts Meta's signed status webhooks for
them (sent, delivered, read), each of which the worker turns into a callback
of the number's callback profile. For the backlog, the profile is disabled
while the webhooks are processed, so the deliveries wait; enabling it
releases them all at once, and the producer takes no part in the timing.
The baseline is aiohttp POSTing as many bodies of the same size to the same
receiver (``bench.receiver``, its own process), with as many in flight as
the gateway may have. Every delivery is checked at the receiver (each id
once) and in the API (each succeeded).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.clients import (
    client_session,
    meta_signed,
    meta_status_webhook,
    poll,
    post_burst,
    send_json,
    send_text_messages,
)
from bench.processes import (
    META_ENV,
    Server,
    Tenant,
    cpu_seconds,
    databases,
    messaging_gateway,
    sandbox_and_receiver,
    scratch_directory,
)
from bench.report import ms, percentile, table, times
from bench.upload import BenchmarkFailed
from wagate.settings import Settings

NAME = "deliveries"

SID, WABA_ID, API_KEY = "BENCHSID", "BENCHWABA", "bench-deliveries-key"
NUMBER, PHONE_NUMBER_ID = "15550001234", "BENCHPNID"
TENANT = Tenant(SID, WABA_ID, API_KEY, NUMBER, PHONE_NUMBER_ID)
STATUSES = ("sent", "delivered", "read")
FULL_MESSAGES, FULL_PACED = 700, 100
QUICK_MESSAGES, QUICK_PACED = 70, 20
MESSAGES_PER_WEBHOOK = 20
TIMEOUT = 300.0
#: How long the gateway's CPU use is watched while the backlog waits.
HELD_SECONDS = 2.0
BACKLOG_COLUMNS = [
    "run", "database", "deliveries", "seconds", "per second",
    "p50 release to receipt", "p99 release to receipt", "received twice",
]  # fmt: skip


@dataclass(frozen=True)
class Backlog:
    """Deliveries released at once: when each first arrived, after the release."""

    label: str
    count: int
    arrivals: list[float]
    duplicates: int
    held_cpu: float | None = None  # of a core, while the backlog waited

    @property
    def seconds(self) -> float:
        """From the release to the last arrival."""
        return max(self.arrivals)

    @property
    def per_second(self) -> float:
        """Deliveries received per second, from the release to the last arrival."""
        return self.count / self.seconds


@dataclass(frozen=True)
class Paced:
    """Events made one at a time: from the webhook's acknowledgement to the callback's arrival."""

    latencies: list[float]


@dataclass(frozen=True)
class Variant:
    """A gateway configuration: its label, database, settings, and in-flight limit per endpoint."""

    label: str
    database: str
    env: dict[str, str]
    in_flight: int


@dataclass(frozen=True)
class GatewayRun:
    """What one gateway did."""

    variant: Variant
    backlog: Backlog
    paced: Paced
    body_size: int


class _Api:
    """The gateway's API as the benchmark's account uses it."""

    def __init__(self, server: Server, session: aiohttp.ClientSession) -> None:
        self.server, self.session = server, session
        self.headers = {"api-key": API_KEY}

    async def call(self, method: str, path: str, body: object = None) -> dict[str, Any]:
        status, answer = await send_json(
            self.session, method, self.server.url + path, body, self.headers
        )
        if status not in (200, 201):
            raise BenchmarkFailed(f"{method} {path} answered {status} {answer}")
        data: dict[str, Any] = answer["data"]
        return data

    async def deliveries(self, status: str = "") -> list[dict[str, Any]]:
        """Every delivery of the account (with ``status``, when given)."""
        found: list[dict[str, Any]] = []
        while True:
            page = await self.call(
                "GET",
                f"/v1/{SID}/callback/deliveries?status={status}&limit=100&offset={len(found)}",
            )
            found += page["items"]
            if len(found) >= page["total"] or not page["items"]:
                return found

    async def waiting(self) -> int:
        """Deliveries not sent yet: pending, or queued behind an earlier one of their message."""
        total = 0
        for status in ("pending", "queued"):
            path = f"/v1/{SID}/callback/deliveries?status={status}&limit=1"
            total += int((await self.call("GET", path))["total"])
        return total

    async def set_profile_status(self, profile_id: str, status: int) -> None:
        await self.call("PATCH", f"/v1/{SID}/callback/profiles/{profile_id}", {"status": status})


async def _records(session: aiohttp.ClientSession, receiver: Server) -> list[tuple[str, float]]:
    async with session.get(receiver.url + "/_receiver/records") as answer:
        return [(str(record[0]), float(record[1])) for record in await answer.json()]


async def _reset(session: aiohttp.ClientSession, receiver: Server) -> None:
    async with session.post(receiver.url + "/_receiver/reset") as answer:
        answer.raise_for_status()


async def _arrivals(
    session: aiohttp.ClientSession, receiver: Server, expected: set[str], since: float
) -> tuple[list[float], int]:
    """Wait until every expected id arrived; the first arrival of each after ``since``, and
    how many requests arrived more than once."""

    async def complete() -> list[tuple[str, float]] | None:
        records = await _records(session, receiver)
        return records if {key for key, _ in records} >= expected else None

    records = await poll(complete, every=0.05, timeout=TIMEOUT, what="every delivery")
    first: dict[str, float] = {}
    for key, at in records:
        first.setdefault(key, at)
    if set(first) != expected:
        raise BenchmarkFailed(f"unexpected requests at the receiver: {set(first) - expected}")
    return [at - since for at in first.values()], len(records) - len(first)


def _webhooks(wamids: Sequence[str]) -> list[tuple[bytes, dict[str, str]]]:
    """Signed webhooks, each with sent, delivered and read for a few messages."""
    secret = META_ENV["WAGATE_META_APP_SECRET"]
    webhooks = []
    for start in range(0, len(wamids), MESSAGES_PER_WEBHOOK):
        batch = wamids[start : start + MESSAGES_PER_WEBHOOK]
        updates = [(wamid, status) for wamid in batch for status in STATUSES]
        body = meta_status_webhook(WABA_ID, NUMBER, PHONE_NUMBER_ID, updates)
        webhooks.append(meta_signed(secret, body))
    return webhooks


async def _post_webhooks(
    session: aiohttp.ClientSession, gateway: Server, webhooks: list[tuple[bytes, dict[str, str]]]
) -> None:
    burst = await post_burst(session, gateway.url + "/webhooks/meta", webhooks, 4)
    if set(burst.statuses) != {200}:
        raise BenchmarkFailed(f"webhooks answered {Counter(burst.statuses)}")


async def backlog_run(
    api: _Api, receiver: Server, profile_id: str, wamids: Sequence[str]
) -> tuple[Backlog, int]:
    """Queue a delivery per status while the profile is disabled, then enable it; the timing
    from the enabling request to the last arrival, and the size of a delivered body."""
    session = api.session
    await api.set_profile_status(profile_id, 3)
    await _post_webhooks(session, api.server, _webhooks(wamids))
    count = len(wamids) * len(STATUSES)

    async def queued() -> int | None:
        return count if await api.waiting() >= count else None

    await poll(queued, every=0.1, timeout=TIMEOUT, what=f"{count} pending deliveries")
    cpu = cpu_seconds(api.server.pid)
    await asyncio.sleep(HELD_SECONDS)
    held_cpu = (cpu_seconds(api.server.pid) - cpu) / HELD_SECONDS
    waiting = {d["id"] for d in await api.deliveries() if d["status"] in ("pending", "queued")}
    if len(waiting) != count:
        raise BenchmarkFailed(f"{len(waiting)} deliveries pending, expected {count}")
    await _reset(session, receiver)
    released = time.time()
    await api.set_profile_status(profile_id, 1)
    arrivals, duplicates = await _arrivals(session, receiver, waiting, released)

    async def all_succeeded() -> list[dict[str, Any]] | None:
        listed = await api.deliveries()
        return listed if all(d["status"] == "succeeded" for d in listed) else None

    listed = await poll(all_succeeded, every=0.2, timeout=TIMEOUT, what="every delivery succeeded")
    if {d["id"] for d in listed} != waiting:
        raise BenchmarkFailed("the deliveries listed are not the ones received")
    backlog = Backlog("gateway", count, arrivals, duplicates, held_cpu)
    return backlog, len(listed[0]["body"].encode())


async def paced_run(api: _Api, receiver: Server, wamids: Sequence[str]) -> Paced:
    """One status webhook at a time, each waited for at the receiver."""
    session, secret = api.session, META_ENV["WAGATE_META_APP_SECRET"]
    await _reset(session, receiver)
    latencies = []
    for index, wamid in enumerate(wamids):
        body, headers = meta_signed(
            secret, meta_status_webhook(WABA_ID, NUMBER, PHONE_NUMBER_ID, [(wamid, "sent")])
        )
        async with session.post(api.server.url + "/webhooks/meta", data=body, headers=headers) as a:
            if a.status != 200:
                raise BenchmarkFailed(f"webhook answered {a.status} {await a.text()}")
        acknowledged = time.time()

        async def arrived(expected: int = index + 1) -> list[tuple[str, float]] | None:
            records = await _records(session, receiver)
            return records if len(records) >= expected else None

        records = await poll(arrived, every=0.005, timeout=30, what="the callback")
        latencies.append(records[index][1] - acknowledged)
    if len({key for key, _ in await _records(session, receiver)}) != len(wamids):
        raise BenchmarkFailed("a paced callback arrived twice or not at all")
    return Paced(latencies)


async def _measure_gateway(
    gateway: Server, receiver: Server, messages: int, paced: int
) -> tuple[Backlog, Paced, int]:
    async with client_session(total_timeout=TIMEOUT) as session:
        api = _Api(gateway, session)
        profile = await api.call(
            "POST",
            f"/v1/{SID}/callback/profiles",
            {"title": "bench", "http_method": "POST", "url": f"{receiver.url}/callbacks"},
        )
        await api.call(
            "PATCH",
            f"/v2/{SID}/whatsapp/{WABA_ID}/numbers/{NUMBER}",
            {"callback_profile_id": profile["profile_id"]},
        )
        send_url = f"{gateway.url}/v2/{SID}/whatsapp/{NUMBER}/messages"
        wamids = await send_text_messages(session, send_url, API_KEY, messages + paced, 16)
        backlog, body_size = await backlog_run(
            api, receiver, profile["profile_id"], wamids[:messages]
        )
        return backlog, await paced_run(api, receiver, wamids[messages:]), body_size


def measure_gateway(
    directory: Path, variant: Variant, sandbox: Server, receiver: Server, sizes: tuple[int, int]
) -> GatewayRun:
    """A gateway of the variant, its tenant, number and profile; the backlog and paced runs."""
    env = {"WAGATE_CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8", **variant.env}
    with messaging_gateway(directory, sandbox, TENANT, env) as gateway:
        backlog, paced, body_size = asyncio.run(_measure_gateway(gateway, receiver, *sizes))
    return GatewayRun(variant, backlog, paced, body_size)


async def _baseline(receiver: Server, count: int, body_size: int, concurrency: int) -> Backlog:
    body = b'{"' + b"x" * (body_size - 6) + b'":""}'
    requests = [
        (body, {"Content-Type": "application/json", "webhook-id": f"baseline_{i}"})
        for i in range(count)
    ]
    async with client_session(concurrency) as session:
        await _reset(session, receiver)
        released = time.time()
        burst = await post_burst(session, f"{receiver.url}/callbacks", requests, concurrency)
        if set(burst.statuses) != {200}:
            raise BenchmarkFailed(f"the receiver answered {Counter(burst.statuses)}")
        expected = {headers["webhook-id"] for _, headers in requests}
        arrivals, duplicates = await _arrivals(session, receiver, expected, released)
    return Backlog(f"aiohttp, {concurrency} in flight (baseline)", count, arrivals, duplicates)


@contextmanager
def _variants() -> Iterator[tuple[list[Variant], str | None]]:
    """The default settings on each database, then SQLite with an endpoint limit as high
    as the lane's; and why PostgreSQL is left out, if it is."""
    settings = Settings()
    lane, endpoint = settings.delivery_concurrency, settings.callback_endpoint_concurrency
    with databases() as (chosen, skipped):
        variants = [
            Variant("gateway", name, env, min(lane, endpoint)) for name, env in chosen.items()
        ]
        variants.append(
            Variant(
                f"gateway, `WAGATE_CALLBACK_ENDPOINT_CONCURRENCY={lane}`",
                "SQLite",
                {"WAGATE_CALLBACK_ENDPOINT_CONCURRENCY": str(lane)},
                lane,
            )
        )
        yield variants, skipped


def _backlog_row(label: str, database: str, run: Backlog) -> list[object]:
    return [
        label,
        database,
        run.count,
        f"{run.seconds:.2f}",
        f"{run.per_second:.0f}",
        ms(percentile(run.arrivals, 0.5)),
        ms(percentile(run.arrivals, 0.99)),
        run.duplicates,
    ]


def _summary(runs: list[GatewayRun], baselines: dict[int, Backlog]) -> list[list[object]]:
    summary: list[list[object]] = []
    for run in runs:
        name = f"{run.variant.label} on {run.variant.database}"
        ratio = run.backlog.per_second / baselines[run.variant.in_flight].per_second
        waiting = f"{run.backlog.count} deliveries of a disabled profile wait"
        summary += [
            [f"{name}, deliveries per second", f"{run.backlog.per_second:.0f}"],
            [
                f"**ratio {name} / aiohttp, {run.variant.in_flight} in flight**",
                times(ratio),
            ],
            [f"{name}: its CPU while {waiting}", f"{run.backlog.held_cpu or 0.0:.0%} of a core"],
        ]
    return summary


def _section(runs: list[GatewayRun], baselines: dict[int, Backlog], skipped: str | None) -> str:
    settings = Settings()
    rows = [_backlog_row(run.variant.label, run.variant.database, run.backlog) for run in runs]
    rows += [_backlog_row(b.label, "–", b) for b in baselines.values()]
    paced = [
        [
            run.variant.label,
            run.variant.database,
            len(run.paced.latencies),
            ms(percentile(run.paced.latencies, 0.5)),
            ms(percentile(run.paced.latencies, 0.99)),
            ms(max(run.paced.latencies)),
        ]
        for run in runs
    ]
    in_flight = ", ".join(str(n) for n in baselines)
    parts = [
        "## Callback deliveries",
        "How fast the worker of a real `wagate serve` delivers a backlog of message-status "
        "callbacks (POST, the profile's default JSON body of "
        f"{runs[0].body_size} bytes, Standard Webhooks signature) to a local receiver, and how "
        "late a single callback arrives. The events are Meta status webhooks (sent, "
        "delivered, read) for messages sent through the gateway to the Meta sandbox; while "
        "they are processed the callback profile is disabled, so the deliveries wait, and "
        "enabling it (`PATCH …/callback/profiles/{id}` with `status: 1`) releases all of "
        "them at once. **Event time for the backlog is the moment that PATCH is sent**; the "
        "receiver (`bench.receiver`, its own process) notes when each request arrives, and "
        "the figures run from the release to each delivery's first arrival. The gateway runs "
        f"with `WAGATE_DELIVERY_CONCURRENCY={settings.delivery_concurrency}` per worker and "
        "at most `WAGATE_CALLBACK_ENDPOINT_CONCURRENCY="
        f"{settings.callback_endpoint_concurrency}` in flight to one endpoint, then once "
        "with the endpoint limit raised to the lane's. The baseline is aiohttp POSTing the "
        "same number of bodies of the same size to the same receiver, timed the same way, "
        f"with as many in flight as the gateway may have ({in_flight}). Every delivery id is "
        'checked to arrive, and the API to list each as succeeded; "received twice" counts '
        "requests past the first for an id.",
        table(BACKLOG_COLUMNS, rows),
        "A single event at a time, nothing else queued: one status webhook posted, then "
        "waited for at the receiver before the next. **Event time is when the gateway's 200 "
        "to the webhook is read**; the latency covers storing and processing the webhook, "
        "queueing the delivery, and sending it.",
        table(["run", "database", "events", "p50 event to receipt", "p99", "max"], paced),
        table(["figure", "value"], _summary(runs, baselines)),
    ]
    if skipped is not None:
        parts.append(f"Skipped on PostgreSQL: {skipped}.")
    return "\n\n".join(parts)


def run(workdir: Path, quick: bool) -> str:
    """Measure the backlog and paced runs of each gateway variant, and the baselines."""
    sizes = (QUICK_MESSAGES, QUICK_PACED) if quick else (FULL_MESSAGES, FULL_PACED)
    with (
        scratch_directory(workdir, NAME) as directory,
        sandbox_and_receiver(directory) as (sandbox, receiver),
        _variants() as (variants, skipped),
    ):
        runs = [
            measure_gateway(directory / f"gateway-{i}", variant, sandbox, receiver, sizes)
            for i, variant in enumerate(variants)
        ]
        count, body_size = runs[0].backlog.count, runs[0].body_size
        baselines = {
            n: asyncio.run(_baseline(receiver, count, body_size, n))
            for n in sorted({variant.in_flight for variant in variants})
        }
    return _section(runs, baselines, skipped)
