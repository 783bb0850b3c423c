"""Callback profiles and the delivery engine, end to end with real processes."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.e2e.callbacks import (
    assert_signed,
    attach_to_waba,
    create_profile,
    deliveries,
    delivery,
    received,
    receiver_process,
    sandbox_process,
)
from tests.e2e.conftest import GatewayFactory
from tests.e2e.uploads import create_tenant
from tests.support import PATIENCE, RunningProcess, local_http, run_wagate, wait_until

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
SEED_GET_QUERY = (
    '?status="<status>"&uploaded_file_handle="<uploaded_file_handle>"&file_name="<file_name>"'
    '&file_link="<file_link>"&resumable_media_id="<resumable_media_id>"&waba_id="<waba_id>"'
    '&company_id="<company_id>"&field="<field>"&time="<time>"'
    '&callback_profile_id="<callback_profile_id>"'
)
SEED_POST_BODY = """{
    "status": "<status>",
    "uploaded_file_handle": "<uploaded_file_handle>",
    "file_name": "<file_name>",
    "file_link":"<file_link>",
    "resumable_media_id": "<resumable_media_id>",
    "waba_id": "<waba_id>",
    "company_id": "<company_id>",
    "field": "<field>",
    "time": "<time>",
    "callback_profile_id": "<callback_profile_id>"
}"""
UPLOADED_FIELDS = {
    "status",
    "uploaded_file_handle",
    "file_name",
    "file_link",
    "resumable_media_id",
    "waba_id",
    "company_id",
    "field",
    "time",
    "callback_profile_id",
}


@pytest.fixture(scope="module")
def services(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningProcess, RunningProcess]]:
    directory = tmp_path_factory.mktemp("callback-services")
    with sandbox_process(directory) as sandbox, receiver_process(directory) as receiver:
        yield sandbox, receiver


@pytest.fixture
def sandbox(services: tuple[RunningProcess, RunningProcess]) -> RunningProcess:
    return services[0]


@pytest.fixture
def receiver(services: tuple[RunningProcess, RunningProcess]) -> RunningProcess:
    local_http.post(services[1].url + "/_receiver/reset")
    return services[1]


def gateway_env(sandbox: RunningProcess, **extra: str) -> dict[str, str]:
    return {
        "WAGATE_GRAPH_URL": sandbox.url,
        "WAGATE_CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "WAGATE_UPLOAD_RATE_LIMIT": "100000",
        "WAGATE_UPLOADS_IN_PROGRESS_PER_ACCOUNT": "1000",  # bursts of uploads are the load
        "WAGATE_RETRY_SCHEDULE": "1,1,1,1,1,1",
        **extra,
    }


@dataclass(frozen=True)
class Tenant:
    """An account of its own on a gateway shared by a module's tests."""

    gateway: RunningProcess
    sid: str
    key: str
    waba: str


_TENANTS = itertools.count(1)


def new_tenant(gateway: RunningProcess) -> Tenant:
    """A fresh account with one WABA on ``gateway``, so a test sees only its own rows."""
    n = next(_TENANTS)
    tenant = Tenant(gateway, f"SIDT{n}", f"KEYT{n}", f"WABAT{n}")
    create_tenant(gateway.env, sid=tenant.sid, waba_id=tenant.waba, api_key=tenant.key)
    return tenant


@pytest.fixture(scope="module")
def shared_gateway(
    start_module_gateway: GatewayFactory,
    services: tuple[RunningProcess, RunningProcess],
    tmp_path_factory: pytest.TempPathFactory,
) -> RunningProcess:
    """A gateway with the default settings for the tests that change none."""
    data_dir = tmp_path_factory.mktemp("shared-gateway") / "data"
    return start_module_gateway(env=gateway_env(services[0]), data_dir=data_dir)


def upload(
    gateway: RunningProcess,
    waba: str = "WABA1",
    name: str = "image.png",
    sid: str = "SID1",
    key: str = "KEY1",
) -> str:
    response = local_http.post(
        f"{gateway.url}/v2/{sid}/whatsapp/{waba}/resumable_media",
        headers={"api-key": key},
        files={"file": (name, PNG, "image/png")},
        data={"type": "image/png"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    upload_id: str = response.json()["data"]["id"]
    return upload_id


def test_uploaded_callback_by_get_and_by_post_profiles_signed(
    shared_gateway: RunningProcess, receiver: RunningProcess
) -> None:
    gateway = shared_gateway
    tenant = new_tenant(gateway)
    sid, key, other_waba = tenant.sid, tenant.key, f"{tenant.waba}-2"
    run_wagate("wabas", "create", "--sid", sid, "--waba-id", other_waba, env=gateway.env)
    get_profile = create_profile(
        gateway, sid, key, title="media GET", http_method="GET",
        url=f"{receiver.url}/ok/get{SEED_GET_QUERY}",
    )  # fmt: skip
    post_profile = create_profile(
        gateway, sid, key, title="media POST", http_method="POST",
        url=f"{receiver.url}/ok/post", body=SEED_POST_BODY,
        headers={"Authorization": "Basic dXNlcjpwYXNz"},
    )  # fmt: skip
    assert get_profile["profile_id"].startswith("stage_")
    assert post_profile["secret"].startswith("whsec_")
    attach_to_waba(gateway, sid, key, tenant.waba, get_profile["profile_id"])
    attach_to_waba(gateway, sid, key, other_waba, post_profile["profile_id"])
    first = upload(gateway, tenant.waba, sid=sid, key=key)
    second = upload(gateway, other_waba, sid=sid, key=key)

    records = wait_until(
        lambda: len(received(receiver)) >= 2 and received(receiver), PATIENCE, "two callbacks"
    )
    by_method = {r["method"]: r for r in records}

    get = by_method["GET"]
    pairs = dict(parse_qsl(urlsplit(get["raw_target"]).query, keep_blank_values=True))
    assert set(pairs) == UPLOADED_FIELDS
    assert pairs["status"] == '"UPLOADED"'
    assert pairs["resumable_media_id"] == f'"{first}"'
    assert pairs["field"] == '"resumable_media_status_update"'
    assert pairs["uploaded_file_handle"].startswith('"4:')
    assert_signed(get, get_profile["secret"])

    post = by_method["POST"]
    body = json.loads(post["body"])
    assert set(body) == UPLOADED_FIELDS
    assert body["status"] == "UPLOADED"
    assert body["resumable_media_id"] == second
    assert body["waba_id"] == other_waba
    assert body["company_id"] == f"C-{sid}"
    assert body["callback_profile_id"] == post_profile["profile_id"]
    assert body["time"].isdigit()
    assert post["headers"]["Authorization"] == "Basic dXNlcjpwYXNz"
    assert post["headers"]["Content-Type"] == "application/json"
    assert_signed(post, post_profile["secret"])
    # The attempt is recorded once the receiver has answered it: soon after it got it.
    logged = wait_until(
        lambda: (
            (found := delivery(gateway, post["headers"]["webhook-id"], sid, key))["attempt_log"]
            and found
        ),
        PATIENCE,
        "the attempt recorded",
    )
    assert logged["attempt_log"][0]["request_headers"]["Authorization"] == "[redacted]"


def test_three_failures_then_success_is_one_success_after_four_attempts(
    shared_gateway: RunningProcess, receiver: RunningProcess
) -> None:
    gateway, tenant = shared_gateway, new_tenant(shared_gateway)
    profile = create_profile(
        gateway, tenant.sid, tenant.key, title="flaky", http_method="POST",
        url=f"{receiver.url}/fail/3/x",
    )  # fmt: skip
    attach_to_waba(gateway, tenant.sid, tenant.key, tenant.waba, profile["profile_id"])
    upload(gateway, tenant.waba, sid=tenant.sid, key=tenant.key)
    records = wait_until(
        lambda: len(received(receiver)) >= 4 and received(receiver), PATIENCE, "4 tries"
    )
    time.sleep(2.5)  # nothing more may come after the success
    records = received(receiver)
    assert len(records) == 4
    ids = {r["headers"]["webhook-id"] for r in records}
    assert len(ids) == 1, "webhook-id is stable across retries"
    (only,) = deliveries(gateway, tenant.sid, tenant.key)
    assert only["status"] == "succeeded"
    log = delivery(gateway, only["id"], tenant.sid, tenant.key)["attempt_log"]
    assert [a["response_status"] for a in log] == [500, 500, 500, 200]
    assert [a["number"] for a in log] == [1, 2, 3, 4]
    assert all(a["next_attempt_at"] for a in log[:3])
    assert log[3]["next_attempt_at"] is None


def test_retry_after_on_429_is_honoured(
    shared_gateway: RunningProcess, receiver: RunningProcess
) -> None:
    # The schedule's next try is 1 s after the 429; its Retry-After asks for 2 s.
    gateway, tenant = shared_gateway, new_tenant(shared_gateway)
    profile = create_profile(
        gateway, tenant.sid, tenant.key, title="throttled", http_method="POST",
        url=f"{receiver.url}/throttle/1/2/x",
    )  # fmt: skip
    attach_to_waba(gateway, tenant.sid, tenant.key, tenant.waba, profile["profile_id"])
    upload(gateway, tenant.waba, sid=tenant.sid, key=tenant.key)
    records = wait_until(
        lambda: len(received(receiver)) >= 2 and received(receiver), PATIENCE, "retry"
    )
    assert records[1]["at"] - records[0]["at"] >= 2.0


def test_a_hanging_endpoint_does_not_delay_another(
    start_gateway: GatewayFactory, sandbox: RunningProcess, receiver: RunningProcess
) -> None:
    gateway = start_gateway(
        env=gateway_env(sandbox, WAGATE_CALLBACK_TIMEOUT_SECONDS="5", WAGATE_RETRY_SCHEDULE="60")
    )
    create_tenant(gateway.env)
    run_wagate("wabas", "create", "--sid", "SID1", "--waba-id", "WABA2", env=gateway.env)
    hanging = create_profile(
        gateway, "SID1", "KEY1", title="hangs", http_method="POST", url=f"{receiver.url}/hang/x"
    )
    # A second receiver endpoint: the same process, another host name for it.
    healthy_url = receiver.url.replace("127.0.0.1", "localhost") + "/ok/healthy"
    healthy = create_profile(
        gateway, "SID1", "KEY1", title="healthy", http_method="POST", url=healthy_url
    )
    attach_to_waba(gateway, "SID1", "KEY1", "WABA1", hanging["profile_id"])
    attach_to_waba(gateway, "SID1", "KEY1", "WABA2", healthy["profile_id"])
    for _ in range(20):
        upload(gateway, "WABA1")
    for _ in range(20):
        upload(gateway, "WABA2")

    def healthy_done() -> list[dict[str, Any]]:
        got = [r for r in received(receiver) if r["target"].startswith("/ok/healthy")]
        return got if len(got) >= 20 else []

    got = wait_until(healthy_done, PATIENCE, "20 healthy callbacks")
    created = {
        d["id"]: d["created_at"] for d in deliveries(gateway, profile_id=healthy["profile_id"])
    }

    lateness = sorted(
        r["at"]
        - datetime.fromisoformat(
            created[r["headers"]["webhook-id"]].replace("Z", "+00:00")
        ).timestamp()
        for r in got
    )
    assert lateness[-1] < 1.0, f"healthy endpoint waited up to {lateness[-1]:.2f}s"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/x",
        "http://192.168.1.1/x",
        "http://127.0.0.2/x",
        "http://2130706434/x",
        "http://0x7f000002/x",
        "http://[::ffff:127.0.0.2]/x",
        "http://[::1]/x",
        "ftp://example.org/x",
    ],
)
def test_private_targets_are_refused_when_saved(
    start_module_gateway: GatewayFactory, sandbox: RunningProcess, url: str
) -> None:
    gateway = _strict_gateway(start_module_gateway, sandbox)
    response = local_http.post(
        f"{gateway.url}/v1/SID1/callback/profiles",
        headers={"api-key": "KEY1"},
        json={"title": "ssrf probe", "http_method": "POST", "url": url},
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "RBC400"
    assert "url" in body["error"]


_STRICT: dict[str, RunningProcess] = {}


def _strict_gateway(start: GatewayFactory, sandbox: RunningProcess) -> RunningProcess:
    """A gateway that allows only 127.0.0.1 itself (module-wide, started once)."""
    if "gateway" not in _STRICT:
        gateway = start(env=gateway_env(sandbox, WAGATE_CALLBACK_ALLOWED_NETWORKS="127.0.0.1/32"))
        create_tenant(gateway.env)
        _STRICT["gateway"] = gateway
    return _STRICT["gateway"]


def test_templates_are_validated_when_saved(
    start_module_gateway: GatewayFactory, sandbox: RunningProcess
) -> None:
    gateway = _strict_gateway(start_module_gateway, sandbox)
    cases = [
        ({"title": "x", "http_method": "GET", "url": "http://127.0.0.1/a"}, "title"),
        ({"title": "bad method", "http_method": "PUT", "url": "http://127.0.0.1/a"}, "http_method"),
        ({"title": "typo", "http_method": "GET", "url": "http://127.0.0.1/a?s=<stauts>"}, "url"),
        (
            {
                "title": "not json",
                "http_method": "POST",
                "url": "http://127.0.0.1/a",
                "body": "{nope",
            },
            "body",
        ),
    ]
    for fields, problem in cases:
        response = local_http.post(
            f"{gateway.url}/v1/SID1/callback/profiles", headers={"api-key": "KEY1"}, json=fields
        )
        assert response.status_code == 400, (fields, response.text)
        assert problem in response.json()["error"], response.text
    missing = local_http.get(
        f"{gateway.url}/v1/SID1/callback/profiles/stage_nope", headers={"api-key": "KEY1"}
    )
    assert missing.status_code == 404
    assert missing.json()["code"] == "RBC302"
