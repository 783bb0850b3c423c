"""Scaled-out deployments for end-to-end tests: API-only and worker-only processes.

``wagate serve --no-worker`` and ``wagate worker`` processes on 127.0.0.1,
sharing whatever database and storage their environment names, and a reader
of their ``/metrics``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.support import (
    PATIENCE,
    RunningProcess,
    free_port,
    local_http,
    start_process,
    wagate_command,
    wait_until,
)

#: Seconds a process may take to answer: imports and migrations take long on a busy machine.
START_TIMEOUT = PATIENCE


def start_api(env: dict[str, str], log_path: Path) -> RunningProcess:
    """``wagate serve --no-worker`` on a free port, ready to serve; the caller stops it."""
    port = free_port()
    api_env = {**env, "WAGATE_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    api = start_process(
        wagate_command("serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker"),
        env=api_env,
        port=port,
        log_path=log_path,
        timeout=START_TIMEOUT,
    )
    api.env = api_env
    return api


def start_worker(env: dict[str, str], log_path: Path, *, status: bool = False) -> RunningProcess:
    """``wagate worker``; with ``status`` it serves ``/metrics`` and is ready once that answers.

    Without, it serves nothing and is ready once its log says so (:func:`wait_for_worker`).
    """
    if status:
        port = free_port()
        worker = start_process(
            wagate_command("worker", "--host", "127.0.0.1", "--port", str(port)),
            env=env,
            port=port,
            log_path=log_path,
            timeout=START_TIMEOUT,
        )
        worker.env = dict(env)
        return worker
    with log_path.open("ab") as log:
        popen = subprocess.Popen(
            wagate_command("worker"),
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return RunningProcess(popen, "", log_path, dict(env))


def wait_for_worker(worker: RunningProcess) -> None:
    """Wait until the worker has started claiming."""

    def started() -> bool:
        assert worker.process.poll() is None, worker.log()
        return "worker.started" in worker.log()

    wait_until(started, START_TIMEOUT, f"{worker.log_path.stem} to start")


def stop_together(processes: list[RunningProcess], timeout: float = 5.0) -> None:
    """SIGTERM every process at once, then SIGKILL whatever still runs after ``timeout``."""
    for process in processes:
        if process.process.poll() is None:
            process.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        with suppress(subprocess.TimeoutExpired):
            process.process.wait(max(0.0, deadline - time.monotonic()))
        process.kill()


@dataclass
class Deployment:
    """The API and worker processes of one deployment."""

    apis: list[RunningProcess] = field(default_factory=list)
    workers: list[RunningProcess] = field(default_factory=list)


@contextmanager
def deployment(
    directory: Path,
    env: dict[str, str],
    *,
    apis: int = 1,
    workers: int = 2,
    worker_status: bool = False,
) -> Iterator[Deployment]:
    """``apis`` API processes and ``workers`` started workers; all stopped on exit.

    They start two at a time (each takes seconds of CPU to import and migrate;
    more at once would only slow each down), and every one that started is
    stopped even when another failed to.
    """
    running = Deployment()

    def worker(number: int) -> RunningProcess:
        started = start_worker(env, directory / f"worker-{number}.log", status=worker_status)
        running.workers.append(started)
        if not worker_status:  # else it answered /healthz: it has started
            wait_for_worker(started)
        return started

    def api(number: int) -> RunningProcess:
        started = start_api(env, directory / f"api-{number}.log")
        running.apis.append(started)
        return started

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            apis_started = [pool.submit(api, number) for number in range(1, apis + 1)]
            workers_started = [pool.submit(worker, number) for number in range(1, workers + 1)]
        # In the order asked for (the lists above are in the order they came up).
        running.apis = [future.result() for future in apis_started]
        running.workers = [future.result() for future in workers_started]
        yield running
    finally:
        stop_together(running.apis + running.workers)


@dataclass(frozen=True)
class Metrics:
    """One scrape of a process's ``/metrics``: sample values by name and labels."""

    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]

    def value(self, name: str, **labels: str) -> float:
        """The sample's value; 0 when the process has not exposed it (yet)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def labelled(self, name: str, label: str) -> dict[str, float]:
        """Every sample of ``name`` by the value of its ``label``."""
        return {
            dict(labels)[label]: value
            for (sample, labels), value in self.samples.items()
            if sample == name and label in dict(labels)
        }


def scrape(process: RunningProcess) -> Metrics:
    """Read the process's ``/metrics``."""
    response = local_http.get(process.url + "/metrics", timeout=10)
    assert response.status_code == 200, response.text
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    return Metrics(samples)


def log_events(process: RunningProcess, event: str) -> list[dict[str, Any]]:
    """The process's JSON log records of ``event``."""
    found = []
    for line in process.log().splitlines():
        if f'"{event}"' in line:
            record = json.loads(line)
            if record.get("event") == event:
                found.append(record)
    return found
