"""Real processes for benchmarks: free ports, servers, tenants, PostgreSQL databases, memory."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import asyncpg

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"

#: The Meta app of the benchmarks: a sandbox and the gateways that talk to it share it.
#: Gateways send without a rate per number unless a benchmark measures the rate.
META_ENV = {
    "WAGATE_META_APP_ID": "wagate-bench-app",
    "WAGATE_META_ACCESS_TOKEN": "wagate-bench-token",
    "WAGATE_META_APP_SECRET": "wagate-bench-secret",
    "WAGATE_SEND_RATE_PER_NUMBER": "0",
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wagate_command(*args: str) -> list[str]:
    """The command line that runs ``wagate`` with this interpreter."""
    return [sys.executable, "-m", "wagate", *args]


def run_wagate(*args: str, env: Mapping[str, str], timeout: float = 60.0) -> str:
    """Run a ``wagate`` command to completion and return what it printed."""
    result = subprocess.run(
        wagate_command(*args),
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"wagate {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout.strip()


def create_tenant(env: Mapping[str, str], sid: str, waba_id: str, api_key: str) -> str:
    """An account with one v2 WABA, made with the operator commands; returns the API key."""
    company = f"C-{sid}"
    key = run_wagate(
        "accounts", "create", "--sid", sid, "--company-id", company, "--api-key", api_key, env=env
    )
    run_wagate("wabas", "create", "--sid", sid, "--waba-id", waba_id, env=env)
    return key


def create_number(
    env: Mapping[str, str], sid: str, waba_id: str, number: str, phone_number_id: str
) -> None:
    """A business number of the WABA, with Meta's phone number id, made with the CLI."""
    run_wagate(
        "numbers", "create", "--sid", sid, "--waba-id", waba_id,
        "--number", number, "--phone-number-id", phone_number_id, env=env,
    )  # fmt: skip


@dataclass(frozen=True)
class Memory:
    """Resident set size of a process, now and at its peak, in bytes."""

    rss: int
    hwm: int


def memory_of(pid: int) -> Memory:
    """VmRSS and VmHWM of a live process, from ``/proc/<pid>/status``."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) * 1024
    return Memory(rss=fields["VmRSS"], hwm=fields["VmHWM"])


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a live process has used so far, all threads, in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rpartition(")")[2].split()  # fields[0] is field 3 of proc(5), the state
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """A server process this program started, and the URL it serves on."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    env: dict[str, str]

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    def log(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def wait_ready(server: Server, path: str = "/healthz", timeout: float = 30.0) -> None:
    """Poll ``path`` until it answers below 500; raise if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with {server.process.returncode}:\n{server.log()}")
        with contextlib.suppress(OSError):
            try:
                with urllib.request.urlopen(server.url + path, timeout=1.0) as response:
                    if response.status < 500:
                        return
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    return
        time.sleep(0.05)
    raise RuntimeError(f"server did not become ready in {timeout}s:\n{server.log()}")


def start_server(
    command: list[str],
    port: int,
    log_path: Path,
    env: Mapping[str, str],
    ready_path: str,
    *,
    timeout: float = 60.0,
) -> Server:
    """Start ``command`` in a session of its own (so that it and its children can be
    killed together) and wait until ``ready_path`` answers; the caller stops it.

    Its temporary files go beside its log unless ``env`` says where: a server the
    benchmark kills cannot remove them, and they go with the benchmark's directory."""
    scratch = log_path.parent / "tmp"
    scratch.mkdir(exist_ok=True)
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            command,
            env={**os.environ, "TMPDIR": str(scratch), **env},
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, f"http://{HOST}:{port}", log_path, dict(env))
    try:
        wait_ready(server, ready_path, timeout)
    except BaseException:
        kill_group(server)
        raise
    return server


def kill_group(server: Server) -> None:
    """SIGKILL the server and every process of its session: a crash, as they can tell."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait()


def stop_group(server: Server, timeout: float = 30.0) -> None:
    """SIGTERM the server (which stops its children), then SIGKILL what is left."""
    server.stop(timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGKILL)


@contextlib.contextmanager
def running_process(
    command: list[str], port: int, log_path: Path, env: Mapping[str, str], ready_path: str
) -> Iterator[Server]:
    """Start ``command`` (serving on ``port``), wait until ``ready_path`` answers; stop on exit.

    It runs in the repository's root, its output going to ``log_path``.
    """
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://{HOST}:{port}", log_path, dict(env))
    try:
        wait_ready(server, ready_path)
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def running_gateway(
    data_dir: Path, log_path: Path, env: Mapping[str, str] | None = None
) -> Iterator[Server]:
    """A ``wagate serve`` on 127.0.0.1 with its own data directory, stopped on exit.

    ``WAGATE_GRAPH_URL`` defaults to a closed loopback port, so that nothing
    the worker does leaves this machine.
    """
    port = free_port()
    full_env = {
        "WAGATE_DATA_DIR": str(data_dir),
        "WAGATE_PUBLIC_URL": f"http://{HOST}:{port}",
        "WAGATE_GRAPH_URL": f"http://{HOST}:{free_port()}",
        **(env or {}),
    }
    command = wagate_command("serve", "--host", HOST, "--port", str(port))
    with running_process(command, port, log_path, full_env, "/healthz") as server:
        yield server


@contextlib.contextmanager
def running_sandbox(directory: Path, env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """``wagate sandbox`` on 127.0.0.1 as the Meta app of :data:`META_ENV`, stopped on exit.

    It keeps upload sessions under ``directory``, logs JSON lines to
    ``directory/sandbox.log``, and sends its webhooks to a closed loopback port.
    """
    port = free_port()
    full_env = {**META_ENV, "WAGATE_LOG_FORMAT": "json", "TMPDIR": str(directory), **(env or {})}
    command = wagate_command(
        "sandbox", "--host", HOST, "--port", str(port),
        "--webhook-url", f"http://{HOST}:{free_port()}/webhooks/meta",
    )  # fmt: skip
    log_path = directory / "sandbox.log"
    with running_process(command, port, log_path, full_env, "/_sandbox/faults") as server:
        yield server


@dataclass(frozen=True)
class Tenant:
    """An account with a v2 WABA and one business number of it."""

    sid: str
    waba_id: str
    api_key: str
    number: str
    phone_number_id: str


@contextlib.contextmanager
def messaging_gateway(
    directory: Path, sandbox: Server, tenant: Tenant, env: Mapping[str, str]
) -> Iterator[Server]:
    """A ``wagate serve`` in ``directory`` whose Meta is ``sandbox``, with ``tenant`` made.

    Its log's tail is printed when the block fails.
    """
    full_env = {**META_ENV, "WAGATE_GRAPH_URL": sandbox.url, **env}
    directory.mkdir()
    with running_gateway(directory / "data", directory / "gateway.log", full_env) as gateway:
        try:
            create_tenant(gateway.env, tenant.sid, tenant.waba_id, tenant.api_key)
            create_number(
                gateway.env, tenant.sid, tenant.waba_id, tenant.number, tenant.phone_number_id
            )
            yield gateway
        except BaseException:
            print(f"the gateway's log:\n{gateway.log()[-4000:]}", file=sys.stderr)
            raise


@contextlib.contextmanager
def scratch_directory(workdir: Path, name: str) -> Iterator[Path]:
    """A new directory for one benchmark's files under ``workdir``, removed afterwards."""
    directory = workdir / name
    directory.mkdir(parents=True)
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def sandbox_and_receiver(directory: Path) -> Iterator[tuple[Server, Server]]:
    """The Meta sandbox and the callback receiver, their files under ``directory``."""
    (directory / "sandbox").mkdir()
    with (
        running_sandbox(directory / "sandbox") as sandbox,
        running_receiver(directory / "receiver.log") as receiver,
    ):
        yield sandbox, receiver


@contextlib.contextmanager
def running_receiver(log_path: Path) -> Iterator[Server]:
    """``python -m bench.receiver`` on a free port of 127.0.0.1, stopped on exit."""
    port = free_port()
    command = [sys.executable, "-m", "bench.receiver", "--port", str(port)]
    with running_process(command, port, log_path, {}, "/_receiver/health") as server:
        yield server


def postgres_problem() -> str | None:
    """Why PostgreSQL at :data:`POSTGRES_ADMIN_DSN` cannot be used, or None when it answers."""
    try:
        _postgres_admin("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@contextlib.contextmanager
def temporary_postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped on exit; its SQLAlchemy asyncpg URL."""
    name = f"wagate_bench_{uuid.uuid4().hex[:12]}"
    _postgres_admin(f'CREATE DATABASE "{name}"')
    server = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].removeprefix("postgresql://")
    try:
        yield f"postgresql+asyncpg://{server}/{name}"
    finally:
        _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def databases() -> Iterator[tuple[dict[str, dict[str, str]], str | None]]:
    """The databases to measure on, by name, with the settings that choose them; and why
    PostgreSQL is left out (None when it is not).

    SQLite is the default, a file in the data directory; PostgreSQL is a temporary
    database, dropped on exit.
    """
    problem = postgres_problem()
    if problem is not None:
        yield {"SQLite": {}}, f"PostgreSQL at {POSTGRES_ADMIN_DSN} is not reachable ({problem})"
        return
    with temporary_postgres_database() as url:
        yield {"SQLite": {}, "PostgreSQL": {"WAGATE_DATABASE_URL": url}}, None


def _postgres_admin(statement: str) -> None:
    async def execute() -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=3)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(execute())
