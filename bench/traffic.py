"""Traffic of the pipeline benchmark: sends, Meta's status webhooks, and what arrived.

Webhooks carry statuses in Meta's order per message (sent, delivered, read);
the receiver (``bench.receiver``) notes each callback's arrival with the
message id and status its body names, which is how completeness, duplicates
and order are checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.clients import (
    RECIPIENT,
    Burst,
    meta_signed,
    meta_status_webhook,
    post_burst,
)
from bench.processes import META_ENV, Server, Tenant
from bench.report import percentile

STATUSES = ("sent", "delivered", "read")
SECRET = META_ENV["WAGATE_META_APP_SECRET"]


class BenchmarkFailed(RuntimeError):
    """The gateway did not do what was measured."""


@dataclass(frozen=True)
class Sent:
    """A message sent through the gateway: our id and Meta's."""

    id: str
    wamid: str


def send_request(
    tenant: Tenant, index: int, callback_url: str | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one text message sent through the gateway's API (with a
    ``callback_url`` of its own when given)."""
    body: dict[str, object] = {
        "messaging_object": {"to": RECIPIENT, "type": "text", "text": {"body": f"m{index}"}}
    }
    if callback_url is not None:
        body["extra_info"] = {"callback_url": callback_url}
    return json.dumps(body).encode(), {
        "api-key": tenant.api_key,
        "Content-Type": "application/json",
    }


def meta_send_request(index: int) -> tuple[bytes, dict[str, str]]:
    """The same message as the gateway sends it to Meta (the sandbox), for the baseline."""
    body = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": RECIPIENT,
        "type": "text",
        "text": {"body": f"m{index}"},
    }
    headers = {
        "Authorization": f"Bearer {META_ENV['WAGATE_META_ACCESS_TOKEN']}",
        "Content-Type": "application/json",
    }
    return json.dumps(body).encode(), headers


async def send_messages(
    session: aiohttp.ClientSession,
    gateway: Server,
    tenant: Tenant,
    count: int,
    concurrency: int,
    callback_url: str | None = None,
) -> tuple[list[Sent], float]:
    """Send ``count`` text messages, ``concurrency`` in flight; each one's ids, and the seconds."""
    url = f"{gateway.url}/v2/{tenant.sid}/whatsapp/{tenant.number}/messages"
    requests = [send_request(tenant, index, callback_url) for index in range(count)]
    burst = await post_burst(session, url, requests, concurrency)
    sent: list[Sent] = []
    for status, answer in zip(burst.statuses, burst.answers, strict=True):
        data = json.loads(answer or b"{}").get("data") or {}
        if status != 200 or not data.get("wamid"):
            raise BenchmarkFailed(f"a send answered {status} {answer[:200]!r}")
        sent.append(Sent(data["id"], data["wamid"]))
    return sent, burst.seconds


def status_webhooks(
    tenant: Tenant, sent: Sequence[Sent], per_webhook: int
) -> list[list[tuple[bytes, dict[str, str]]]]:
    """Signed webhooks of ``per_webhook`` statuses each, in three waves: every message's
    ``sent``, then every ``delivered``, then every ``read``."""
    waves = []
    for status in STATUSES:
        wave = []
        for start in range(0, len(sent), per_webhook):
            updates = [(m.wamid, status) for m in sent[start : start + per_webhook]]
            body = meta_status_webhook(
                tenant.waba_id, tenant.number, tenant.phone_number_id, updates
            )
            wave.append(meta_signed(SECRET, body))
        waves.append(wave)
    return waves


async def post_waves(
    session: aiohttp.ClientSession,
    url: str,
    waves: Sequence[Sequence[tuple[bytes, dict[str, str]]]],
    concurrency: int,
) -> Burst:
    """POST each wave ``concurrency`` at a time, a wave only once the one before was
    acknowledged whole: as Meta sends a message's next status after the last was taken."""
    statuses: list[int] = []
    latencies: list[float] = []
    answers: list[bytes] = []
    started = time.perf_counter()
    for wave in waves:
        burst = await post_burst(session, url, wave, concurrency)
        statuses += burst.statuses
        latencies += burst.latencies
        answers += burst.answers
    return Burst(statuses, answers, latencies, time.perf_counter() - started)


def one_status(tenant: Tenant, message: Sent, status: str) -> tuple[bytes, dict[str, str]]:
    """The signed webhook of one status of one message."""
    body = meta_status_webhook(
        tenant.waba_id, tenant.number, tenant.phone_number_id, [(message.wamid, status)]
    )
    return meta_signed(SECRET, body)


@dataclass
class Arrivals:
    """What the receiver got: first arrival per (message id, status), and the rest."""

    first: dict[tuple[str, str], float] = field(default_factory=dict)
    repeats: int = 0
    order: list[tuple[str, str]] = field(default_factory=list)
    missing: int = 0

    def faults(self) -> dict[str, int]:
        """What the tables report of every run: callbacks received twice, messages whose
        callbacks arrived out of order, callbacks that never arrived."""
        return {"twice": self.repeats, "out_of_order": self.out_of_order(), "missing": self.missing}

    def out_of_order(self) -> int:
        """Messages whose first callbacks did not arrive sent, delivered, read."""
        seen: dict[str, list[str]] = {}
        for subject, status in self.order:
            seen.setdefault(subject, []).append(status)
        return sum(
            1 for statuses in seen.values() if statuses != sorted(statuses, key=STATUSES.index)
        )


async def records(session: aiohttp.ClientSession, receiver: Server) -> list[list[object]]:
    """Everything the receiver noted, in arrival order."""
    async with session.get(receiver.url + "/_receiver/records") as answer:
        found: list[list[object]] = await answer.json()
    return found


async def reset(session: aiohttp.ClientSession, receiver: Server) -> None:
    """Make the receiver forget what it got."""
    async with session.post(receiver.url + "/_receiver/reset") as answer:
        answer.raise_for_status()


async def wait_for_callbacks(
    session: aiohttp.ClientSession,
    receiver: Server,
    expected: set[tuple[str, str]],
    timeout: float,
    *,
    quiet: float = 30.0,
) -> Arrivals:
    """Wait until every expected (message id, status) arrived, or none has for ``quiet``
    seconds (or ``timeout`` passed); what arrived, and how. Missing callbacks are counted
    (:attr:`Arrivals.missing`), not raised: a version that loses some is measured too."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last_count, last_change = -1, loop.time()
    while True:
        async with session.get(receiver.url + "/_receiver/count") as answer:
            count = int(await answer.json())
        if count != last_count:
            last_count, last_change = count, loop.time()
        if count >= len(expected):
            got = await records(session, receiver)
            if {(str(r[2]), str(r[3])) for r in got} >= expected:
                break
        if loop.time() - last_change > quiet or loop.time() > deadline:
            got = await records(session, receiver)
            break
        await asyncio.sleep(0.05)
    arrivals = Arrivals()
    for record in got:
        key = (str(record[2]), str(record[3]))
        if key in arrivals.first:
            arrivals.repeats += 1
            continue
        arrivals.first[key] = float(record[1])  # type: ignore[arg-type]
        arrivals.order.append(key)
    unexpected = set(arrivals.first) - expected
    if unexpected:
        raise BenchmarkFailed(f"callbacks nobody asked for: {sorted(unexpected)[:5]}")
    arrivals.missing = len(expected - set(arrivals.first))
    return arrivals


def expected_callbacks(sent: Sequence[Sent]) -> set[tuple[str, str]]:
    """The (message id, status) of every callback the messages' statuses must give."""
    return {(m.id, status) for m in sent for status in STATUSES}


@dataclass
class Paced:
    """An open-loop run: each webhook's acknowledgement time, by (message id, status)."""

    acked: dict[tuple[str, str], float]
    first_post: float
    last_post: float
    failures: int


async def post_paced(
    session: aiohttp.ClientSession,
    url: str,
    tenant: Tenant,
    sent: Sequence[Sent],
    rate: float,
    *,
    spacing: float = 0.3,
    on_progress: Callable[[int], Awaitable[None]] | None = None,
    retry_for: float = 0.0,
) -> Paced:
    """Post every message's three statuses at ``rate`` webhooks per second in all, a
    message's statuses ``spacing`` seconds apart and each only once the one before it was
    acknowledged, as Meta does. With ``retry_for``, a failed post is tried again (as Meta
    retries) until acknowledged or that many seconds passed."""
    per_message = 3 / rate
    acked: dict[tuple[str, str], float] = {}
    failures = 0
    posted = 0
    limit = asyncio.Semaphore(512)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    first_post = time.time() + 0.2
    last_post = first_post

    async def post(body: bytes, headers: dict[str, str]) -> bool:
        nonlocal failures
        deadline = loop.time() + retry_for
        while True:
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                async with limit, session.post(url, data=body, headers=headers) as answer:
                    await answer.read()
                    if answer.status == 200:
                        return True
            failures += 1
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.2)

    async def message_statuses(index: int, message: Sent) -> None:
        nonlocal posted, last_post
        for step, status in enumerate(STATUSES):
            due = start + index * per_message + step * spacing
            await asyncio.sleep(max(0.0, due - loop.time()))
            last_post = max(last_post, time.time())
            if await post(*one_status(tenant, message, status)):
                acked[(message.id, status)] = time.time()
            posted += 1
            if on_progress is not None:
                await on_progress(posted)

    await asyncio.gather(*(message_statuses(i, m) for i, m in enumerate(sent)))
    return Paced(acked, first_post, last_post, failures)


def paced_figures(paced: Paced, arrivals: Arrivals) -> dict[str, Any]:
    """The rate offered, and the latency from each webhook's acknowledgement to its
    callback's first arrival (p50, p99, max), with what arrived and how."""
    latencies = [
        arrivals.first[key] - acked for key, acked in paced.acked.items() if key in arrivals.first
    ] or [0.0]
    return {
        "offered": len(paced.acked) / max(paced.last_post - paced.first_post, 1e-9),
        "arrived": len(arrivals.first),
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies),
        **arrivals.faults(),
    }


def read_counts(directory: Path) -> tuple[int, float]:
    """Statements and CPU seconds of every process that wrote counts to ``directory``."""
    statements, cpu = 0, 0.0
    for path in directory.glob("*.json"):
        with contextlib.suppress(ValueError, OSError):
            record = json.loads(path.read_text())
            statements += int(record["statements"])
            cpu += float(record["cpu"])
    return statements, cpu


async def settled_counts(directory: Path) -> tuple[int, float]:
    """:func:`read_counts` once every process has written its latest figures."""
    await asyncio.sleep(0.6)
    return read_counts(directory)
