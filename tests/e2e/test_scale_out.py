"""Scale-out on PostgreSQL, end to end: API-only and worker-only processes on one database.

Real processes on 127.0.0.1: ``wagate serve --no-worker`` (the APIs), ``wagate
worker --port`` (the workers, with their ``/metrics``), ``wagate sandbox`` as
Meta and the test receiver (``tests.e2e.receiver``) as every customer endpoint.
The callbacks come from two real producers: the uploads' status events, fanned
out to the WABA's profile, and Meta's signed status webhooks, POSTed to the
APIs' ``/webhooks/meta`` about messages sent through the APIs and fanned out to
the number's profile and its webhook push.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.callbacks import (
    attach_to_waba,
    create_profile,
    deliveries,
    received,
    receiver_process,
)
from tests.e2e.deployment import Metrics, deployment, log_events, scrape
from tests.e2e.sandbox import Sandbox, sandbox_process, upload_record
from tests.e2e.test_transfer import Media, make_media, post_media
from tests.e2e.traffic import (
    APP_SECRET,
    PHONE,
    PHONE_NUMBER_ID,
    STATUSES,
    meta_webhook,
    post_statuses,
    send_messages,
    status_webhook,
)
from tests.postgres_server import private_postgres
from tests.support import (
    PATIENCE,
    RunningProcess,
    S3Server,
    local_http,
    run_wagate,
    running_s3_server,
    temporary_postgres_database,
    wait_until,
)
from wagate.services.tenancy import TenancyService
from wagate.store import Database

pytestmark = pytest.mark.postgres

#: Each message's three statuses go to the number's profile and to its webhook push.
DELIVERIES_PER_MESSAGE = 2 * len(STATUSES)
UPLOADS = 20
CALLBACKS = 2000
MESSAGES = (CALLBACKS - UPLOADS) // DELIVERIES_PER_MESSAGE
STATUS_BODY = '{"id": "<id>", "status": "<status>", "ref": "<ref>", "number": "<whatsapp_number>"}'


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, RunningProcess]]:
    """One sandbox and one receiver for the module; each test resets the receiver."""
    directory = tmp_path_factory.mktemp("scale-out")
    with sandbox_process(directory) as sandbox, receiver_process(directory) as receiver:
        yield sandbox, receiver


@pytest.fixture
def sandbox(services: tuple[Sandbox, RunningProcess]) -> Sandbox:
    services[0].reset()
    return services[0]


@pytest.fixture
def receiver(services: tuple[Sandbox, RunningProcess]) -> RunningProcess:
    local_http.post(services[1].url + "/_receiver/reset").raise_for_status()
    return services[1]


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with running_s3_server(tmp_path_factory.mktemp("s3") / "moto.log") as server:
        yield server


@pytest.fixture(params=["s3"])
def storage_env(
    request: pytest.FixtureRequest, s3_server: S3Server, tmp_path: Path
) -> dict[str, str]:
    """Where every process keeps media bytes, as settings: a prefix of the local S3 server.

    (Local files shared by API and worker processes on PostgreSQL are covered by
    the two-worker test of ``test_transfer``.)
    """
    assert request.param == "s3"
    return s3_server.env(prefix=f"scale-{tmp_path.name}")


def scale_env(
    sandbox: Sandbox, database_url: str, data_dir: Path, storage: dict[str, str], **extra: str
) -> dict[str, str]:
    """The settings every process of a deployment shares."""
    return {
        "WAGATE_DATABASE_URL": database_url,
        "WAGATE_DATA_DIR": str(data_dir),
        "WAGATE_GRAPH_URL": sandbox.url,
        "WAGATE_META_APP_SECRET": APP_SECRET,
        "WAGATE_CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "WAGATE_UPLOAD_RATE_LIMIT": "100000",
        "WAGATE_SEND_RATE_PER_NUMBER": "0",
        "WAGATE_RETRY_SCHEDULE": "1,1,1,1,1,1",
        "WAGATE_LOG_FORMAT": "json",
        **storage,
        **extra,
    }


def create_tenant_with_number(database_url: str) -> None:
    """Account SID1 (KEY1), its WABA1 and the number PHONE, written by the tenancy service.

    What ``wagate accounts|wabas|numbers create`` do, without three more process starts.
    """

    async def create() -> None:
        database = Database(database_url)
        try:
            await database.upgrade_schema()
            tenancy = TenancyService(database)
            await tenancy.create_account("SID1", "C-SID1", api_key="KEY1")
            await tenancy.create_waba("SID1", "WABA1")
            await tenancy.create_number("SID1", "WABA1", PHONE, PHONE_NUMBER_ID)
        finally:
            await database.close()

    asyncio.run(create())


def attach_callbacks(api: RunningProcess, receiver: RunningProcess) -> None:
    """Upload callbacks to /ok/media; the number's statuses to /ok/statuses and /ok/push."""
    media = create_profile(
        api, "SID1", "KEY1", title="media", http_method="POST", url=f"{receiver.url}/ok/media"
    )
    attach_to_waba(api, "SID1", "KEY1", "WABA1", media["profile_id"])
    statuses = create_profile(
        api, "SID1", "KEY1", title="statuses", http_method="POST",
        url=f"{receiver.url}/ok/statuses", body=STATUS_BODY,
    )  # fmt: skip
    response = local_http.patch(
        f"{api.url}/v2/SID1/whatsapp/WABA1/numbers/{PHONE}",
        headers={"api-key": "KEY1"},
        json={
            "callback_profile_id": statuses["profile_id"],
            "webhook_url": f"{receiver.url}/ok/push",
        },
    )
    assert response.status_code == 200, response.text


def succeeded(api: RunningProcess, count: int) -> Metrics | None:
    """The API's metrics once ``count`` deliveries have succeeded; None before."""
    metrics = scrape(api)
    return metrics if metrics.value("wagate_deliveries", status="succeeded") >= count else None


def webhook_ids(records: list[dict[str, Any]]) -> Counter[str]:
    """How many times each delivery id reached the receiver."""
    return Counter(record["headers"]["webhook-id"] for record in records)


# --- 1. two APIs, two workers: every upload once, every callback, the metrics add up -----------


def test_two_apis_and_two_workers_transfer_every_upload_once_and_deliver_every_callback(
    sandbox: Sandbox,
    receiver: RunningProcess,
    storage_env: dict[str, str],
    s3_server: S3Server,
    tmp_path: Path,
) -> None:
    media = [
        make_media(tmp_path, f"scale-{n:02d}.png", 150_000 + n * 7_919) for n in range(UPLOADS)
    ]
    with temporary_postgres_database() as database_url:
        env = scale_env(
            sandbox, database_url, tmp_path / "shared-data", storage_env,
            WAGATE_CALLBACK_ENDPOINT_CONCURRENCY="32",
            WAGATE_LOG_LEVEL="WARNING",  # 2,000 callbacks: the metrics tell what happened
        )  # fmt: skip
        create_tenant_with_number(database_url)
        with deployment(tmp_path, env, apis=2, workers=2, worker_status=True) as running:
            apis, workers = running.apis, running.workers
            attach_callbacks(apis[0], receiver)
            started = time.monotonic()
            upload_ids = [post_media(apis[n % 2], item) for n, item in enumerate(media)]
            wamids = send_messages(apis, MESSAGES)
            post_statuses(apis, wamids)
            for api in apis:  # a forged webhook is refused, and counted as such
                assert meta_webhook(api, status_webhook(wamids[0]), "not-the-secret") == 401
            wait_until(lambda: succeeded(apis[1], CALLBACKS), PATIENCE, f"{CALLBACKS} callbacks")
            elapsed = time.monotonic() - started
            records = [
                upload_record(apis[n % 2], upload_id) for n, upload_id in enumerate(upload_ids)
            ]
            listed = deliveries(apis[0])
            api_metrics = [scrape(api) for api in apis]
            worker_metrics = [scrape(worker) for worker in workers]
            got = received(receiver)

    assert_each_upload_transferred_once(sandbox, media, records)
    prefix = storage_env["WAGATE_STORAGE_URL"].split("/", 3)[3]
    assert len(s3_server.keys(prefix + "/uploads/")) == UPLOADS, "every file is in the bucket"
    on_disk = [p for p in (tmp_path / "shared-data" / "media").rglob("*") if p.is_file()]
    assert on_disk == [], "and none on the local disk"
    assert len(listed) == CALLBACKS
    assert {item["status"] for item in listed} == {"succeeded"}
    arrivals = webhook_ids(got)
    assert set(arrivals) == {item["id"] for item in listed}, "every callback, and nothing else"
    assert set(arrivals.values()) == {1}, "no callback sent twice: no process crashed"
    paths = Counter(record["target"] for record in got)
    assert paths == {
        "/ok/media": UPLOADS,
        "/ok/statuses": MESSAGES * len(STATUSES),
        "/ok/push": MESSAGES * len(STATUSES),
    }
    assert_metrics_add_up(api_metrics, worker_metrics, media)
    per_worker = [
        metrics.value("wagate_delivery_attempts_total", outcome="succeeded")
        for metrics in worker_metrics
    ]
    print(
        f"\n[scale-out] {UPLOADS} uploads and {CALLBACKS} callbacks over 2 APIs and 2 workers "
        f"in {elapsed:.1f}s; callbacks per worker: {per_worker}"
    )


def assert_each_upload_transferred_once(
    sandbox: Sandbox, media: list[Media], records: list[dict[str, Any]]
) -> None:
    """One complete Meta session per file, holding the file, and none opened twice."""
    for item, record in zip(media, records, strict=True):
        sessions = sandbox.sessions_of(item.name)
        assert len(sessions) == 1, f"{item.name}: {len(sessions)} Meta sessions"
        session = sessions[0]
        assert session["complete"] is True
        assert session["sha256"] == item.sha256
        assert session["bytes_received"] == session["file_length"] == item.size
        assert session["offset_reads"] == 0
        assert record["status"] == "UPLOADED"
        assert record["uploaded_file_handle"] == session["handle"]


def assert_metrics_add_up(
    api_metrics: list[Metrics], worker_metrics: list[Metrics], media: list[Media]
) -> None:
    """Stored state is the same seen from any process; counters add up across processes."""
    everyone = api_metrics + worker_metrics
    for metrics in everyone:
        assert metrics.labelled("wagate_uploads", "status") == {"UPLOADED": UPLOADS}
        assert metrics.labelled("wagate_deliveries", "status") == {"succeeded": CALLBACKS}
        queue = metrics.labelled("wagate_queue_depth", "kind")
        for kind in ("transfer_upload", "process_meta_webhook", "deliver_callback"):
            assert queue.get(kind, 0) == 0, queue
        assert queue["expire_upload"] == queue["purge_upload"] == UPLOADS

    def total(processes: list[Metrics], name: str, **labels: str) -> float:
        return sum(metrics.value(name, **labels) for metrics in processes)

    size = sum(item.size for item in media)
    accepted = [metrics.value("wagate_uploads_accepted_total") for metrics in api_metrics]
    assert accepted == [UPLOADS / 2, UPLOADS / 2]
    assert total(api_metrics, "wagate_upload_bytes_received_total") == size
    stored = [
        metrics.value("wagate_meta_webhooks_total", result="stored") for metrics in api_metrics
    ]
    assert sum(stored) == MESSAGES
    assert all(stored), f"an API received no webhook: {stored}"
    assert total(api_metrics, "wagate_meta_webhooks_total", result="rejected") == 2

    assert total(worker_metrics, "wagate_transfers_finished_total", outcome="uploaded") == UPLOADS
    assert total(worker_metrics, "wagate_transfer_bytes_total") == size
    assert total(worker_metrics, "wagate_transfer_resumes_total") == 0
    attempts = [
        metrics.value("wagate_delivery_attempts_total", outcome="succeeded")
        for metrics in worker_metrics
    ]
    assert sum(attempts) == CALLBACKS, "one attempt per callback"
    assert all(attempts), f"a worker delivered nothing: {attempts}"
    for outcome in ("retry", "dead"):
        assert total(everyone, "wagate_delivery_attempts_total", outcome=outcome) == 0
    assert total(worker_metrics, "wagate_delivery_lateness_seconds_count") == CALLBACKS
    for metrics in api_metrics:  # the APIs run no jobs
        assert metrics.value("wagate_delivery_attempts_total", outcome="succeeded") == 0
        assert metrics.value("wagate_transfer_bytes_total") == 0


# --- 2. SIGTERM during a burst ------------------------------------------------------------------

GRACE_SECONDS = 3.0
#: After the grace period, a stopping worker releases what still runs and closes its connections.
RELEASE_ALLOWANCE_SECONDS = 3.0
IN_FLIGHT = 8  # callback requests per worker (WAGATE_DELIVERY_CONCURRENCY)
BURST_MESSAGES = 100
ANSWER_BEFORE_HOLD = 150
HELD_FOR_AT_MOST = 600.0


def test_a_worker_sigtermed_during_a_burst_exits_0_in_its_grace_period_and_the_other_finishes(
    sandbox: Sandbox, receiver: RunningProcess, storage_env: dict[str, str], tmp_path: Path
) -> None:
    burst = BURST_MESSAGES * DELIVERIES_PER_MESSAGE
    with temporary_postgres_database() as database_url:
        env = scale_env(
            sandbox, database_url, tmp_path / "shared-data", storage_env,
            WAGATE_WORKER_GRACE_SECONDS=str(GRACE_SECONDS),
            # Far longer than the test waits: what the stopped worker held must be released.
            WAGATE_JOB_LEASE_SECONDS="120",
            WAGATE_DELIVERY_CONCURRENCY=str(IN_FLIGHT),
            WAGATE_CALLBACK_ENDPOINT_CONCURRENCY=str(IN_FLIGHT),
            # Held requests stay in flight, in the fast pool, however slowly the test
            # gets to its signal: none times out, none makes the endpoint slow.
            WAGATE_CALLBACK_TIMEOUT_SECONDS=str(HELD_FOR_AT_MOST),
            WAGATE_CALLBACK_SLOW_AFTER_SECONDS=str(HELD_FOR_AT_MOST),
        )  # fmt: skip
        create_tenant_with_number(database_url)
        with deployment(tmp_path, env, apis=1, workers=2) as running:
            api, (stopped, remaining) = running.apis[0], running.workers
            attach_callbacks(api, receiver)
            wamids = send_messages([api], BURST_MESSAGES)
            # Part way through the burst the receiver stops answering: both workers
            # then have every request they may send in flight, unanswered.
            hold = local_http.post(f"{receiver.url}/_receiver/hold?after={ANSWER_BEFORE_HOLD}")
            hold.raise_for_status()
            post_statuses([api], wamids)
            wait_until(lambda: held(receiver) == 2 * IN_FLIGHT, PATIENCE, "both workers full")

            stopped.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            try:
                code = stopped.process.wait(GRACE_SECONDS + RELEASE_ALLOWANCE_SECONDS)
            except subprocess.TimeoutExpired:
                waited = GRACE_SECONDS + RELEASE_ALLOWANCE_SECONDS
                pytest.fail(f"still running {waited}s after SIGTERM:\n{stopped.log()}")
            exited_after = time.monotonic() - signalled
            local_http.post(f"{receiver.url}/_receiver/release").raise_for_status()
            final = wait_until(lambda: succeeded(api, burst), PATIENCE, "the rest of the burst")
            listed = deliveries(api)
            got = received(receiver)
            assert remaining.process.poll() is None

    assert code == 0, stopped.log()
    assert final.labelled("wagate_deliveries", "status") == {"succeeded": burst}
    arrivals = webhook_ids(got)
    assert set(arrivals) == {item["id"] for item in listed}, "every delivery arrived"
    released = {
        record.get("delivery_id") or record["item_id"]
        for record in log_events(stopped, "item.released")
    }
    assert len(released) == IN_FLIGHT, "what was in flight was released, not left leased"
    assert all(arrivals[delivery_id] == 2 for delivery_id in released), "and sent again"
    by_remaining = {record["delivery_id"] for record in log_events(remaining, "delivery.attempt")}
    assert released <= by_remaining, "the remaining worker sent what the stopped one released"
    assert log_events(stopped, "worker.stopped")
    print(
        f"\n[SIGTERM] exit 0 {exited_after:.1f}s after the signal (grace {GRACE_SECONDS}s); "
        f"{len(released)} released, {sum(arrivals.values())} requests for {burst} deliveries"
    )


def readiness(process: RunningProcess) -> tuple[int, dict[str, Any]]:
    """``/readyz``: its status code and body."""
    response = local_http.get(process.url + "/readyz", timeout=15)
    body: dict[str, Any] = response.json()
    return response.status_code, body


def held(receiver: RunningProcess) -> int:
    """How many requests the receiver holds unanswered."""
    count: int = local_http.get(f"{receiver.url}/_receiver/held").json()["held"]
    return count


# --- 3. readiness follows PostgreSQL down and back ---------------------------------------------


def test_readyz_fails_while_postgresql_is_stopped_and_recovers_without_a_restart(
    tmp_path: Path,
) -> None:
    with private_postgres() as server:
        env = {
            "WAGATE_DATABASE_URL": server.url,
            "WAGATE_DATA_DIR": str(tmp_path / "data"),
            "WAGATE_META_APP_SECRET": APP_SECRET,
            "WAGATE_LOG_FORMAT": "json",
        }
        assert run_wagate("migrate", env=env) == "schema is current"
        with deployment(tmp_path, env, apis=1, workers=1, worker_status=True) as running:
            processes = running.apis + running.workers
            pids = [process.pid for process in processes]
            for process in processes:
                status, body = readiness(process)
                assert status == 200, body

            server.stop()
            for process in processes:
                status, body = wait_until(
                    lambda process=process: (answer := readiness(process))[0] != 200 and answer,
                    PATIENCE,
                    f"{process.log_path.stem} to be unready",
                    every=0.2,
                )
                assert status == 503
                assert body["status"] == "not ready"
                assert body["checks"]["database"].startswith("unreachable"), body
                assert body["checks"]["storage"] == "ok", body
            api = running.apis[0]
            down = local_http.post(api.url + "/webhooks/meta", content=b"{}", timeout=15)
            assert down.status_code == 401, "the signature is checked before the database"
            stored = meta_webhook(api, {"object": "whatsapp_business_account"})
            assert stored == 503, "Meta must send it again: it was not stored"
            listing = local_http.get(
                api.url + "/v1/SID1/callback/profiles", headers={"api-key": "KEY1"}, timeout=15
            )
            assert listing.status_code == 503, listing.text
            assert listing.json()["code"] == "RBC503"

            server.start()
            for process in processes:
                wait_until(
                    lambda process=process: readiness(process)[0] == 200,
                    PATIENCE,
                    f"{process.log_path.stem} to be ready again",
                    every=0.2,
                )
            assert [process.process.poll() for process in processes] == [None, None]
            assert [process.pid for process in processes] == pids

            # Not only /readyz: the API stores again, and the worker claims and runs again.
            assert meta_webhook(api, {"object": "whatsapp_business_account"}) == 200
            worker = running.workers[0]
            wait_until(lambda: "inbox.batch" in worker.log(), PATIENCE, "the webhook processed")
