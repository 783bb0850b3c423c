"""One embedded server per data directory: a second one exits at once, naming the first."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

from tests.e2e.conftest import GatewayFactory
from tests.support import (
    PATIENCE,
    free_port,
    local_http,
    wagate_command,
    wait_until,
    worker_children,
)

SOCKET = re.compile(r"worker\.status_listening +\S+ socket=(\S+)")


def test_a_second_server_on_the_same_data_directory_exits_with_its_message(
    start_gateway: GatewayFactory, data_dir: Path
) -> None:
    first = start_gateway(data_dir=data_dir)
    for command in (["serve", "--host", "127.0.0.1", "--port", str(free_port())], ["worker"]):
        second = subprocess.run(
            wagate_command(*command),
            env={**os.environ, **first.env},
            capture_output=True,
            text=True,
            timeout=PATIENCE,
            check=False,
        )
        assert second.returncode != 0, command
        assert second.stderr.startswith(
            f"error: another wagate server is running on {data_dir.resolve()} "
            f"(pid {first.pid}: wagate serve --host 127.0.0.1 --port "
        ), second.stderr
        assert second.stdout == ""
    # The first one and its worker (which shares its lock) go on as before.
    ready = local_http.get(first.url + "/readyz", timeout=PATIENCE).json()
    assert ready["checks"]["worker"] == "ok", ready
    assert first.stop() == 0
    replacement = start_gateway(data_dir=data_dir)
    assert local_http.get(replacement.url + "/readyz", timeout=PATIENCE).status_code == 200


def test_on_sqlite_the_api_alone_is_refused_with_what_to_run_instead(
    start_gateway: GatewayFactory, data_dir: Path
) -> None:
    # SQLite runs as one `wagate serve`: an API without its worker would leave what it
    # accepts unprocessed, and no `wagate worker` may join it on the data directory.
    api_alone = subprocess.run(
        wagate_command("serve", "--host", "127.0.0.1", "--port", str(free_port()), "--no-worker"),
        env={**os.environ, "WAGATE_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        check=False,
    )
    assert api_alone.returncode != 0
    assert api_alone.stderr.startswith(
        f"error: --no-worker needs PostgreSQL: on SQLite ({data_dir.resolve()}) one "
        "`wagate serve` runs the API and its worker; run `wagate serve` without --no-worker"
    ), api_alone.stderr
    # The refusal took no lock: the one server starts on the data directory.
    gateway = start_gateway(data_dir=data_dir)
    ready = local_http.get(gateway.url + "/readyz", timeout=PATIENCE).json()
    assert ready["checks"]["worker"] == "ok", ready


def test_the_worker_children_run_at_a_lower_cpu_priority_than_the_api(
    start_gateway: GatewayFactory,
) -> None:
    gateway = start_gateway(env={"WAGATE_WORKER_NICENESS": "7"})
    children = wait_until(
        lambda: found if len(found := list(worker_children(gateway.pid))) == 2 else None,
        PATIENCE,
        "the two worker children",
    )
    api = os.getpriority(os.PRIO_PROCESS, gateway.pid)
    expected = min(api + 7, 19)
    assert [os.getpriority(os.PRIO_PROCESS, child) for child in children] == [expected] * 2


def test_a_niceness_out_of_range_is_refused_with_its_setting_named(data_dir: Path) -> None:
    run = subprocess.run(
        wagate_command("serve", "--host", "127.0.0.1", "--port", str(free_port())),
        env={**os.environ, "WAGATE_DATA_DIR": str(data_dir), "WAGATE_WORKER_NICENESS": "25"},
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        check=False,
    )
    assert run.returncode != 0
    assert "worker_niceness" in run.stderr.lower(), run.stderr


def test_ctrl_c_stops_the_server_and_its_children_without_an_error(
    start_gateway: GatewayFactory,
) -> None:
    gateway = start_gateway()
    wait_until(
        lambda: len(worker_children(gateway.pid)) == 2 or None, PATIENCE, "the worker children"
    )
    sockets = wait_until(
        lambda: found if len(found := SOCKET.findall(gateway.log())) == 2 else None,
        PATIENCE,
        "the children's status sockets",
    )
    os.killpg(gateway.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends
    assert gateway.process.wait(PATIENCE) == 0
    log = gateway.log()
    assert "worker.child_exited" not in log, log
    assert "[error" not in log, log
    assert log.count("worker.stopped") == 2, log
    for socket in sockets:
        assert not Path(socket).parent.exists(), socket
