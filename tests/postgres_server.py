"""A private PostgreSQL server for one test, which the test may stop and start at will.

The shared server other tests use must never be stopped; this one lives in a
temporary directory, listens only on 127.0.0.1 (and a socket in its own
directory), and is stopped and deleted afterwards. ``initdb`` refuses to run
as root, so as root the server runs as the ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import free_port, postgres_required

SERVER_USER = "postgres"


def postgres_bindir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are: ``pg_config --bindir``, a packaged version, or PATH."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with suppress(OSError, subprocess.SubprocessError):
            answer = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            candidates.append(Path(answer.stdout.strip()))
    packaged = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda path: int(Path(path).parent.name) if Path(path).parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(Path(path) for path in packaged)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    return None


@dataclass
class PostgresServer:
    """A running private server: its URL, and the means to stop and start it."""

    bindir: Path
    directory: Path
    port: int
    as_user: list[str]

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def log_path(self) -> Path:
        return self.directory / "postgres.log"

    @property
    def url(self) -> str:
        """The gateway's (asyncpg) URL of the server's ``postgres`` database."""
        return f"postgresql+asyncpg://{SERVER_USER}@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        command = [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
            raise RuntimeError(f"pg_ctl {args} failed: {result.stdout}{result.stderr}\n{log}")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.directory / 'socket'} "
            "-c fsync=off -c shared_buffers=16MB -c max_connections=60"
        )
        self._pg_ctl("-l", str(self.log_path), "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: disconnect the clients) and wait until it is down."""
        self._pg_ctl("-m", mode, "-w", "-t", "60", "stop")

    def is_running(self) -> bool:
        return (self.data_dir / "postmaster.pid").exists()


@contextmanager
def private_postgres() -> Iterator[PostgresServer]:
    """A fresh server in a temporary directory, running; stopped and deleted on exit.

    Skips the test when no PostgreSQL binaries are installed, unless
    ``WAGATE_REQUIRE_POSTGRES=1`` says they must be.
    """
    bindir = postgres_bindir()
    if bindir is None:
        message = "no PostgreSQL server binaries (initdb, pg_ctl) are installed"
        if postgres_required():
            pytest.fail(f"{message} and WAGATE_REQUIRE_POSTGRES=1")
        pytest.skip(f"{message}: skipping (set WAGATE_REQUIRE_POSTGRES=1 to fail)")
    directory = Path(tempfile.mkdtemp(prefix="wagate-postgres-"))
    as_user: list[str] = []
    try:
        (directory / "socket").mkdir()
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            runuser = shutil.which("runuser")
            try:
                pwd.getpwnam(SERVER_USER)
            except KeyError:
                runuser = None
            if runuser is None:
                pytest.fail(f"running as root without runuser or a {SERVER_USER!r} user")
            as_user = [runuser, "-u", SERVER_USER, "--"]
            shutil.chown(directory, SERVER_USER)
            shutil.chown(directory / "socket", SERVER_USER)
        server = PostgresServer(bindir, directory, free_port(), as_user)
        initdb = [str(bindir / "initdb"), "-D", str(server.data_dir), "-U", SERVER_USER]
        options = ["--auth=trust", "--encoding=UTF8", "--no-sync"]
        result = subprocess.run(
            [*as_user, *initdb, *options], capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed: {result.stdout}{result.stderr}")
        server.start()
        try:
            yield server
        finally:
            if server.is_running():
                with suppress(RuntimeError, subprocess.SubprocessError):
                    server.stop("immediate")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
