"""Real processes for benchmarks: free ports, a ``wagate serve`` process, its memory."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"


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
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            command, env={**os.environ, **full_env}, stdout=log_file, stderr=subprocess.STDOUT
        )
    server = Server(process, f"http://{HOST}:{port}", log_path, full_env)
    try:
        wait_ready(server)
        yield server
    finally:
        server.stop()
