"""Fixtures for end-to-end tests: real processes on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support import RunningProcess, free_port, start_process, wagate_command

GatewayFactory = Callable[..., RunningProcess]


@contextmanager
def gateways(directory: Path) -> Iterator[GatewayFactory]:
    """A factory of ``wagate serve`` processes, all stopped on exit."""
    started: list[RunningProcess] = []

    def start(*, env: dict[str, str] | None = None, data_dir: Path | None = None) -> RunningProcess:
        port = free_port()
        full_env = {
            "WAGATE_DATA_DIR": str(data_dir or directory / "data"),
            "WAGATE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            **(env or {}),
        }
        process = start_process(
            wagate_command("serve", "--host", "127.0.0.1", "--port", str(port)),
            env=full_env,
            port=port,
            log_path=directory / f"gateway-{port}.log",
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
