"""Transfer to Meta: a 100 MiB upload sent by the worker to the Meta sandbox, against a plain POST.

The baseline opens an upload session on the same sandbox and POSTs the
file's bytes to it with aiohttp, once as one body and once in chunks of the
gateway's ``WAGATE_TRANSFER_CHUNK_BYTES``. The gateway takes the same file
through its API; the time runs from its 202 until ``GET …resumable_media?id=``
(polled every 20 ms) says UPLOADED. Then the connection is cut half-way
through a transfer and the bytes Meta received twice and the time to
UPLOADED are compared with the same transfer uncut. What Meta holds is
checked every time (complete, sha256, handle).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from bench.clients import client_session, get_json, poll, post_streamed, read_range, send_json
from bench.processes import (
    META_ENV,
    Server,
    cpu_seconds,
    create_tenant,
    running_gateway,
    running_sandbox,
    scratch_directory,
)
from bench.report import MIB, mb_per_second, median, mib, table
from bench.upload import BenchmarkFailed, make_png
from wagate.settings import Settings

NAME = "transfer"

SID, WABA_ID, API_KEY = "BENCHSID", "BENCHWABA", "bench-transfer-key"
MEDIA_TYPE = "image/png"
FULL_SIZE, FULL_REPEATS = 100 * MIB, 3
QUICK_SIZE, QUICK_REPEATS = 10 * MIB, 1
POLL_SECONDS = 0.02
#: While waiting for the chunk that holds the file's midpoint, Meta answers this slowly.
HOLD_DELAY_MS = 300
TIMEOUT = 300.0


@dataclass(frozen=True)
class Direct:
    """A baseline run: the file POSTed straight to the sandbox."""

    label: str
    seconds: float
    requests: int


@dataclass(frozen=True)
class Transfer:
    """A gateway run: 202 to UPLOADED, and the sandbox's view of the session."""

    label: str
    seconds: float
    pickup: float
    at_sandbox: float
    gateway_cpu: float
    sandbox_cpu: float
    requests: int


@dataclass(frozen=True)
class HeldTransfer:
    """A transfer held before the chunk holding the midpoint, then released, cut or not."""

    cut_after: int | None
    released_at_offset: int
    seconds: float
    resent: int
    requests: int
    offset_reads: int


class _Sandbox:
    """The sandbox's Graph endpoints and controls, over one client session."""

    def __init__(self, server: Server, session: aiohttp.ClientSession) -> None:
        self.server, self.session = server, session
        self.root = f"{server.url}/{Settings().graph_version}"
        self.auth = {"Authorization": f"OAuth {META_ENV['WAGATE_META_ACCESS_TOKEN']}"}

    async def arm(self, **faults: int) -> None:
        status, body = await send_json(
            self.session, "POST", self.server.url + "/_sandbox/faults", faults
        )
        if status != 200:
            raise BenchmarkFailed(f"arming {faults} answered {status} {body}")

    async def session_of(self, file_name: str) -> dict[str, Any] | None:
        status, body = await send_json(self.session, "GET", self.server.url + "/_sandbox/sessions")
        found = [s for s in body.get("data", []) if s.get("file_name") == file_name]
        if status != 200 or len(found) > 1:
            raise BenchmarkFailed(f"sessions for {file_name}: {status} {found}")
        return found[0] if found else None

    async def open_session(self, file_name: str, size: int) -> str:
        query = f"file_name={quote(file_name)}&file_length={size}&file_type={quote(MEDIA_TYPE)}"
        url = f"{self.root}/{META_ENV['WAGATE_META_APP_ID']}/uploads?{query}"
        status, body = await send_json(self.session, "POST", url, headers=self.auth)
        if status != 200 or not isinstance(body.get("id"), str):
            raise BenchmarkFailed(f"opening a session answered {status} {body}")
        return str(body["id"])

    async def post_range(self, session_id: str, path: Path, offset: int, length: int) -> None:
        headers = {**self.auth, "file_offset": str(offset), "Content-Length": str(length)}
        body = read_range(path, offset, length)
        async with self.session.post(f"{self.root}/{session_id}", data=body, headers=headers) as a:
            answer = await a.json()
        if a.status != 200 or not (answer.get("h") or answer.get("file_offset") == offset + length):
            raise BenchmarkFailed(f"POST at {offset} answered {a.status} {answer}")


def _check_complete(session: dict[str, Any] | None, size: int, sha256: str) -> dict[str, Any]:
    if session is None or not session["complete"] or session["sha256"] != sha256:
        raise BenchmarkFailed(f"Meta does not hold the file ({size} bytes, {sha256}): {session}")
    if session["file_length"] != size or not str(session["handle"]).startswith("4:"):
        raise BenchmarkFailed(f"the session is wrong: {session}")
    return session


async def direct_post(
    sandbox: _Sandbox, path: Path, sha256: str, label: str, chunk: int | None
) -> Direct:
    """Open a session and POST the file to it, whole (``chunk`` None) or chunk by chunk."""
    size = path.stat().st_size
    name = f"direct-{time.monotonic_ns()}.png"
    session_id = await sandbox.open_session(name, size)
    step = chunk or size
    started = time.perf_counter()
    for offset in range(0, size, step):
        await sandbox.post_range(session_id, path, offset, min(step, size - offset))
    seconds = time.perf_counter() - started
    session = _check_complete(await sandbox.session_of(name), size, sha256)
    return Direct(label, seconds, int(session["requests"]))


class _Gateway:
    """The gateway's upload API, and what it says of an upload."""

    def __init__(self, server: Server, session: aiohttp.ClientSession) -> None:
        self.server, self.session = server, session
        self.endpoint = f"{server.url}/v2/{SID}/whatsapp/{WABA_ID}/resumable_media"

    async def accept(self, path: Path) -> str:
        posted = await post_streamed(self.session, self.endpoint, API_KEY, path, MEDIA_TYPE)
        if posted.status != 202:
            raise BenchmarkFailed(f"upload answered {posted.status} {posted.body}")
        return str(posted.body["data"]["id"])

    async def uploaded(self, upload_id: str, sha256: str) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            status, body = await get_json(self.session, f"{self.endpoint}?id={upload_id}", API_KEY)
            record: dict[str, Any] = body.get("data", {})
            if status != 200 or record.get("status") == "FAILED":
                raise BenchmarkFailed(f"upload {upload_id}: {status} {body}")
            return record if record.get("status") == "UPLOADED" else None

        record = await poll(check, every=POLL_SECONDS, timeout=TIMEOUT, what="UPLOADED")
        if record.get("sha256") != sha256:
            raise BenchmarkFailed(f"upload {upload_id} has the wrong sha256: {record}")
        return record


def _sandbox_log_times(log: str, session_id: str) -> dict[str, float]:
    """When the sandbox opened and completed a session, from its JSON log, in epoch seconds."""
    times: dict[str, float] = {}
    for line in log.splitlines():
        if session_id not in line or not line.startswith("{"):
            continue
        entry = json.loads(line)
        if entry.get("id") == session_id:
            times[entry["event"]] = datetime.fromisoformat(entry["timestamp"]).timestamp()
    return times


async def gateway_transfer(
    gateway: _Gateway, sandbox: _Sandbox, path: Path, sha256: str, label: str
) -> Transfer:
    """Upload ``path`` through the gateway and time its transfer from the 202 to UPLOADED."""
    upload_id = await gateway.accept(path)
    accepted_at, started = time.time(), time.perf_counter()
    cpu = cpu_seconds(gateway.server.pid), cpu_seconds(sandbox.server.pid)
    record = await gateway.uploaded(upload_id, sha256)
    seconds = time.perf_counter() - started
    gateway_cpu = cpu_seconds(gateway.server.pid) - cpu[0]
    sandbox_cpu = cpu_seconds(sandbox.server.pid) - cpu[1]
    session = _check_complete(await sandbox.session_of(path.name), record["size"], sha256)
    if record.get("uploaded_file_handle") != session["handle"]:
        raise BenchmarkFailed(f"the gateway's handle is not Meta's: {record} {session}")
    times = _sandbox_log_times(sandbox.server.log(), session["id"])
    opened, completed = times["sandbox.session.start"], times["sandbox.session.complete"]
    return Transfer(
        label,
        seconds,
        opened - accepted_at,
        completed - opened,
        gateway_cpu,
        sandbox_cpu,
        int(session["requests"]),
    )


async def held_transfer(
    gateway: _Gateway, sandbox: _Sandbox, path: Path, sha256: str, chunk: int, cut: bool
) -> HeldTransfer:
    """Hold a transfer before the chunk holding the midpoint, release it (cut there or not).

    Meta answers every chunk slowly until the session holds the bytes before
    that chunk; then the delay is lifted (and, with ``cut``, the next body is
    cut at the midpoint, the connection dropped). Timed from the 202 to
    UPLOADED, so the held answers count the same with and without the cut.
    """
    size = path.stat().st_size
    held_at = (size // 2 // chunk) * chunk
    cut_after = size // 2 - held_at
    await sandbox.arm(delay_ms=HOLD_DELAY_MS)
    upload_id = await gateway.accept(path)
    started = time.perf_counter()

    async def reached() -> dict[str, Any] | None:
        session = await sandbox.session_of(path.name)
        return session if session is not None and session["file_offset"] >= held_at else None

    before = await poll(reached, every=0.01, timeout=TIMEOUT, what=f"{held_at} bytes at Meta")
    await sandbox.arm(delay_ms=0, **({"cut_after_bytes": cut_after} if cut else {}))
    after = await sandbox.session_of(path.name)
    if before["file_offset"] != held_at or after is None or after["file_offset"] != held_at:
        raise BenchmarkFailed(f"missed the window before offset {held_at}: {before} {after}")
    await gateway.uploaded(upload_id, sha256)
    seconds = time.perf_counter() - started
    session = _check_complete(await sandbox.session_of(path.name), size, sha256)
    return HeldTransfer(
        cut_after if cut else None,
        held_at,
        seconds,
        int(session["bytes_received"]) - size,
        int(session["requests"]),
        int(session["offset_reads"]),
    )


@dataclass
class Results:
    """Everything measured in one run."""

    size: int
    chunk: int
    direct: list[Direct]
    chunked: list[Direct]
    transfers: list[Transfer]
    held: list[HeldTransfer]


async def _measure(
    gateway_server: Server, sandbox_server: Server, files: list[Path], sha256: str, chunk: int
) -> Results:
    size = files[0].stat().st_size
    async with client_session(total_timeout=TIMEOUT) as session:
        sandbox, gateway = _Sandbox(sandbox_server, session), _Gateway(gateway_server, session)
        repeats = len(files) - 2
        direct = [
            await direct_post(sandbox, files[0], sha256, f"direct POST {i + 1}, one body", None)
            for i in range(repeats)
        ]
        chunked = [
            await direct_post(sandbox, files[0], sha256, f"direct POSTs {i + 1}, chunked", chunk)
            for i in range(repeats)
        ]
        transfers = [
            await gateway_transfer(gateway, sandbox, path, sha256, f"gateway transfer {i + 1}")
            for i, path in enumerate(files[:repeats])
        ]
        held = [
            await held_transfer(gateway, sandbox, files[-2], sha256, chunk, cut=False),
            await held_transfer(gateway, sandbox, files[-1], sha256, chunk, cut=True),
        ]
    return Results(size, chunk, direct, chunked, transfers, held)


def measure(directory: Path, source: Path, sha256: str, repeats: int) -> Results:
    """Start a sandbox and a gateway (SQLite) that uses it; run every measurement."""
    chunk = Settings().transfer_chunk_bytes
    files = []
    for index in range(repeats + 2):
        files.append(directory / f"transfer-{index}.png")
        os.link(source, files[-1])
    sandbox_dir = directory / "sandbox"
    sandbox_dir.mkdir()
    env = {
        **META_ENV,
        "WAGATE_UPLOAD_RATE_LIMIT": "1000",
        "WAGATE_TRANSFER_CHUNK_BYTES": str(chunk),
    }
    with running_sandbox(sandbox_dir) as sandbox:
        env["WAGATE_GRAPH_URL"] = sandbox.url
        with running_gateway(directory / "data", directory / "gateway.log", env) as gateway:
            try:
                create_tenant(gateway.env, SID, WABA_ID, API_KEY)
                return asyncio.run(_measure(gateway, sandbox, files, sha256, chunk))
            except BaseException:
                print(f"the gateway's log:\n{gateway.log()[-4000:]}", file=sys.stderr)
                print(f"the sandbox's log:\n{sandbox.log()[-4000:]}", file=sys.stderr)
                raise


def _section(results: Results) -> str:
    size, chunk = results.size, results.chunk
    rows: list[list[object]] = [
        [run.label, f"{run.seconds:.3f}", f"{mb_per_second(size, run.seconds):.0f}", run.requests]
        for run in [*results.direct, *results.chunked]
    ]
    rows += [
        [t.label, f"{t.seconds:.3f}", f"{mb_per_second(size, t.seconds):.0f}", t.requests]
        for t in results.transfers
    ]
    detail = [
        [
            t.label,
            f"{t.pickup:.3f}",
            f"{t.at_sandbox:.3f}",
            f"{t.gateway_cpu:.2f}",
            f"{t.sandbox_cpu:.2f}",
        ]
        for t in results.transfers
    ]
    held = [
        [
            "cut at 50 %" if h.cut_after is not None else "not cut",
            f"{h.released_at_offset:,}",
            "–" if h.cut_after is None else f"{h.cut_after:,}",
            f"{h.seconds:.3f}",
            f"{h.resent:,}",
            h.requests,
            h.offset_reads,
        ]
        for h in results.held
    ]
    direct = median([mb_per_second(size, r.seconds) for r in results.direct])
    chunked = median([mb_per_second(size, r.seconds) for r in results.chunked])
    gateway = median([mb_per_second(size, t.seconds) for t in results.transfers])
    at_sandbox = median([mb_per_second(size, t.at_sandbox) for t in results.transfers])
    uncut, cut = results.held
    summary = [
        ["direct POST, one body, median MB/s", f"{direct:.0f}"],
        [f"direct POSTs of {mib(chunk)}, median MB/s", f"{chunked:.0f}"],
        ["gateway, 202 to UPLOADED, median MB/s", f"{gateway:.0f}"],
        ["gateway, session opened to last byte at the sandbox, median MB/s", f"{at_sandbox:.0f}"],
        ["**ratio gateway / direct POST (one body)**", f"**{gateway / direct:.2f}×**"],
        [f"**ratio gateway / direct POSTs of {mib(chunk)}**", f"**{gateway / chunked:.2f}×**"],
        ["bytes Meta received twice after the cut at 50 %", f"{cut.resent:,}"],
        ["extra time to UPLOADED caused by the cut", f"{cut.seconds - uncut.seconds:.3f} s"],
    ]
    return "\n\n".join(
        [
            f"## Transfer to Meta ({mib(size)} PNG, chunks of {mib(chunk)})",
            f"How fast the worker of a real `wagate serve` (SQLite) sends an accepted "
            f"{size:,}-byte upload to `wagate sandbox` (standing in for Meta's Resumable "
            f"Upload API on 127.0.0.1) with `WAGATE_TRANSFER_CHUNK_BYTES={chunk}`, timed from "
            "the 202 until `GET …/resumable_media?id=`, polled every 20 ms, says UPLOADED; "
            "against the baseline of aiohttp POSTing the same file from the same disk to an "
            "upload session of the same sandbox, as one body with `file_offset: 0` and as "
            f"chunks of the same size one after the other ({len(results.direct)} of each, "
            "medians compared). Every transfer is checked: the sandbox's session is complete "
            "with the file's sha256, and the gateway's handle is the sandbox's.",
            table(["run", "seconds", "MB/s", "POSTs to the sandbox"], rows),
            "Where a gateway transfer's time goes: from the 202 to the sandbox opening the "
            "upload session (the worker claiming the job; from the sandbox's log), from the "
            "session opened to its last byte stored, and the CPU seconds of the gateway and "
            "the sandbox processes from the 202 to UPLOADED.",
            table(
                [
                    "run",
                    "202 to session opened s",
                    "opened to last byte s",
                    "gateway CPU s",
                    "sandbox CPU s",
                ],
                detail,
            ),
            "A connection cut half-way: the sandbox answers each chunk "
            f"{HOLD_DELAY_MS} ms late until it holds the bytes before the chunk that contains "
            "the file's midpoint, then answers at once again; in the second run that next "
            "chunk's body is also cut at the midpoint and the connection dropped without an "
            "answer. Both runs are timed from the 202 to UPLOADED, so both include the same "
            "late answers and only their difference is the cost of the cut (the worker backs "
            "off before it asks Meta for its offset and resumes from there). Bytes received "
            "twice are the sandbox's `bytes_received` minus the file size.",
            table(
                [
                    "run",
                    "released at offset",
                    "cut after bytes",
                    "202 to UPLOADED s (held)",
                    "bytes received twice",
                    "POSTs",
                    "offset reads",
                ],
                held,
            ),
            table(["figure", "value"], summary),
        ]
    )


def run(workdir: Path, quick: bool) -> str:
    """Measure direct POSTs and gateway transfers of one file to the sandbox; the section."""
    size, repeats = (QUICK_SIZE, QUICK_REPEATS) if quick else (FULL_SIZE, FULL_REPEATS)
    with scratch_directory(workdir, NAME) as directory:
        source = directory / "image.png"
        sha256 = make_png(source, size)
        return _section(measure(directory, source, sha256, repeats))
