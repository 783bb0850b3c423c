"""A worker of ``wagate serve``, run as a child process of the API.

Processing Meta's webhooks and sending callbacks must never compete with
acknowledging webhooks for one event loop and one interpreter lock, so
``wagate serve`` runs the API in its own process and the worker in children
(``wagate worker --lanes …``), over the same database and storage. The API wakes
a child through a pipe when it adds work (a new webhook, an upload, a replay),
asks it for its readiness and counters through a Unix socket, restarts it if it
dies, and stops it when the API stops. The child stops by itself when the pipe
closes: a killed API leaves no orphan behind.

Children run at a lower CPU priority than the API (``WAGATE_WORKER_NICENESS``):
when they share a core, acknowledging webhooks goes first, and what the worker
does with them, already durable, lags. The API is one event loop, so on two or
more cores it cannot take every core from them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Collection
from pathlib import Path

import aiohttp
import structlog

from wagate.domain.backoff import Backoff
from wagate.wiring.wake_pipes import read_channels, write_channels

log = structlog.get_logger("wagate")

RESTART_BACKOFF = Backoff(base=1.0, cap=30.0, jitter=0.2)
#: A child that ran this long before it died is restarted without waiting.
STABLE_SECONDS = 60.0


class WorkerProcess:
    """Starts, wakes, asks and stops the ``wagate worker`` child of an API process."""

    def __init__(
        self,
        *,
        grace_seconds: float,
        niceness: int = 0,
        lock_fd: int | None = None,
        lanes: Collection[str] | None = None,
        on_report: Callable[[set[str]], None] | None = None,
    ) -> None:
        """A child running ``lanes`` (all when None), ``niceness`` lower in CPU priority
        than this process; ``on_report``, if given, hears the wake-up channels of the work
        the child adds (see :mod:`.wake_pipes`)."""
        self._grace = grace_seconds
        self._niceness = niceness
        self._lock_fd = lock_fd
        self.lanes = None if lanes is None else tuple(lanes)
        self._on_report = on_report
        self._directory = Path(tempfile.mkdtemp(prefix="wagate-worker-"))
        self.socket_path = self._directory / "status.sock"
        self._process: subprocess.Popen[bytes] | None = None
        self._wake_fd: int | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Start the child, and restart it whenever it dies until :meth:`stop`."""
        self._spawn()
        self._supervisor = asyncio.create_task(self._supervise())

    def _spawn(self) -> None:
        # A child that stopped removed its socket's directory.
        self._directory.mkdir(exist_ok=True)
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        command = [
            sys.executable, "-m", "wagate", "worker",
            "--status-socket", str(self.socket_path), "--wake-fd", str(read_fd),
        ]  # fmt: skip
        passed = [read_fd]
        report_fds: tuple[int, int] | None = None
        if self.lanes is not None:
            command += ["--lanes", ",".join(self.lanes)]
        if self._on_report is not None:
            report_fds = os.pipe()
            command += ["--report-fd", str(report_fds[1])]
            passed.append(report_fds[1])
        if self._lock_fd is not None:
            # The child is part of this server: it holds the data directory's lock with it.
            command += ["--lock-fd", str(self._lock_fd)]
            passed.append(self._lock_fd)
        try:
            self._process = subprocess.Popen(  # noqa: S603
                command, pass_fds=passed, preexec_fn=functools.partial(_child_setup, self._niceness)
            )
        finally:
            os.close(read_fd)
            if report_fds is not None:
                os.close(report_fds[1])
        if report_fds is not None and self._on_report is not None:
            # Read until the child is gone; a restarted child gets a pipe of its own.
            reader = report_fds[0]
            read_channels(
                asyncio.get_running_loop(), reader, self._on_report, lambda: os.close(reader)
            )
        if self._wake_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._wake_fd)
        self._wake_fd = write_fd
        log.info("worker.child_started", pid=self._process.pid, lanes=self.lanes or "all")

    async def _supervise(self) -> None:
        failures = 0
        while not self._stopping:
            process = self._process
            assert process is not None
            started = asyncio.get_running_loop().time()
            code = await asyncio.to_thread(process.wait)
            if self._stopping:
                return
            ran = asyncio.get_running_loop().time() - started
            failures = 1 if ran > STABLE_SECONDS else failures + 1
            delay = RESTART_BACKOFF(failures)
            log.error("worker.child_exited", pid=process.pid, code=code, restart_in=round(delay, 1))
            await asyncio.sleep(delay)
            if not self._stopping:
                self._spawn()

    @property
    def pid(self) -> int | None:
        """The child's process id, while it runs."""
        return self._process.pid if self._process is not None else None

    def wake(self, channels: Collection[str]) -> None:
        """Tell the child that work was added on these channels (never blocks)."""
        if self._wake_fd is not None:
            write_channels(self._wake_fd, channels)

    async def _get(self, path: str) -> tuple[int, bytes] | None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.UnixConnector(path=str(self.socket_path)),
                timeout=aiohttp.ClientTimeout(total=5),
            )
        try:
            async with self._session.get(f"http://worker{path}") as response:
                return response.status, await response.read()
        except (aiohttp.ClientError, OSError, TimeoutError):
            return None

    async def metrics(self) -> bytes | None:
        """The child's own counters (no stored-state gauges), or None when it does not answer."""
        answer = await self._get("/metrics?counters_only=1")
        return answer[1] if answer is not None and answer[0] == 200 else None

    async def readiness(self) -> str:
        """``ok`` when the child answers ready, else why not."""
        answer = await self._get("/readyz")
        if answer is None:
            return "not answering"
        return (
            "ok" if answer[0] == 200 else f"not ready: {answer[1][:200].decode(errors='replace')}"
        )

    async def stop(self) -> None:
        """Stop the child (SIGTERM, its grace period, then SIGKILL) and wait for it."""
        self._stopping = True
        if self._wake_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._wake_fd)
            self._wake_fd = None
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(process.wait, self._grace + 10)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        if self._session is not None:
            await self._session.close()
        with contextlib.suppress(OSError):
            self.socket_path.unlink(missing_ok=True)
            self._directory.rmdir()


def _child_setup(niceness: int) -> None:
    """In the child, before it runs: its lower priority, and Ctrl-C ignored.

    Ctrl-C reaches every process of the terminal's group; the parent, which gets
    it too, stops its children itself (SIGTERM), so a normal stop is not a child
    that died. Python leaves a SIGINT that is ignored at start ignored.
    """
    os.nice(niceness)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
