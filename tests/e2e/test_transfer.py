"""Transfers to Meta end to end: real gateway, worker and sandbox processes on 127.0.0.1.

The gateway (``wagate serve``, or ``serve --no-worker`` plus ``wagate worker``)
talks to ``wagate sandbox`` as its Graph API; the tests arm the sandbox's
faults, kill processes, and read the sandbox's sessions to see exactly what
reached "Meta".
"""

from __future__ import annotations

import hashlib
import math
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.conftest import GatewayFactory
from tests.e2e.deployment import deployment, start_worker, wait_for_worker
from tests.e2e.sandbox import (
    Sandbox,
    get_upload,
    resumable_media_url,
    sandbox_process,
    upload_record,
    wait_for_status,
)
from tests.e2e.uploads import create_tenant, make_png
from tests.support import (
    PATIENCE,
    RunningProcess,
    local_http,
    temporary_postgres_database,
    wait_until,
)

MIB = 1024 * 1024
DEFAULT_CHUNK = 4 * MIB
BAD_TOKEN_MESSAGE = "Invalid OAuth access token - Cannot parse access token"
#: A worker's log line of a finished transfer; the upload it names.
TRANSFER_LOGGED = re.compile(r"transfer\.uploaded\b.*?upload_id=(\S+)")


@dataclass(frozen=True)
class Media:
    """A generated PNG file and what it should look like on the other side."""

    path: Path
    size: int
    sha256: str

    @property
    def name(self) -> str:
        return self.path.name


def make_media(directory: Path, name: str, size: int) -> Media:
    path = make_png(directory / name, size)
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(MIB):
            digest.update(block)
    return Media(path, size, digest.hexdigest())


def post_media(gateway: RunningProcess, media: Media) -> str:
    """Upload the file through the API; the id of the PENDING upload."""
    with media.path.open("rb") as file:
        response = local_http.post(
            resumable_media_url(gateway),
            headers={"api-key": "KEY1"},
            files={"file": (media.name, file, "image/png")},
            data={"type": "image/png"},
            timeout=60,
        )
    assert response.status_code == 202, response.text
    data = response.json()["data"]
    assert data["status"] == "PENDING"
    upload_id: str = data["id"]
    return upload_id


def gateway_env(sandbox: Sandbox, **extra: str) -> dict[str, str]:
    return {"WAGATE_GRAPH_URL": sandbox.url, "WAGATE_LOG_FORMAT": "console", **extra}


def local_link(gateway: RunningProcess, file_link: str) -> str:
    """The ``file_link`` on this gateway (a restarted one listens on another port)."""
    return gateway.url + urlsplit(file_link).path


def files_under(directory: Path) -> list[Path]:
    return [path for path in directory.rglob("*") if path.is_file()]


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def assert_transferred_intact(
    record: dict[str, Any], session: dict[str, Any], media: Media
) -> None:
    """What Meta holds is the file, and the gateway's ``file_link`` serves the same bytes."""
    assert session["complete"] is True
    assert session["file_length"] == media.size
    assert session["sha256"] == media.sha256
    assert record["sha256"] == media.sha256
    assert record["uploaded_file_handle"].startswith("4:")
    assert record["uploaded_file_handle"] == session["handle"]
    link = record["file_link"]
    whole = local_http.get(link, timeout=60)
    assert whole.status_code == 200
    assert hashlib.sha256(whole.content).hexdigest() == media.sha256
    head = local_http.get(link, headers={"Range": "bytes=0-99"}, timeout=10)
    assert head.status_code == 206
    assert head.headers["content-type"].startswith("image/png")
    assert head.content == media.path.read_bytes()[:100]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """One sandbox for the module; each test names its files apart to find its sessions."""
    with sandbox_process(tmp_path_factory.mktemp("sandbox")) as running:
        yield running


@pytest.fixture(autouse=True)
def no_faults(sandbox: Sandbox) -> Iterator[None]:
    sandbox.reset()
    yield
    sandbox.reset()


def session_at_least(sandbox: Sandbox, file_name: str, offset: int) -> dict[str, Any] | None:
    session = sandbox.session_of(file_name)
    return session if session is not None and session["file_offset"] >= offset else None


# 30 MB in 4 MiB chunks: 15,000,000 (50 %) falls inside the 4th chunk, which starts here.
SIZE_30MB = 30_000_000
HALF = SIZE_30MB // 2
FOURTH_CHUNK = 3 * DEFAULT_CHUNK


@pytest.mark.parametrize(
    ("fault", "label"),
    [
        pytest.param({"cut_after_bytes": HALF - FOURTH_CHUNK}, "cut", id="connection-cut-at-50%"),
        pytest.param({"fail_next": 3, "fail_status": 503}, "503", id="three-503s-in-a-row"),
    ],
)
def test_a_fault_half_way_through_30_mb_is_resumed_to_uploaded(
    start_gateway: GatewayFactory,
    sandbox: Sandbox,
    data_dir: Path,
    tmp_path: Path,
    fault: dict[str, int],
    label: str,
) -> None:
    gateway = start_gateway(env=gateway_env(sandbox), data_dir=data_dir)
    media = make_media(tmp_path, f"half-{label}.png", SIZE_30MB)
    # Slow answers leave time to arm the one-shot fault between the 3rd and the 4th chunk.
    sandbox.arm(delay_ms=400)
    started = time.monotonic()
    upload_id = post_media(gateway, media)
    before = wait_until(
        lambda: session_at_least(sandbox, media.name, FOURTH_CHUNK),
        PATIENCE,
        "three chunks at Meta",
    )
    sandbox.arm(**fault, delay_ms=0)
    assert before["file_offset"] == FOURTH_CHUNK, "missed the window before the 4th chunk"

    record = wait_for_status(gateway, upload_id, "UPLOADED", timeout=PATIENCE)
    elapsed = time.monotonic() - started
    session = sandbox.session_of(media.name)
    assert session is not None
    assert_transferred_intact(record, session, media)
    assert media.size <= session["bytes_received"] <= media.size + DEFAULT_CHUNK
    assert session["offset_reads"] == 1, "Meta's offset is read once, to resume"
    assert "upstream.upload.retry" in gateway.log()
    print(
        f"\n[{label}] size={media.size} bytes_received={session['bytes_received']} "
        f"requests={session['requests']} offset_reads={session['offset_reads']} "
        f"post_to_uploaded={elapsed:.1f}s"
    )


def test_a_bad_token_fails_the_upload_with_metas_error_190_without_retrying(
    start_gateway: GatewayFactory, sandbox: Sandbox, data_dir: Path, tmp_path: Path
) -> None:
    gateway = start_gateway(
        env=gateway_env(sandbox, WAGATE_META_ACCESS_TOKEN="not-the-sandbox-token"),
        data_dir=data_dir,
    )
    media = make_media(tmp_path, "bad-token.png", 300_000)
    started = time.monotonic()
    upload_id = post_media(gateway, media)
    record = wait_for_status(gateway, upload_id, "FAILED", timeout=PATIENCE)
    elapsed = time.monotonic() - started

    error = record["error"]
    assert error["code"] == 190
    assert error["type"] == "OAuthException"
    assert error["message"] == BAD_TOKEN_MESSAGE
    assert "uploaded_file_handle" not in record
    assert "file_link" not in record
    time.sleep(1.5)
    assert upload_record(gateway, upload_id)["status"] == "FAILED"
    log = gateway.log()
    assert log.count("transfer.failed") == 1
    assert "transfer.retry_later" not in log
    assert "transfer.graph_retry" not in log
    assert sandbox.sessions_of(media.name) == []
    print(f"\n[bad token] FAILED {elapsed:.2f}s after the POST: {error}")


def test_a_gateway_killed_mid_transfer_resumes_the_same_meta_session(
    start_gateway: GatewayFactory, sandbox: Sandbox, data_dir: Path, tmp_path: Path
) -> None:
    chunk = MIB
    env = gateway_env(sandbox, WAGATE_TRANSFER_CHUNK_BYTES=str(chunk))
    gateway = start_gateway(env=env, data_dir=data_dir)
    media = make_media(tmp_path, "killed.png", 24_000_000)
    sandbox.arm(delay_ms=150)
    upload_id = post_media(gateway, media)
    wait_until(lambda: session_at_least(sandbox, media.name, 3 * chunk), PATIENCE, "three chunks")
    gateway.kill()
    at_kill = sandbox.session_of(media.name)
    assert at_kill is not None
    assert 0 < at_kill["file_offset"] < media.size
    assert at_kill["complete"] is False

    sandbox.reset()
    started = time.monotonic()
    restarted = start_gateway(env=env, data_dir=data_dir)
    record = wait_for_status(restarted, upload_id, "UPLOADED", timeout=PATIENCE)
    elapsed = time.monotonic() - started

    sessions = sandbox.sessions_of(media.name)
    assert len(sessions) == 1, "the restarted gateway opened a second Meta session"
    session = sessions[0]
    assert session["id"] == at_kill["id"]
    assert_transferred_intact(record, session, media)
    assert media.size <= session["bytes_received"] <= media.size + chunk
    assert session["offset_reads"] == 1, "the restarted gateway asked Meta where to resume"
    assert "worker.released_stale_leases" in restarted.log()
    print(
        f"\n[kill -9] size={media.size} file_offset_at_kill={at_kill['file_offset']} "
        f"bytes_received={session['bytes_received']} requests={session['requests']} "
        f"restart_to_uploaded={elapsed:.1f}s"
    )


@pytest.mark.parametrize(
    ("retention", "restarted"),
    [
        pytest.param(7, False, id="running"),
        # Down from UPLOADED until the expiry is due. A stop and a start take several seconds
        # each on a loaded machine (once over 7 s together), so the purge is put far enough
        # away not to overtake the first look after the restart.
        pytest.param(30, True, id="restarted-after-the-expiry-was-due"),
    ],
)
def test_the_handle_expires_then_everything_is_purged(
    start_gateway: GatewayFactory,
    sandbox: Sandbox,
    data_dir: Path,
    tmp_path: Path,
    retention: int,
    restarted: bool,
) -> None:
    env = gateway_env(
        sandbox, WAGATE_HANDLE_TTL_SECONDS="3", WAGATE_RETENTION_SECONDS=str(retention)
    )
    gateway = start_gateway(env=env, data_dir=data_dir)
    media_dir = data_dir / "media"
    media = make_media(tmp_path, f"short-lived-{restarted}.png", 200_000)
    upload_id = post_media(gateway, media)
    uploaded = wait_for_status(gateway, upload_id, "UPLOADED", timeout=PATIENCE)
    handle = uploaded["uploaded_file_handle"]
    created_at = parse_time(uploaded["created_at"])
    expires_at = parse_time(uploaded["expires_at"])
    purge_at = parse_time(uploaded["purge_at"])
    assert (expires_at - created_at).total_seconds() == 3
    assert (purge_at - created_at).total_seconds() == retention

    if restarted:
        gateway.stop()
        sleep_until(expires_at)
        gateway = start_gateway(env=env, data_dir=data_dir)
    expired = wait_for_status(gateway, upload_id, "EXPIRED", timeout=PATIENCE)
    expired_seen = datetime.now(UTC)
    assert expired_seen >= expires_at
    assert expired["uploaded_file_handle"] == handle
    assert len(files_under(media_dir)) == 1
    link = local_link(gateway, expired["file_link"])
    assert local_http.get(link, timeout=10).status_code == 200, "the file stays until it is purged"

    def purged() -> httpx.Response | None:
        response = get_upload(gateway, upload_id)
        return response if response.status_code == 404 else None

    gone = wait_until(purged, PATIENCE, "the upload to be purged", every=0.1)
    purged_seen = datetime.now(UTC)
    assert purged_seen >= purge_at
    assert gone.json()["code"] == "WA404"
    link_answer = local_http.get(link, timeout=10)
    assert link_answer.status_code == 404
    assert link_answer.json()["code"] == "WA404"
    assert files_under(media_dir) == []
    print(
        f"\n[lifecycle, restarted={restarted}] EXPIRED seen "
        f"{(expired_seen - created_at).total_seconds():.1f}s and purge seen "
        f"{(purged_seen - created_at).total_seconds():.1f}s after creation"
    )


@pytest.mark.postgres
def test_two_workers_on_postgresql_transfer_every_upload_exactly_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    chunk = 512 * 1024
    sizes = [1_000_000 + i * 52_631 for i in range(20)]
    media = [make_media(tmp_path, f"pg-{i:02d}.png", size) for i, size in enumerate(sizes)]
    before = {session["id"] for session in sandbox.sessions()}
    with temporary_postgres_database() as database_url:
        env = gateway_env(
            sandbox,
            WAGATE_DATABASE_URL=database_url,
            WAGATE_DATA_DIR=str(tmp_path / "shared-data"),
            WAGATE_UPLOAD_RATE_LIMIT="1000",
            WAGATE_TRANSFER_CHUNK_BYTES=str(chunk),
        )
        with deployment(tmp_path, env) as running:
            api, workers = running.apis[0], running.workers
            create_tenant(env)
            # Slow answers keep one worker's 4 transfer slots busy, so the other gets a share.
            sandbox.arm(delay_ms=100)
            started = time.monotonic()
            ids = [post_media(api, item) for item in media]
            records = [wait_for_status(api, upload_id, "UPLOADED", PATIENCE) for upload_id in ids]
            elapsed = time.monotonic() - started

            def every_transfer_logged() -> list[str] | None:
                # A worker logs a transfer once its status is committed: soon after.
                logs = [worker.log() for worker in workers]
                logged = sum(len(TRANSFER_LOGGED.findall(log)) for log in logs)
                return logs if logged >= len(ids) else None

            logs = wait_until(every_transfer_logged, PATIENCE, "a log line of every transfer")
            api_log = api.log()

    new = [session for session in sandbox.sessions() if session["id"] not in before]
    assert len(new) == 20, "one Meta session per upload"
    sessions = {session["file_name"]: session for session in new}
    assert sorted(sessions) == [item.name for item in media]
    for item, record in zip(media, records, strict=True):
        session = sessions[item.name]
        assert session["complete"] is True
        assert session["sha256"] == item.sha256
        assert session["bytes_received"] == session["file_length"] == item.size
        assert session["requests"] == math.ceil(item.size / chunk)
        assert session["offset_reads"] == 0
        assert record["uploaded_file_handle"] == session["handle"]

    done_by = [TRANSFER_LOGGED.findall(log) for log in logs]
    assert "transfer.uploaded" not in api_log
    assert sorted(done_by[0] + done_by[1]) == sorted(ids), "each upload transferred once"
    assert all(done_by), f"a worker did nothing: {[len(done) for done in done_by]}"
    print(
        f"\n[postgres] 20 uploads UPLOADED {elapsed:.1f}s after the first POST; "
        f"worker-1 did {len(done_by[0])}, worker-2 did {len(done_by[1])}"
    )


@pytest.mark.postgres
def test_a_worker_on_postgresql_exits_soon_after_sigterm(tmp_path: Path) -> None:
    with temporary_postgres_database() as database_url:
        env = {"WAGATE_DATABASE_URL": database_url, "WAGATE_DATA_DIR": str(tmp_path / "data")}
        worker = start_worker(env, tmp_path / "worker.log")
        try:
            wait_for_worker(worker)
            worker.process.send_signal(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                worker.process.wait(5)
            assert worker.process.returncode == 0, "still running 5 s after SIGTERM"
        finally:
            worker.kill()
