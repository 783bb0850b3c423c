"""Sends through the gateway: as fast as it goes, and drained at Meta's rate.

On the embedded default (SQLite), one ``wagate serve`` talks to the Meta
sandbox, and is measured two ways, each beside a baseline taken in the same
run:

- **unlimited**: text messages through ``POST …/messages``, 32 in flight, with
  no rate per number (``WAGATE_SEND_RATE_PER_NUMBER=0``), against the same
  messages POSTed straight to the sandbox;
- **at the limit**: the sandbox refuses a number's messages past a rate (Meta's
  130429) and the gateway keeps the same rate; a burst of sends is answered
  (200 or ``202 queued``) and drained by the send lane. Its figure is the rate
  at which messages reached Meta, from the first request to the last message
  Meta held, against the rate allowed; every message must reach Meta once.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.clients import RECIPIENT, client_session, post_burst
from bench.processes import (
    Server,
    Tenant,
    messaging_gateway,
    running_sandbox,
    scratch_directory,
)
from bench.report import table, times
from bench.traffic import BenchmarkFailed, meta_send_request

NAME = "sends"
TENANT = Tenant("SENDSID", "SENDWABA", "bench-sends-key", "15550007654", "SENDPNID")
CONCURRENCY = 32
TIMEOUT = 600.0


@dataclass(frozen=True)
class Sizes:
    """How many sends each measure makes, and the rate per number at the limit."""

    sends: int
    burst: int
    rate: float


FULL = Sizes(3000, 2000, 80.0)
QUICK = Sizes(300, 400, 80.0)


def _request(index: int, prefix: str) -> tuple[bytes, dict[str, str]]:
    body = {
        "messaging_object": {"to": RECIPIENT, "type": "text", "text": {"body": f"{prefix}{index}"}}
    }
    headers = {"api-key": TENANT.api_key, "Content-Type": "application/json"}
    return json.dumps(body).encode(), headers


async def _meta_bodies(
    session: aiohttp.ClientSession, sandbox: Server, prefix: str
) -> Counter[str]:
    """How many times Meta (the sandbox) accepted each message body of ``prefix``."""
    async with session.get(f"{sandbox.url}/_sandbox/messages") as answer:
        data = (await answer.json())["data"]
    bodies = [m["request"].get("text", {}).get("body", "") for m in data]
    return Counter(b for b in bodies if b.startswith(prefix))


async def _unlimited(session: aiohttp.ClientSession, gateway: Server, sandbox: Server,
                     count: int) -> list[object]:  # fmt: skip
    url = f"{gateway.url}/v2/{TENANT.sid}/whatsapp/{TENANT.number}/messages"
    await post_burst(session, url, [_request(i, "warm-") for i in range(50)], CONCURRENCY)
    burst = await post_burst(session, url, [_request(i, "u-") for i in range(count)], CONCURRENCY)
    if set(burst.statuses) != {200}:
        raise BenchmarkFailed(f"unlimited sends answered {Counter(burst.statuses)}")
    meta_url = f"{sandbox.url}/v21.0/{TENANT.phone_number_id}/messages"
    baseline = await post_burst(
        session, meta_url, [meta_send_request(i) for i in range(count)], CONCURRENCY
    )
    return [
        "unlimited",
        f"{count} sends, {CONCURRENCY} in flight",
        f"{burst.per_second:,.0f} sends/s",
        f"{baseline.per_second:,.0f} requests/s straight to the sandbox",
        times(burst.per_second / baseline.per_second),
    ]


async def _at_the_limit(session: aiohttp.ClientSession, gateway: Server, sandbox: Server,
                        count: int, rate: float) -> list[object]:  # fmt: skip
    async with session.post(
        f"{sandbox.url}/_sandbox/limits", json={"messages_per_second": rate}
    ) as answer:
        answer.raise_for_status()
    url = f"{gateway.url}/v2/{TENANT.sid}/whatsapp/{TENANT.number}/messages"
    started = time.perf_counter()
    burst = await post_burst(session, url, [_request(i, "l-") for i in range(count)], CONCURRENCY)
    answered = Counter(burst.statuses)
    if set(answered) - {200, 202}:
        raise BenchmarkFailed(f"sends at the limit answered {answered}")
    deadline = time.monotonic() + TIMEOUT
    while True:
        held = await _meta_bodies(session, sandbox, "l-")
        if sum(held.values()) >= count:
            break
        if time.monotonic() > deadline:
            raise BenchmarkFailed(f"only {sum(held.values())} of {count} queued sends reached Meta")
        await asyncio.sleep(0.05)
    drained = time.perf_counter() - started
    if len(held) != count or max(held.values()) != 1:
        raise BenchmarkFailed("a message reached Meta twice, or not at all")
    async with session.post(
        f"{sandbox.url}/_sandbox/limits", json={"messages_per_second": None}
    ) as answer:
        throttled = (await answer.json())["throttled"]
    per_second = count / drained
    return [
        "at the limit",
        f"{count} sends, {answered[202]} queued, {throttled} throttled by Meta",
        f"{per_second:,.1f} messages/s reached Meta",
        f"{rate:,.0f} messages/s allowed (one second's worth at once, then the rate)",
        times(per_second / rate),
    ]


def run(workdir: Path, quick: bool) -> str:
    """Measure, and return the section's markdown."""
    sizes = QUICK if quick else FULL
    with scratch_directory(workdir, NAME) as directory:
        (directory / "sandbox").mkdir()
        with running_sandbox(directory / "sandbox") as sandbox:
            rows = asyncio.run(_measure(directory, sandbox, sizes))
    lines = [
        "## Sends",
        "",
        "Text messages through `POST …/messages` to the Meta sandbox, on the embedded "
        "default (SQLite): without a rate per number, beside the same requests sent "
        "straight to the sandbox; and a burst at a number's rate, the sandbox refusing "
        "past it (130429) as Meta does, beside the rate allowed. Every queued message "
        "reached Meta once.",
        "",
        table(["measure", "traffic", "wagate", "baseline", "ratio"], rows),
    ]
    return "\n".join(lines)


async def _measure(directory: Path, sandbox: Server, sizes: Sizes) -> list[list[object]]:
    async with client_session(CONCURRENCY * 2, TIMEOUT) as session:
        with messaging_gateway(
            directory / "unlimited", sandbox, TENANT, {"WAGATE_SEND_RATE_PER_NUMBER": "0"}
        ) as gateway:
            unlimited = await _unlimited(session, gateway, sandbox, sizes.sends)
        limited_env = {"WAGATE_SEND_RATE_PER_NUMBER": str(sizes.rate)}
        with messaging_gateway(directory / "limited", sandbox, TENANT, limited_env) as gateway:
            limited = await _at_the_limit(session, gateway, sandbox, sizes.burst, sizes.rate)
    return [unlimited, limited]
