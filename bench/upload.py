"""Upload ingest: a 100 MiB file posted to a real gateway, against writing it to the same disk.

The baseline writes the file's bytes from memory in 1 MiB writes and fsyncs,
the least any durable store of it costs. The gateway then takes the same
file through ``/v2/{sid}/whatsapp/{waba}/resumable_media``: parse the
multipart stream, hash and write the file part, fsync, rename, commit a row,
answer 202. Every upload is checked (202, stored size and sha256).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.clients import (
    Posted,
    client_session,
    get_json,
    post_form_data,
    post_streamed,
    post_with_curl,
)
from bench.processes import (
    Memory,
    Server,
    cpu_seconds,
    create_tenant,
    memory_of,
    running_gateway,
    scratch_directory,
)
from bench.report import MIB, mb_per_second, median, mib, table

NAME = "upload"

SID, WABA_ID, API_KEY = "BENCHSID", "BENCHWABA", "bench-upload-key"
MEDIA_TYPE = "image/png"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WRITE_CHUNK = MIB
FULL_SIZE, FULL_REPEATS = 100 * MIB, 3
QUICK_SIZE, QUICK_REPEATS = 10 * MIB, 1


class BenchmarkFailed(RuntimeError):
    """An upload was not accepted or not stored as sent: the figures would mean nothing."""


def make_png(path: Path, size: int) -> str:
    """Write ``size`` bytes that start like a PNG (then random) to ``path``; their sha256."""
    sha = hashlib.sha256()
    with path.open("wb") as file:
        remaining = size
        block = PNG_SIGNATURE
        while remaining > 0:
            block = block[:remaining]
            sha.update(block)
            file.write(block)
            remaining -= len(block)
            block = os.urandom(min(remaining, 4 * MIB))
    return sha.hexdigest()


@dataclass(frozen=True)
class Timing:
    """One run: wall time, and CPU time of the server (None for none) and of the client."""

    label: str
    seconds: float
    server_cpu: float | None
    client_cpu: float


def raw_write(data: bytes, path: Path, label: str) -> Timing:
    """Write ``data`` to a new file in 1 MiB unbuffered writes, fsync, close, and delete it."""
    view = memoryview(data)
    started, cpu = time.perf_counter(), time.process_time()
    with path.open("wb", buffering=0) as file:
        for offset in range(0, len(view), WRITE_CHUNK):
            file.write(view[offset : offset + WRITE_CHUNK])
        os.fsync(file.fileno())
    timing = Timing(label, time.perf_counter() - started, None, time.process_time() - cpu)
    path.unlink()
    return timing


@dataclass
class GatewayRun:
    """What the gateway did with the uploads, and its memory around them."""

    timed: list[Timing]
    other_clients: list[Timing]
    before: Memory
    after: Memory


class _Checker:
    """Checks each answer, the stored record and the file on disk."""

    def __init__(self, server: Server, size: int, sha256: str) -> None:
        self.endpoint = endpoint(server)
        self.media_dir = Path(server.env["WAGATE_DATA_DIR"]) / "media"
        self.size, self.sha256 = size, sha256
        self.seen: set[Path] = set()

    def _stored_files(self) -> set[Path]:
        return {path for path in self.media_dir.rglob("*") if path.is_file()}

    async def check(self, session: aiohttp.ClientSession, posted: Posted) -> Posted:
        """Raise :class:`BenchmarkFailed` unless ``posted`` was accepted and stored whole."""
        if posted.status != 202:
            raise BenchmarkFailed(f"{posted.client}: HTTP {posted.status} {posted.body}")
        upload_id = posted.body.get("data", {}).get("id")
        status, record = await get_json(session, f"{self.endpoint}?id={upload_id}", API_KEY)
        data = record.get("data", {})
        if status != 200 or data.get("size") != self.size or data.get("sha256") != self.sha256:
            raise BenchmarkFailed(f"{posted.client}: stored record is wrong: {status} {record}")
        new = self._stored_files() - self.seen
        sizes = sorted(path.stat().st_size for path in new)
        if sizes != [self.size]:
            raise BenchmarkFailed(f"{posted.client}: expected one new file, found sizes {sizes}")
        self.seen |= new
        return posted


def endpoint(server: Server) -> str:
    """The resumable-media URL of the benchmark tenant."""
    return f"{server.url}/v2/{SID}/whatsapp/{WABA_ID}/resumable_media"


async def _post_all(server: Server, source: Path, sha256: str, repeats: int) -> GatewayRun:
    url = endpoint(server)
    checker = _Checker(server, source.stat().st_size, sha256)
    async with client_session(1, 300) as session:

        async def timed(label: str, post: Awaitable[Posted]) -> Timing:
            server_cpu = cpu_seconds(server.pid)
            posted = await post
            server_cpu = cpu_seconds(server.pid) - server_cpu
            await checker.check(session, posted)
            return Timing(label, posted.seconds, server_cpu, posted.client_cpu)

        async with session.get(server.url + "/healthz") as answer:  # opens the connection
            await answer.read()
        before = memory_of(server.pid)
        streamed = [
            await timed(
                f"gateway upload {i + 1}, aiohttp, streamed body",
                post_streamed(session, url, API_KEY, source, MEDIA_TYPE),
            )
            for i in range(repeats)
        ]
        others = [
            await timed(
                "gateway upload, aiohttp.FormData",
                post_form_data(session, url, API_KEY, source, MEDIA_TYPE),
            ),
            await timed(
                "gateway upload, curl -F",
                asyncio.to_thread(post_with_curl, url, API_KEY, source, MEDIA_TYPE),
            ),
        ]
        after = memory_of(server.pid)
    return GatewayRun(streamed, others, before, after)


def measure_gateway(workdir: Path, source: Path, sha256: str, repeats: int) -> GatewayRun:
    """Start a gateway on SQLite in ``workdir``, make a tenant, and post ``source``."""
    env = {"WAGATE_UPLOAD_RATE_LIMIT": "1000"}
    with running_gateway(workdir / "data", workdir / "gateway.log", env) as server:
        try:
            create_tenant(server.env, SID, WABA_ID, API_KEY)
            return asyncio.run(_post_all(server, source, sha256, repeats))
        except BaseException:
            print(f"the gateway's log:\n{server.log()[-4000:]}", file=sys.stderr)
            raise


def _row(size: int, timing: Timing) -> list[object]:
    server = "–" if timing.server_cpu is None else f"{timing.server_cpu:.2f}"
    mbs = mb_per_second(size, timing.seconds)
    return [timing.label, f"{timing.seconds:.3f}", f"{mbs:.0f}", server, f"{timing.client_cpu:.2f}"]


def _summary(size: int, raw: list[Timing], gateway: GatewayRun) -> list[list[object]]:
    raw_median = median([mb_per_second(size, timing.seconds) for timing in raw])
    gateway_median = median([mb_per_second(size, timing.seconds) for timing in gateway.timed])
    on_cpu = median([(timing.server_cpu or 0.0) / timing.seconds for timing in gateway.timed])
    growth = gateway.after.hwm - gateway.before.rss
    return [
        ["raw disk write, median MB/s", f"{raw_median:.0f}"],
        ["gateway upload (aiohttp, streamed body), median MB/s", f"{gateway_median:.0f}"],
        ["**ratio gateway / raw disk**", f"**{gateway_median / raw_median:.2f}×**"],
        ["server CPU time / wall time during an upload, median", f"{on_cpu:.0%}"],
        ["server RSS just before the first upload (VmRSS)", mib(gateway.before.rss)],
        ["server peak RSS before the first upload (VmHWM)", mib(gateway.before.hwm)],
        ["server peak RSS after all uploads (VmHWM)", mib(gateway.after.hwm)],
        ["peak RSS growth over the RSS before the first upload", mib(growth)],
    ]


def _section(size: int, raw: list[Timing], gateway: GatewayRun) -> str:
    runs = [_row(size, timing) for timing in [*raw, *gateway.timed, *gateway.other_clients]]
    return "\n\n".join(
        [
            f"## Upload ingest ({mib(size)} PNG)",
            f"How fast a real `wagate serve` (SQLite, worker on, client on the same machine "
            f"over loopback) takes one {size:,}-byte file through "
            "`POST /v2/{sid}/whatsapp/{waba}/resumable_media`, timed from the first byte "
            "sent to the 202 read and each upload checked for its 202, stored size and "
            "sha256, against the baseline of writing the same bytes from memory to a new "
            "file in the same directory in 1 MiB writes followed by fsync; "
            f"{len(raw)} of each, medians compared, then one upload each with "
            "`aiohttp.FormData` and `curl -F` (timed by curl from pretransfer to the end). "
            "CPU columns are user + system seconds of the server process (all threads) and "
            "of the client (the benchmark process; the whole curl process for curl).",
            table(["run", "seconds", "MB/s", "server CPU s", "client CPU s"], runs),
            table(["figure", "value"], _summary(size, raw, gateway)),
        ]
    )


def run(workdir: Path, quick: bool) -> str:
    """Measure raw disk writes and gateway uploads of one file; the markdown section."""
    size, repeats = (QUICK_SIZE, QUICK_REPEATS) if quick else (FULL_SIZE, FULL_REPEATS)
    with scratch_directory(workdir, NAME) as directory:
        source = directory / "image.png"
        sha256 = make_png(source, size)
        data = source.read_bytes()
        raw = [
            raw_write(data, directory / f"raw-{i}.bin", f"raw disk write {i + 1} (baseline)")
            for i in range(repeats)
        ]
        del data
        gateway = measure_gateway(directory, source, sha256, repeats)
        return _section(size, raw, gateway)
