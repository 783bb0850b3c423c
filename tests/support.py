"""Helpers the test tiers share: free ports, real processes, PostgreSQL databases."""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import text

POSTGRES_ADMIN_DSN = os.environ.get(
    "WAGATE_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)


T = TypeVar("T")


class _KeepsNoCookies(http.cookiejar.CookieJar):
    """Each request with only the cookies it is given, as if sent by a client of its own."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


#: The client of every request a test makes to the processes it started. ``httpx.get``
#: and its like build a client, and its TLS context, for each request: some 25 ms of CPU
#: taken from those processes, every 50 ms while a test polls them. Neither connections
#: nor cookies are kept: tests stop servers and start others, and requests are separate.
local_http = httpx.Client(
    limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
    cookies=_KeepsNoCookies(),
)

#: How long a test waits for what should happen soon (a callback, a status, a purge). A wait
#: ends as soon as it is met, so the limit only matters on a failure or a loaded machine:
#: it is generous, for two cores shared by several test processes and their servers.
PATIENCE = 120.0

#: A raw write of a second account, for tests that hold a writing transaction open.
SECOND_ACCOUNT_INSERT = text(
    "INSERT INTO accounts (sid, company_id, api_key_hash, whatsapp_enabled, created_at) "
    "VALUES ('SID2', 'C2', 'x', 1, '2026-01-01 00:00:00')"
)


def wait_until(check: Callable[[], T | None], timeout: float, what: str, every: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wagate_command(*args: str) -> list[str]:
    """The command line that runs ``wagate`` with this interpreter."""
    return [sys.executable, "-m", "wagate", *args]


@dataclass
class RunningProcess:
    """A real process started by a test, with the URL it serves on."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout``; the exit code. Whatever it started
        and left behind is killed too."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL to the process and its children (a gateway's worker): a crash, as far
        as they can tell."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def start_process(
    args: list[str],
    *,
    env: Mapping[str, str],
    port: int,
    log_path: Path,
    ready_path: str = "/healthz",
    ready_status: int | None = None,
    timeout: float = 120.0,
) -> RunningProcess:
    """Start a server process and wait until ``ready_path`` answers (``ready_status``, or
    anything below 500)."""
    full_env = {**os.environ, **env}
    log_file = open(log_path, "ab")  # noqa: SIM115 - the process writes it until stopped
    process = subprocess.Popen(
        args, env=full_env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
    )
    log_file.close()
    running = RunningProcess(process, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{args} exited with {process.returncode}:\n{running.log()}")
        with contextlib.suppress(httpx.HTTPError):
            status = local_http.get(running.url + ready_path, timeout=1.0).status_code
            # The port was free when chosen; another process may have taken it since.
            if (status == ready_status or (ready_status is None and status < 500)) and (
                listens_on(process.pid, port)
            ):
                return running
        time.sleep(0.05)
    running.kill()
    raise RuntimeError(
        f"{args} did not become ready on port {port} in {timeout}s:\n{running.log()}"
    )


def listens_on(group: int, port: int) -> bool:
    """Whether a process of process group ``group`` listens on 127.0.0.1:``port``."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
            inodes.add(f"socket:[{inode}]")
    if not inodes:
        return False
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if os.getpgid(int(entry.name)) != group:
                continue
            for descriptor in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(descriptor) in inodes:
                        return True
    return False


def run_wagate(*args: str, env: Mapping[str, str]) -> str:
    """Run a ``wagate`` command to completion and return what it printed."""
    result = subprocess.run(
        wagate_command(*args),
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"wagate {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout.strip()


def postgres_required() -> bool:
    return os.environ.get("WAGATE_REQUIRE_POSTGRES") == "1"


def _admin_execute(sql: str) -> None:
    import asyncio

    import asyncpg

    async def execute() -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=3)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(execute())


def postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        _admin_execute("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@contextlib.contextmanager
def temporary_postgres_database(template: str | None = None) -> Iterator[str]:
    """A fresh PostgreSQL database for one test (a copy of the database ``template``, when
    given), dropped afterwards; its asyncpg URL."""
    problem = postgres_reachable()
    if problem is not None:
        message = f"PostgreSQL at {POSTGRES_ADMIN_DSN} is not reachable ({problem})"
        if postgres_required():
            pytest.fail(f"{message} and WAGATE_REQUIRE_POSTGRES=1")
        pytest.skip(
            f"{message}: skipping the PostgreSQL half (set WAGATE_REQUIRE_POSTGRES=1 to fail)"
        )
    name = f"wagate_test_{uuid.uuid4().hex[:12]}"
    _admin_execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rss_bytes(pid: int) -> tuple[int, int]:
    """The current and the peak resident set size of a process, in bytes."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) * 1024
    return fields["VmRSS"], fields["VmHWM"]


@dataclass
class S3Server:
    """A local S3-compatible server (moto's) and one bucket on it."""

    process: RunningProcess
    bucket: str

    @property
    def endpoint(self) -> str:
        return self.process.url

    def env(self, prefix: str = "media") -> dict[str, str]:
        """The gateway settings that store media in this bucket under ``prefix``."""
        return {
            "WAGATE_STORAGE_URL": f"s3://{self.bucket}/{prefix}",
            "WAGATE_S3_ENDPOINT": self.endpoint,
            "WAGATE_S3_REGION": "us-east-1",
            "WAGATE_S3_ACCESS_KEY_ID": "wagate-test",
            "WAGATE_S3_SECRET_ACCESS_KEY": "wagate-test-secret",
        }

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key in the bucket under ``prefix`` (completed objects only)."""
        answer = local_http.get(
            f"{self.endpoint}/{self.bucket}", params={"list-type": "2", "prefix": prefix}
        )
        answer.raise_for_status()
        text = answer.text
        return [part.split("</Key>")[0] for part in text.split("<Key>")[1:]]


@contextlib.contextmanager
def running_s3_server(log_path: Path) -> Iterator[S3Server]:
    """moto's standalone S3 server on a free port of 127.0.0.1, with a fresh bucket."""
    port = free_port()
    process = start_process(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env={"AWS_ACCESS_KEY_ID": "wagate-test", "AWS_SECRET_ACCESS_KEY": "wagate-test-secret"},
        port=port,
        log_path=log_path,
        ready_path="/moto-api/",
    )
    try:
        bucket = f"wagate-{uuid.uuid4().hex[:12]}"
        local_http.put(f"{process.url}/{bucket}").raise_for_status()
        yield S3Server(process, bucket)
    finally:
        process.stop()


def worker_children(gateway_pid: int) -> dict[int, str | None]:
    """The ``wagate worker`` children of a gateway: pid to the lanes they run (None: all)."""
    children: dict[int, str | None] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == gateway_pid and b"worker" in command:
            lanes = command[command.index(b"--lanes") + 1] if b"--lanes" in command else None
            children[int(entry.name)] = None if lanes is None else lanes.decode()
    return children
