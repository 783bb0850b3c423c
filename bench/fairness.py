"""Fairness: a healthy endpoint's callback latency while many endpoints never answer.

One gateway (``wagate serve``, its worker children), a callback profile on the
number that POSTs to a healthy receiver, and the same traffic twice: single-
status webhooks offered at a fixed rate, each message's statuses in Meta's
order, latency measured from our 200 to the receiver's receipt of the
profile's callback. The first run is the baseline: no other endpoint. In the
second, more messages are sent with an ``extra_info.callback_url`` naming one
of 20 endpoints that accept connections and never answer (their callbacks go
there instead of to the profile, and every request waits for the callback
timeout), and their statuses are interleaved with the healthy ones. Every
callback of the healthy messages must arrive at the receiver, in order, in
both runs; the table also gives how the gateway judged the hanging endpoints
(``wagate_endpoints`` in ``/metrics`` at the end of the run).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.clients import client_session
from bench.pipeline import TENANT, Gateway, attach_profile, deployed
from bench.processes import (
    HOST,
    Server,
    databases,
    sandbox_and_receiver,
    scratch_directory,
)
from bench.report import table
from bench.traffic import (
    BenchmarkFailed,
    Sent,
    expected_callbacks,
    paced_figures,
    post_paced,
    reset,
    send_messages,
    wait_for_callbacks,
)

NAME = "fairness"
HANGING_ENDPOINTS = 20
TIMEOUT = 600.0


@dataclass(frozen=True)
class Sizes:
    healthy_messages: int
    per_hanging_endpoint: int
    rate: float


FULL = Sizes(healthy_messages=600, per_hanging_endpoint=10, rate=200.0)
QUICK = Sizes(healthy_messages=60, per_hanging_endpoint=2, rate=100.0)


@contextlib.asynccontextmanager
async def black_holes(count: int) -> AsyncIterator[list[str]]:
    """``count`` endpoints on 127.0.0.1 that read requests and never answer; their URLs."""

    held: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        with contextlib.suppress(Exception):
            while await reader.read(65536):
                pass
        writer.close()

    servers = [await asyncio.start_server(swallow, HOST, 0) for _ in range(count)]
    try:
        yield [f"http://{HOST}:{s.sockets[0].getsockname()[1]}/never" for s in servers]
    finally:
        for server in servers:
            server.close()
        for writer in held:
            writer.close()
        for server in servers:
            await server.wait_closed()


def interleaved(healthy: list[Sent], hanging: list[Sent]) -> list[Sent]:
    """The messages in one order, the hanging ones spread evenly among the healthy ones."""
    if not hanging:
        return list(healthy)
    every = max(1, len(healthy) // len(hanging))
    mixed: list[Sent] = []
    rest = list(hanging)
    for index, message in enumerate(healthy):
        mixed.append(message)
        if rest and index % every == every - 1:
            mixed.append(rest.pop(0))
    return mixed + rest


async def endpoint_states(session: aiohttp.ClientSession, gateway_url: str) -> dict[str, int]:
    """``wagate_endpoints`` from the gateway's ``/metrics``: endpoints by state."""
    async with session.get(gateway_url + "/metrics") as answer:
        text = await answer.text()
    states: dict[str, int] = {}
    for line in text.splitlines():
        if line.startswith('wagate_endpoints{state="'):
            label, value = line.split('"')[1], line.rsplit(" ", 1)[1]
            states[label] = int(float(value))
    return states


async def measure_run(
    session: aiohttp.ClientSession,
    gateway: Gateway,
    receiver: Server,
    sizes: Sizes,
    hanging_urls: list[str],
) -> dict[str, Any]:
    """Send the messages, offer their statuses at the rate, and time the healthy callbacks."""
    api = gateway.api_server()
    healthy, _ = await send_messages(session, api, TENANT, sizes.healthy_messages, 32)
    hanging: list[Sent] = []
    for url in hanging_urls:
        sent, _ = await send_messages(session, api, TENANT, sizes.per_hanging_endpoint, 8, url)
        hanging += sent
    everything = interleaved(healthy, hanging)
    await reset(session, receiver)
    url = gateway.url + "/webhooks/meta"
    paced = await post_paced(session, url, TENANT, everything, sizes.rate)
    if paced.failures:
        raise BenchmarkFailed(f"{paced.failures} webhooks were not acknowledged")
    arrivals = await wait_for_callbacks(session, receiver, expected_callbacks(healthy), TIMEOUT)
    return {
        "hanging": len(hanging_urls),
        "messages": len(everything),
        "expected": len(healthy) * 3,
        **paced_figures(paced, arrivals),
        "states": await endpoint_states(session, gateway.url),
    }


async def measure(gateway: Gateway, receiver: Server, sizes: Sizes) -> list[dict[str, Any]]:
    """The baseline run, then the run beside the hanging endpoints."""
    async with client_session(1024, TIMEOUT) as session:
        await attach_profile(session, gateway, receiver)
        baseline = await measure_run(session, gateway, receiver, sizes, [])
        async with black_holes(HANGING_ENDPOINTS) as urls:
            loaded = await measure_run(session, gateway, receiver, sizes, urls)
    return [baseline, loaded]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _cells(database: str, row: dict[str, Any]) -> list[object]:
    judged = ", ".join(f"{count} {state}" for state, count in sorted(row["states"].items()))
    return [
        database, row["hanging"], row["messages"], f"{row['offered']:.0f}", row["expected"],
        row["arrived"],
        _ms(row["p50"]), _ms(row["p99"]), _ms(row["max"]), row["missing"], row["twice"],
        row["out_of_order"], judged or "none",
    ]  # fmt: skip


def section(rows: list[tuple[str, dict[str, Any]]], skipped: str | None, sizes: Sizes) -> str:
    lines = [
        "## Fairness under endpoints that never answer",
        "",
        __doc__.split("\n\n", 1)[1].strip(),
        "",
        f"Sizes: {sizes.healthy_messages} messages for the healthy endpoint alone, plus "
        f"{sizes.per_hanging_endpoint} per hanging endpoint in the second run; statuses offered "
        f"at {sizes.rate:.0f} webhooks/s; callback timeout 15 s (the default).",
        "",
    ]
    if skipped:
        lines += [f"PostgreSQL was left out: {skipped}.", ""]
    header = [
        "database", "endpoints hanging", "messages", "offered/s", "healthy callbacks", "arrived",
        "p50", "p99", "max", "never arrived", "received twice", "out of order",
        "hanging endpoints judged",
    ]  # fmt: skip
    body = [_cells(database, row) for database, row in rows]
    lines += [table(header, body), ""]
    return "\n".join(lines)


def run(workdir: Path, quick: bool) -> str:
    """Measure each database: the baseline run, then the run beside hanging endpoints."""
    sizes = QUICK if quick else FULL
    rows: list[tuple[str, dict[str, Any]]] = []
    with scratch_directory(workdir, NAME) as directory, databases() as (variants, skipped):
        for database, env in variants.items():
            place = directory / database
            place.mkdir(parents=True)
            with (
                sandbox_and_receiver(place) as (sandbox, receiver),
                deployed(place / "gateway", sandbox, env, None) as gateway,
            ):
                measured = asyncio.run(measure(gateway, receiver, sizes))
            rows += [(database, row) for row in measured]
    return section(rows, skipped, sizes)
