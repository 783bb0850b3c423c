"""Fixtures for end-to-end tests: real processes on 127.0.0.1."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.messaging import TenantTemplate
from tests.e2e.uploads import create_tenant
from tests.support import RunningProcess, free_port, start_process, wagate_command

GatewayFactory = Callable[..., RunningProcess]


@contextmanager
def gateways(directory: Path) -> Iterator[GatewayFactory]:
    """A factory of ``wagate serve`` processes, all stopped on exit."""
    started: list[RunningProcess] = []

    def start(
        *,
        env: dict[str, str] | None = None,
        data_dir: Path | None = None,
        ready_path: str = "/readyz",
        port: int | None = None,
    ) -> RunningProcess:
        """A gateway (on ``port``, else a free one); by default once ``/readyz`` says it and
        its worker are ready."""
        port = port or free_port()
        full_env = {
            "WAGATE_DATA_DIR": str(data_dir or directory / "data"),
            "WAGATE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            # A transfer retrying against an unreachable Graph would hold every stop
            # for the whole grace period (10 s by default); it resumes after a restart.
            "WAGATE_WORKER_GRACE_SECONDS": "2",
            **(env or {}),
        }
        process = start_process(
            wagate_command("serve", "--host", "127.0.0.1", "--port", str(port)),
            env=full_env,
            port=port,
            log_path=directory / f"gateway-{port}.log",
            ready_path=ready_path,
            ready_status=200 if ready_path == "/readyz" else None,
        )
        process.env = full_env
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            process.stop()


@pytest.fixture
def start_gateway(tmp_path: Path) -> Iterator[GatewayFactory]:
    """Start gateways for one test."""
    with gateways(tmp_path) as start:
        yield start


@pytest.fixture(scope="module")
def start_module_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayFactory]:
    """Start gateways shared by the tests of a module."""
    with gateways(tmp_path_factory.mktemp("gateway")) as start:
        yield start


@pytest.fixture(scope="module")
def tenant_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding the account SID1 (key KEY1) and its WABA1, made once."""
    directory = tmp_path_factory.mktemp("tenant-template")
    create_tenant({"WAGATE_DATA_DIR": str(directory)})
    return directory


@pytest.fixture
def data_dir(tmp_path: Path, tenant_template: Path) -> Path:
    """This test's data directory: a copy of the template (the CLI takes seconds to start)."""
    target = tmp_path / "data"
    shutil.copytree(tenant_template, target)
    return target


@pytest.fixture(scope="module")
def messaging_tenant(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TenantTemplate]:
    """The messaging tenant (SID1, its WABA and numbers) made once per module, to copy."""
    name = request.module.__name__.rsplit(".", 1)[-1]
    with ThreadPoolExecutor(1) as pool:
        yield TenantTemplate(tmp_path_factory.mktemp(f"{name}-tenant"), pool)
