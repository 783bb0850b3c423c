"""The event pipeline under a customer's load: sends, Meta's statuses in, callbacks out.

For each database, one ``wagate serve`` (API, with its worker children) talks to
the Meta sandbox and delivers to ``bench.receiver`` through a callback profile
attached to the number, and is measured five ways, each beside a baseline
taken in the same run:

- **sends**: text messages through ``POST …/messages``, 32 in flight, against
  the same messages POSTed straight to the sandbox;
- **batched**: Meta status webhooks of 100 statuses (every message's sent, then
  delivered, then read) posted 4 at a time, until every callback arrived,
  against aiohttp POSTing as many bodies to the receiver as many at a time
  as the gateway may send to one endpoint (its default
  ``WAGATE_CALLBACK_ENDPOINT_CONCURRENCY``); with the CPU seconds of the gateway's
  processes and the SQL statements they sent, per status;
- **acks**: single-status webhooks acknowledged at 64 in flight, against a
  bare aiohttp server and the same client, in rounds (the median and the range);
- **paced**: single-status webhooks offered at a fixed rate, each message's
  statuses 0.3 s apart; latency from the gateway's 200 to the receiver's
  receipt;
- **crash**: the same paced traffic, with the gateway (API and worker
  children) killed with SIGKILL mid-burst and started again, or, when the
  workers are processes of their own, one worker alone; the client retries
  what was not acknowledged, as Meta does.

Every callback is checked to arrive, once per message and status, in the
order sent → delivered → read per message. On PostgreSQL the same measures run
a second time with the API (``wagate serve --no-worker``) and two ``wagate
worker`` processes, as a deployment scales out (on SQLite every writer takes
turns on one file, so more processes do not add throughput).

``BENCH_BEFORE_SOURCE=path/to/src`` adds the same measures (smaller) for
another version of wagate, run by the same method, for a before/after.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.clients import client_session, post_burst, send_json
from bench.pipeline_report import PER_ENDPOINT, section
from bench.processes import (
    HOST,
    META_ENV,
    ROOT,
    Server,
    Tenant,
    create_number,
    create_tenant,
    databases,
    free_port,
    kill_group,
    running_receiver,
    sandbox_and_receiver,
    scratch_directory,
    start_server,
    stop_group,
    wagate_command,
)
from bench.report import percentile
from bench.traffic import (
    BenchmarkFailed,
    expected_callbacks,
    meta_send_request,
    paced_figures,
    post_paced,
    post_waves,
    reset,
    send_messages,
    settled_counts,
    status_webhooks,
    wait_for_callbacks,
)

NAME = "pipeline"
#: The PostgreSQL deployment that scales out: one API (``--no-worker``) and this many workers.
SCALED_OUT_WORKERS = 2
SCALED_OUT = f"gateway, API + {SCALED_OUT_WORKERS} workers"
TENANT = Tenant("PIPESID", "PIPEWABA", "bench-pipeline-key", "15550004321", "PIPEPNID")
HOOKS = ROOT / "bench" / "hooks"
TIMEOUT = 600.0


@dataclass(frozen=True)
class Sizes:
    """How much traffic each measure sends."""

    sends: int
    batched_messages: int
    ack_messages: int
    ack_rounds: int
    paced_rate: float
    paced_seconds: float
    crash_messages: int


FULL = Sizes(3000, 3000, 1000, 3, 1000.0, 12.0, 1000)
QUICK = Sizes(300, 300, 100, 1, 200.0, 2.0, 100)
BEFORE = Sizes(1000, 600, 400, 3, 1000.0, 4.0, 0)


@dataclass
class Figures:
    """What one gateway did."""

    label: str
    database: str
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)


class Gateway:
    """One gateway deployment under test: its processes, its data, how to crash it."""

    def __init__(
        self,
        directory: Path,
        sandbox: Server,
        env: dict[str, str],
        source: str | None,
        workers: int = 1,
        separate: bool | None = None,
    ) -> None:
        self.directory = directory
        self._separate = separate
        self.counts = directory / "counts"
        self.counts.mkdir(parents=True)
        self.port = free_port()
        python_path = [str(HOOKS)] + ([source] if source else [])
        self.env = {
            **META_ENV,
            "WAGATE_DATA_DIR": str(directory / "data"),
            "WAGATE_PUBLIC_URL": f"http://{HOST}:{self.port}",
            "WAGATE_GRAPH_URL": sandbox.url,
            "WAGATE_CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8",
            "WAGATE_LOG_LEVEL": "WARNING",
            "WAGATE_BENCH_COUNTS_DIR": str(self.counts),
            "PYTHONPATH": os.pathsep.join(python_path),
            **env,
        }
        self.worker_count = workers
        self.api: Server | None = None
        self.worker: Server | None = None
        self.workers: list[Server] = []

    @property
    def separate_worker(self) -> bool:
        """Whether the workers are processes of their own (else children of the API):
        when more than one, unless told."""
        return self.worker_count > 1 if self._separate is None else self._separate

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def api_server(self) -> Server:
        """The API process, as the clients reach it."""
        assert self.api is not None
        return Server(self.api.process, self.url, self.api.log_path, self.env)

    def start(self) -> None:
        """Start the API (with its worker children, or beside separate workers)."""
        command = wagate_command("serve", "--host", HOST, "--port", str(self.port))
        if self.separate_worker:
            command.append("--no-worker")
        self.api = start_server(
            command, self.port, self.directory / "gateway.log", self.env, "/healthz"
        )
        if self.separate_worker:
            for _ in range(self.worker_count):
                self.start_worker()

    def start_worker(self) -> None:
        port = free_port()
        command = wagate_command("worker", "--host", HOST, "--port", str(port))
        self.worker = start_server(
            command, port, self.directory / "worker.log", self.env, "/healthz"
        )
        self.workers.append(self.worker)

    def crash(self) -> str:
        """SIGKILL what the crash measure kills; what that was."""
        if self.separate_worker:
            assert self.worker is not None
            kill_group(self.worker)
            return "the worker"
        assert self.api is not None
        kill_group(self.api)
        return "the whole gateway"

    def restart(self) -> None:
        if self.separate_worker:
            self.start_worker()
        else:
            self.start()

    def stop(self) -> None:
        for server in (*self.workers, self.api):
            if server is not None and server.process.poll() is None:
                stop_group(server)

    def log_tail(self) -> str:
        parts = []
        for name in ("gateway.log", "worker.log"):
            path = self.directory / name
            if path.exists():
                parts.append(f"{name}:\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)


@contextmanager
def deployed(
    directory: Path,
    sandbox: Server,
    env: dict[str, str],
    source: str | None,
    workers: int = 1,
    separate: bool | None = None,
) -> Iterator[Gateway]:
    """A started gateway with the bench tenant and its number; stopped on exit."""
    gateway = Gateway(directory, sandbox, env, source, workers, separate)
    try:
        gateway.start()
        create_tenant(gateway.env, TENANT.sid, TENANT.waba_id, TENANT.api_key)
        create_number(
            gateway.env, TENANT.sid, TENANT.waba_id, TENANT.number, TENANT.phone_number_id
        )
        yield gateway
    except BaseException:
        print(gateway.log_tail(), flush=True)
        raise
    finally:
        gateway.stop()


async def attach_profile(
    session: aiohttp.ClientSession, gateway: Gateway, receiver: Server
) -> None:
    """A POST profile with the default body (seed 002's fields) on the number."""
    headers = {"api-key": TENANT.api_key}
    status, answer = await send_json(
        session,
        "POST",
        f"{gateway.url}/v1/{TENANT.sid}/callback/profiles",
        {"title": "bench", "http_method": "POST", "url": f"{receiver.url}/callbacks"},
        headers,
    )
    if status not in (200, 201):
        raise BenchmarkFailed(f"creating the profile answered {status} {answer}")
    status, answer = await send_json(
        session,
        "PATCH",
        f"{gateway.url}/v2/{TENANT.sid}/whatsapp/{TENANT.waba_id}/numbers/{TENANT.number}",
        {"callback_profile_id": answer["data"]["profile_id"]},
        headers,
    )
    if status != 200:
        raise BenchmarkFailed(f"attaching the profile answered {status} {answer}")


async def measure(
    gateway: Gateway,
    sandbox: Server,
    receiver: Server,
    bare: Server,
    sizes: Sizes,
    figures: Figures,
) -> None:
    async with client_session(1024, TIMEOUT) as session:
        await attach_profile(session, gateway, receiver)
        await measure_sends(session, gateway, sandbox, sizes, figures)
        await measure_batched(session, gateway, receiver, sizes, figures)
        await measure_acks(session, gateway, receiver, bare, sizes, figures)
        await measure_paced(session, gateway, receiver, sizes, figures)
        if sizes.crash_messages:
            await measure_crash(session, gateway, receiver, sizes, figures)


async def measure_sends(
    session: aiohttp.ClientSession,
    gateway: Gateway,
    sandbox: Server,
    sizes: Sizes,
    figures: Figures,
) -> None:
    _, seconds = await send_messages(session, gateway.api_server(), TENANT, sizes.sends, 32)
    url = f"{sandbox.url}/v21.0/{TENANT.phone_number_id}/messages"
    direct = await post_burst(session, url, [meta_send_request(i) for i in range(sizes.sends)], 32)
    if set(direct.statuses) != {200}:
        raise BenchmarkFailed(f"the sandbox answered {set(direct.statuses)}")
    figures.rows["sends"] = {
        "count": sizes.sends,
        "gateway": sizes.sends / seconds,
        "baseline": direct.per_second,
    }


async def measure_batched(
    session: aiohttp.ClientSession,
    gateway: Gateway,
    receiver: Server,
    sizes: Sizes,
    figures: Figures,
) -> None:
    sent, _ = await send_messages(session, gateway.api_server(), TENANT, sizes.batched_messages, 32)
    waves = status_webhooks(TENANT, sent, 100)
    await reset(session, receiver)
    statements, cpu = await settled_counts(gateway.counts)
    started = time.time()
    burst = await post_waves(session, gateway.url + "/webhooks/meta", waves, 4)
    if set(burst.statuses) != {200}:
        raise BenchmarkFailed(f"batched webhooks answered {set(burst.statuses)}")
    arrivals = await wait_for_callbacks(session, receiver, expected_callbacks(sent), TIMEOUT)
    finished = max(arrivals.first.values(), default=started)
    after_statements, after_cpu = await settled_counts(gateway.counts)
    count = len(sent) * 3
    body = 300
    baseline = await post_burst(
        session,
        receiver.url + "/baseline",
        [(b'{"' + b"x" * (body - 6) + b'":""}', {"Content-Type": "application/json"})] * count,
        PER_ENDPOINT,
    )
    figures.rows["batched"] = {
        "statuses": count,
        "seconds": finished - started,
        "gateway": count / (finished - started),
        "baseline": baseline.per_second,
        "cpu_per_1000": (after_cpu - cpu) / count * 1000,
        "statements_per_status": (after_statements - statements) / count,
        **arrivals.faults(),
    }


async def measure_acks(
    session: aiohttp.ClientSession,
    gateway: Gateway,
    receiver: Server,
    bare: Server,
    sizes: Sizes,
    figures: Figures,
) -> None:
    """Acks in ``sizes.ack_rounds`` rounds, each with messages of its own and the bare
    server's baseline right after: one burst lasts about a second, and what else the
    machine does in that second moves it by a third either way. The round with the
    median ratio is reported, with the range of all of them."""
    rounds = [
        await _ack_round(session, gateway, receiver, bare, sizes.ack_messages)
        for _ in range(sizes.ack_rounds)
    ]
    ratios = sorted((r["gateway"] / r["baseline"], index) for index, r in enumerate(rounds))
    figures.rows["acks"] = {
        **rounds[ratios[len(ratios) // 2][1]],
        "rounds": len(rounds),
        "lowest": ratios[0][0],
        "highest": ratios[-1][0],
        **{fault: sum(r[fault] for r in rounds) for fault in ("twice", "out_of_order", "missing")},
    }


async def _ack_round(
    session: aiohttp.ClientSession,
    gateway: Gateway,
    receiver: Server,
    bare: Server,
    messages: int,
) -> dict[str, Any]:
    sent, _ = await send_messages(session, gateway.api_server(), TENANT, messages, 32)
    waves = status_webhooks(TENANT, sent, 1)
    await reset(session, receiver)
    started = time.time()
    burst = await post_waves(session, gateway.url + "/webhooks/meta", waves, 64)
    if set(burst.statuses) != {200}:
        raise BenchmarkFailed(f"webhooks answered {set(burst.statuses)}")
    arrivals = await wait_for_callbacks(session, receiver, expected_callbacks(sent), TIMEOUT)
    baseline = await post_waves(session, bare.url + "/webhooks/meta", waves, 64)
    return {
        "webhooks": len(burst.statuses),
        "gateway": burst.per_second,
        "p50": percentile(burst.latencies, 0.5),
        "p99": percentile(burst.latencies, 0.99),
        "baseline": baseline.per_second,
        "baseline_p99": percentile(baseline.latencies, 0.99),
        "all_delivered_after": max(arrivals.first.values(), default=started) - started,
        **arrivals.faults(),
    }


async def measure_paced(
    session: aiohttp.ClientSession,
    gateway: Gateway,
    receiver: Server,
    sizes: Sizes,
    figures: Figures,
) -> None:
    messages = int(sizes.paced_rate * sizes.paced_seconds / 3)
    sent, _ = await send_messages(session, gateway.api_server(), TENANT, messages, 32)
    await reset(session, receiver)
    paced = await post_paced(
        session, gateway.url + "/webhooks/meta", TENANT, sent, sizes.paced_rate
    )
    if paced.failures:
        raise BenchmarkFailed(f"{paced.failures} paced webhooks were not acknowledged")
    arrivals = await wait_for_callbacks(session, receiver, expected_callbacks(sent), TIMEOUT)
    figures.rows["paced"] = {"webhooks": len(paced.acked), **paced_figures(paced, arrivals)}


async def measure_crash(
    session: aiohttp.ClientSession,
    gateway: Gateway,
    receiver: Server,
    sizes: Sizes,
    figures: Figures,
) -> None:
    sent, _ = await send_messages(session, gateway.api_server(), TENANT, sizes.crash_messages, 32)
    await reset(session, receiver)
    total = len(sent) * 3
    crashed: dict[str, Any] = {}

    async def crash_midway(posted: int) -> None:
        if not crashed and posted >= total * 0.4:
            crashed["at"] = posted
            crashed["what"] = await asyncio.to_thread(gateway.crash)
            crashed["restart"] = asyncio.create_task(asyncio.to_thread(gateway.restart))

    paced = await post_paced(
        session,
        gateway.url + "/webhooks/meta",
        TENANT,
        sent,
        sizes.paced_rate,
        on_progress=crash_midway,
        retry_for=120.0,
    )
    await crashed["restart"]
    if len(paced.acked) != total:
        raise BenchmarkFailed(f"only {len(paced.acked)} of {total} webhooks were acknowledged")
    arrivals = await wait_for_callbacks(session, receiver, expected_callbacks(sent), TIMEOUT)
    figures.rows["crash"] = {
        "webhooks": total,
        "killed": crashed["what"],
        "killed_at": crashed["at"],
        "retried": paced.failures,
        "arrived": len(arrivals.first),
        **arrivals.faults(),
    }


def measure_variant(
    directory: Path,
    label: str,
    database: str,
    env: dict[str, str],
    sizes: Sizes,
    source: str | None,
    workers: int = 1,
) -> Figures:
    figures = Figures(label, database)
    directory.mkdir(parents=True)
    with (
        sandbox_and_receiver(directory) as (sandbox, receiver),
        running_receiver(directory / "bare.log") as bare,
        deployed(directory / "gateway", sandbox, env, source, workers) as gateway,
    ):
        asyncio.run(measure(gateway, sandbox, receiver, bare, sizes, figures))
    return figures


def run(workdir: Path, quick: bool) -> str:
    """Measure every database (and a version named by ``BENCH_BEFORE_SOURCE``), each run
    on a database of its own."""
    sizes = QUICK if quick else FULL
    before = os.environ.get("BENCH_BEFORE_SOURCE")
    plans: list[tuple[str, Sizes, str | None, int]] = [
        ("gateway", sizes, None, 1),
        (SCALED_OUT, sizes, None, SCALED_OUT_WORKERS),
    ]
    if before:
        plans.append(("before", QUICK if quick else BEFORE, before, 1))
    runs: list[Figures] = []
    left_out: str | None = None
    with scratch_directory(workdir, NAME) as directory:
        for label, size, source, workers in plans:
            with databases() as (variants, skipped):
                left_out = skipped
                for database, env in variants.items():
                    if workers > 1 and database != "PostgreSQL":
                        continue
                    place = directory / f"{label}-{database}".replace(" ", "-").replace(",", "")
                    runs.append(measure_variant(place, label, database, env, size, source, workers))
        return section(
            runs,
            left_out,
            {label: size for label, size, _, _ in plans if label != SCALED_OUT},
            __doc__,
        )
