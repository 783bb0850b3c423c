"""Operating callbacks end to end: crashes under load, auto-disable, rotation, replay, SSRF.

Real processes on 127.0.0.1: ``wagate serve`` (API and worker), ``wagate
sandbox`` as Meta, and the test receiver (``tests.e2e.receiver``) as the
customer's endpoint.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.callbacks import (
    api,
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
from tests.e2e.test_callbacks import PNG, Tenant, gateway_env, new_tenant, upload
from tests.e2e.uploads import create_tenant
from tests.support import PATIENCE, RunningProcess, local_http, wait_until

BURST_UPLOADS = 1000
BURST_CONCURRENCY = 32
KILL_AFTER_CALLBACKS = 200  # SIGKILL once the receiver has seen this many (of BURST_UPLOADS)


@pytest.fixture(scope="module")
def services(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningProcess, RunningProcess]]:
    directory = tmp_path_factory.mktemp("callback-operations")
    with sandbox_process(directory) as sandbox, receiver_process(directory) as receiver:
        yield sandbox, receiver


@pytest.fixture
def sandbox(services: tuple[RunningProcess, RunningProcess]) -> RunningProcess:
    return services[0]


@pytest.fixture
def receiver(services: tuple[RunningProcess, RunningProcess]) -> RunningProcess:
    local_http.post(services[1].url + "/_receiver/reset")
    return services[1]


@pytest.fixture(scope="module")
def shared_gateway(
    start_module_gateway: GatewayFactory,
    services: tuple[RunningProcess, RunningProcess],
    tmp_path_factory: pytest.TempPathFactory,
) -> RunningProcess:
    """A gateway for the tests that need no settings of their own: a failing delivery is
    tried three times (the schedule is 0.2 s, 0.2 s), each test on an account of its own."""
    data_dir = tmp_path_factory.mktemp("shared-gateway") / "data"
    env = gateway_env(services[0], WAGATE_RETRY_SCHEDULE="0.2,0.2")
    return start_module_gateway(env=env, data_dir=data_dir)


def tenant_with_profile(gateway: RunningProcess, url: str) -> tuple[Tenant, dict[str, Any]]:
    """A new account on ``gateway`` with a POST profile at ``url`` attached to its WABA."""
    tenant = new_tenant(gateway)
    profile = create_profile(
        gateway, tenant.sid, tenant.key, title="operations", http_method="POST", url=url
    )
    attach_to_waba(gateway, tenant.sid, tenant.key, tenant.waba, profile["profile_id"])
    return tenant, profile


def profile_of(
    gateway: RunningProcess, profile_id: str, sid: str = "SID1", key: str = "KEY1"
) -> dict[str, Any]:
    response = api(gateway, "GET", f"/v1/{sid}/callback/profiles/{profile_id}", key)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def patch_profile(
    gateway: RunningProcess, profile_id: str, sid: str = "SID1", key: str = "KEY1", **fields: Any
) -> dict[str, Any]:
    response = api(gateway, "PATCH", f"/v1/{sid}/callback/profiles/{profile_id}", key, json=fields)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def to_path(receiver: RunningProcess, prefix: str) -> list[dict[str, Any]]:
    """What the receiver got on paths starting with ``prefix``."""
    return [r for r in received(receiver) if r["target"].startswith(prefix)]


def new_gateway_with_profile(
    start: GatewayFactory, env: dict[str, str], url: str, **start_kwargs: Any
) -> tuple[RunningProcess, dict[str, Any]]:
    """A gateway with account SID1 and a POST profile at ``url`` attached to WABA1."""
    gateway = start(env=env, **start_kwargs)
    create_tenant(gateway.env)
    profile = create_profile(
        gateway, "SID1", "KEY1", title="operations", http_method="POST", url=url
    )
    attach_to_waba(gateway, "SID1", "KEY1", "WABA1", profile["profile_id"])
    return gateway, profile


def wait_for_delivery(
    gateway: RunningProcess,
    delivery_id: str,
    status: str,
    sid: str = "SID1",
    key: str = "KEY1",
) -> dict[str, Any]:
    found: dict[str, Any] = wait_until(
        lambda: (d := delivery(gateway, delivery_id, sid, key))["status"] == status and d,
        PATIENCE,
        f"delivery {delivery_id} to be {status}",
    )
    return found


def only_delivery(gateway: RunningProcess, sid: str = "SID1", key: str = "KEY1") -> dict[str, Any]:
    """The one delivery of the account, once it exists."""
    items: list[dict[str, Any]] = wait_until(
        lambda: deliveries(gateway, sid, key), PATIENCE, "a delivery"
    )
    assert len(items) == 1, items
    return items[0]


# --- 1. kill -9 during a burst ----------------------------------------------------------------


@dataclass
class Burst:
    """What a burst of uploads got back."""

    accepted: list[str] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    finished_at: float | None = None


async def send_uploads(
    url: str, count: int, concurrency: int, stop: threading.Event, burst: Burst
) -> None:
    """POST ``count`` tiny PNGs, ``concurrency`` at a time, until done or ``stop`` is set."""
    remaining = iter(range(count))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def sender() -> None:
            for index in remaining:
                if stop.is_set():
                    return
                try:
                    response = await client.post(
                        url,
                        headers={"api-key": "KEY1"},
                        files={"file": (f"burst-{index}.png", PNG, "image/png")},
                        data={"type": "image/png"},
                    )
                except httpx.HTTPError as exc:
                    burst.refused[type(exc).__name__] += 1
                    continue
                if response.status_code == 202:
                    burst.accepted.append(response.json()["data"]["id"])
                else:
                    burst.refused[f"HTTP {response.status_code}"] += 1

        await asyncio.gather(*(sender() for _ in range(concurrency)))
    burst.finished_at = time.monotonic()


def test_kill_9_during_a_burst_loses_no_callback(
    start_gateway: GatewayFactory,
    sandbox: RunningProcess,
    receiver: RunningProcess,
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "burst-data"
    env = gateway_env(
        sandbox,
        WAGATE_JOB_LEASE_SECONDS="3",  # what the killed process held is free again soon
        WAGATE_RETRY_SCHEDULE="1,1,1,1,1,1,1,1",
        WAGATE_LOG_LEVEL="WARNING",
        WAGATE_TRANSFER_CONCURRENCY=os.environ.get("XTC", "4"),
    )
    gateway, profile = new_gateway_with_profile(
        start_gateway, env, f"{receiver.url}/ok/burst", data_dir=data_dir
    )
    url = f"{gateway.url}/v2/SID1/whatsapp/WABA1/resumable_media"
    burst, stop = Burst(), threading.Event()
    started = time.monotonic()
    sending = threading.Thread(
        target=lambda: asyncio.run(send_uploads(url, BURST_UPLOADS, BURST_CONCURRENCY, stop, burst))
    )
    sending.start()
    try:
        seen_at_kill = len(
            wait_until(
                lambda: len(got := received(receiver)) >= KILL_AFTER_CALLBACKS and got,
                PATIENCE,
                f"{KILL_AFTER_CALLBACKS} callbacks before the kill",
            )
        )
        gateway.kill()
        killed_at = time.monotonic()
    finally:
        stop.set()
        sending.join(60)
    assert not sending.is_alive()
    uploads_done_before_kill = burst.finished_at is not None and burst.finished_at <= killed_at
    print(
        f"\nburst: {len(burst.accepted)} uploads accepted, refused {dict(burst.refused)}; "
        f"killed after {killed_at - started:.1f}s with {seen_at_kill} callbacks received "
        + (
            f"(uploads all sent in {burst.finished_at - started:.1f}s)"
            if uploads_done_before_kill and burst.finished_at is not None
            else "(uploads still being sent)"
        )
    )
    assert len(burst.accepted) >= KILL_AFTER_CALLBACKS

    restarted = start_gateway(env=env, data_dir=data_dir)
    restarted_at = time.monotonic()
    accepted = set(burst.accepted)

    def all_received() -> list[dict[str, Any]] | None:
        ids = {r["headers"]["webhook-id"] for r in received(receiver)}
        if len(ids) < len(accepted):
            return None
        listed = deliveries(restarted)
        covered = {d["subject_id"] for d in listed} >= accepted
        return listed if covered and {d["id"] for d in listed} <= ids else None

    listed = wait_until(all_received, PATIENCE, "every listed delivery at the receiver")
    finished_at = time.monotonic()
    records = received(receiver)
    per_id = Counter(r["headers"]["webhook-id"] for r in records)
    per_upload = Counter(d["subject_id"] for d in listed)
    unacknowledged = set(per_upload) - accepted  # committed, but the 202 never came back
    print(
        f"burst: all {len(listed)} deliveries received {finished_at - started:.1f}s after the "
        f"first upload ({finished_at - restarted_at:.1f}s after the restart); "
        f"{len(records)} requests, {sum(1 for n in per_id.values() if n > 1)} ids received "
        f"more than once (max {max(per_id.values())}); "
        f"{len(unacknowledged)} deliveries for uploads whose 202 was lost"
    )
    assert all(n == 1 for n in per_upload.values()), "one UPLOADED callback per upload"
    assert len(listed) == len(accepted) + len(unacknowledged)
    assert set(per_id) == {d["id"] for d in listed}, "nothing the API does not know was sent"
    assert all(r["target"] == "/ok/burst" for r in records)
    assert all(r["headers"]["webhook-id"].startswith("msg_") for r in records)
    sample = next(r for r in records if per_id[r["headers"]["webhook-id"]] == 1)
    assert_signed(sample, profile["secret"])

    def all_succeeded() -> list[dict[str, Any]] | None:
        got = deliveries(restarted)
        return got if all(d["status"] == "succeeded" for d in got) else None

    assert len(wait_until(all_succeeded, PATIENCE, "every delivery marked succeeded")) == len(
        listed
    )


# --- 2. auto-disable and resume ---------------------------------------------------------------

AUTO_DISABLE_ENV = {
    "WAGATE_PROFILE_AUTO_DISABLE_SECONDS": "2",
    "WAGATE_RETRY_SCHEDULE": "0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5",
}


@pytest.fixture(scope="module")
def auto_disabling_gateway(
    start_module_gateway: GatewayFactory,
    services: tuple[RunningProcess, RunningProcess],
    tmp_path_factory: pytest.TempPathFactory,
) -> RunningProcess:
    """A gateway that disables a profile after 2 s of failures (each test its own account)."""
    data_dir = tmp_path_factory.mktemp("auto-disabling-gateway") / "data"
    return start_module_gateway(env=gateway_env(services[0], **AUTO_DISABLE_ENV), data_dir=data_dir)


def auto_disabled_profile(
    gateway: RunningProcess, receiver: RunningProcess, path: str
) -> tuple[Tenant, dict[str, Any], dict[str, Any]]:
    """A profile failing at ``path`` (a /fail/1000/ one) until auto-disabled on a new account;
    the account, the profile and its delivery."""
    tenant, profile = tenant_with_profile(gateway, f"{receiver.url}{path}")
    sid, key = tenant.sid, tenant.key
    upload(gateway, tenant.waba, sid=sid, key=key)
    wait_until(
        lambda: profile_of(gateway, profile["profile_id"], sid, key)["status"] == 2,
        PATIENCE,
        "auto-disable",
    )
    waiting = only_delivery(gateway, sid, key)
    log = delivery(gateway, waiting["id"], sid, key)["attempt_log"]
    span = datetime.fromisoformat(log[-1]["created_at"]) - datetime.fromisoformat(
        log[0]["created_at"]
    )
    assert span >= timedelta(seconds=2), f"disabled after failing only {span}"
    assert all(a["response_status"] == 500 for a in log)
    # Disabled, the delivery waits: still pending, and nothing more is sent.
    before = len(to_path(receiver, path))
    time.sleep(1.5)
    waiting = delivery(gateway, waiting["id"], sid, key)
    assert waiting["status"] == "pending"
    assert waiting["attempts"] == len(log) < 9
    assert len(to_path(receiver, path)) == before
    return tenant, profile, waiting


def test_auto_disabled_profile_waits_and_resumes_when_re_enabled(
    auto_disabling_gateway: RunningProcess, receiver: RunningProcess
) -> None:
    gateway, path = auto_disabling_gateway, "/fail/1000/resumes"
    tenant, profile, waiting = auto_disabled_profile(gateway, receiver, path)
    sid, key = tenant.sid, tenant.key
    before = len(to_path(receiver, path))
    assert patch_profile(gateway, profile["profile_id"], sid, key, status=1)["status"] == 1
    wait_until(
        lambda: len(to_path(receiver, path)) > before, PATIENCE, "the waiting delivery to resume"
    )

    def attempted_again() -> dict[str, Any] | None:
        # An attempt is recorded once its answer is in, a moment after the receiver has it.
        now = delivery(gateway, waiting["id"], sid, key)
        return now if now["attempts"] > waiting["attempts"] else None

    resumed = wait_until(attempted_again, PATIENCE, "the resumed attempt to be recorded")
    assert resumed["attempt_log"][waiting["attempts"]]["trigger"] == "scheduled"
    # The gateway serves the module's later tests: the delivery ends here (it succeeds, or
    # its schedule has run out), not during theirs.
    ok_url = f"{receiver.url}/ok/resumed"
    patch_profile(gateway, profile["profile_id"], sid, key, url=ok_url, status=1)
    wait_until(
        lambda: delivery(gateway, waiting["id"], sid, key)["status"] in ("succeeded", "dead"),
        PATIENCE,
        "the resumed delivery to end",
    )


def test_auto_disabled_delivery_goes_to_the_fixed_url_once_re_enabled(
    auto_disabling_gateway: RunningProcess, receiver: RunningProcess
) -> None:
    gateway = auto_disabling_gateway
    tenant, profile, waiting = auto_disabled_profile(gateway, receiver, "/fail/1000/fixed")
    sid, key = tenant.sid, tenant.key
    fixed = patch_profile(
        gateway, profile["profile_id"], sid, key, url=f"{receiver.url}/ok/recovered", status=1
    )
    assert fixed["status"] == 1
    done = wait_until(
        lambda: (d := delivery(gateway, waiting["id"], sid, key))["status"] != "pending" and d,
        PATIENCE,
        "the waiting delivery to finish",
    )
    assert done["status"] == "succeeded", done["attempt_log"][-1]
    assert [r["headers"]["webhook-id"] for r in to_path(receiver, "/ok/recovered")] == [
        waiting["id"]
    ]


# --- 3. secret rotation -----------------------------------------------------------------------


def test_rotated_secret_signs_alongside_the_old_one(
    shared_gateway: RunningProcess, receiver: RunningProcess
) -> None:
    gateway = shared_gateway
    tenant, profile = tenant_with_profile(gateway, f"{receiver.url}/ok/rotation")
    sid, key, profile_id = tenant.sid, tenant.key, profile["profile_id"]
    old = profile["secret"]
    upload(gateway, tenant.waba, sid=sid, key=key)
    (before,) = wait_until(lambda: received(receiver), PATIENCE, "a callback before the rotation")
    assert len(before["headers"]["webhook-signature"].split(" ")) == 1
    assert_signed(before, old)

    rotated = patch_profile(gateway, profile_id, sid, key, rotate_secret=True)
    new = rotated["secret"]
    assert new.startswith("whsec_")
    assert new != old
    assert profile_of(gateway, profile_id, sid, key)["secret"] == new
    assert "secret" not in patch_profile(gateway, profile_id, sid, key, title="rotated")

    upload(gateway, tenant.waba, sid=sid, key=key)
    after = wait_until(lambda: received(receiver)[1:], PATIENCE, "a callback after the rotation")[0]
    assert after["headers"]["webhook-id"] != before["headers"]["webhook-id"]
    assert len(after["headers"]["webhook-signature"].split(" ")) == 2
    assert_signed(after, new)
    assert_signed(after, old)


# --- 4. replay and recover --------------------------------------------------------------------


def test_replay_a_dead_delivery_then_recover_the_profile(
    shared_gateway: RunningProcess, receiver: RunningProcess
) -> None:
    gateway = shared_gateway
    tenant, profile = tenant_with_profile(gateway, f"{receiver.url}/fail/1000/x")
    sid, key, profile_id = tenant.sid, tenant.key, profile["profile_id"]
    since = int(time.time()) - 5
    upload(gateway, tenant.waba, sid=sid, key=key)
    upload(gateway, tenant.waba, sid=sid, key=key)
    listed = wait_until(
        lambda: len(d := deliveries(gateway, sid, key)) == 2 and d, PATIENCE, "two deliveries"
    )
    first, second = (wait_for_delivery(gateway, d["id"], "dead", sid, key) for d in listed)
    assert first["attempts"] == second["attempts"] == 3  # the first try and two retries
    assert [a["trigger"] for a in first["attempt_log"]] == ["scheduled"] * 3
    assert len(received(receiver)) == 6

    replay = api(gateway, "POST", f"/v1/{sid}/callback/deliveries/{first['id']}/replay", key)
    assert replay.status_code == 200, replay.text
    replayed = wait_until(
        lambda: (
            (d := delivery(gateway, first["id"], sid, key))["attempts"] == 4
            and d["status"] == "dead"
            and d
        ),
        PATIENCE,
        "the replayed attempt",
    )
    manual = replayed["attempt_log"][3]
    assert manual["trigger"] == "manual"
    assert manual["number"] == 4
    assert manual["response_status"] == 500
    assert manual["next_attempt_at"] is None  # a failed replay of a dead delivery stays dead
    assert len(received(receiver)) == 7

    recover_path = f"/v1/{sid}/callback/profiles/{profile_id}/recover"
    dry = api(gateway, "POST", recover_path, key, json={"since": since, "dry_run": True})
    assert dry.status_code == 200, dry.text
    assert dry.json()["data"] == {"profile_id": profile_id, "count": 2, "dry_run": True}
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    later = api(gateway, "POST", recover_path, key, json={"since": future, "dry_run": True})
    assert later.json()["data"]["count"] == 0
    time.sleep(1.0)
    assert len(received(receiver)) == 7, "a dry run sends nothing"
    assert delivery(gateway, second["id"], sid, key)["attempts"] == 3

    real = api(gateway, "POST", recover_path, key, json={"since": since})
    assert real.status_code == 200, real.text
    assert real.json()["data"] == {"profile_id": profile_id, "count": 2, "dry_run": False}
    for item, attempts in ((first, 5), (second, 4)):
        done = wait_until(
            lambda item=item, attempts=attempts: (
                (d := delivery(gateway, item["id"], sid, key))["attempts"] == attempts
                and d["status"] == "dead"
                and d
            ),
            PATIENCE,
            f"the recovered attempt of {item['id']}",
        )
        assert done["attempt_log"][-1]["trigger"] == "manual"
    records = wait_until(lambda: len(r := received(receiver)) >= 9 and r, PATIENCE, "9 requests")
    assert Counter(r["headers"]["webhook-id"] for r in records) == {first["id"]: 5, second["id"]: 4}

    missing = api(gateway, "POST", f"/v1/{sid}/callback/deliveries/msg_nope/replay", key)
    assert missing.status_code == 404
    assert missing.json()["code"] == "RBC302"


# --- 5. profile CRUD --------------------------------------------------------------------------


def test_profile_crud_paging_and_tenancy(
    shared_gateway: RunningProcess, receiver: RunningProcess
) -> None:
    gateway = shared_gateway  # SID1 and SID2 are this test's alone
    create_tenant(gateway.env)
    create_tenant(gateway.env, sid="SID2", waba_id="WABA9", api_key="KEY2")
    base = "/v1/SID1/callback/profiles"
    made = [
        create_profile(
            gateway, "SID1", "KEY1", title=title, http_method="POST", url=f"{receiver.url}/ok/c"
        )
        for title in ("alpha one", "alpha two", "beta")
    ]
    ids = [p["profile_id"] for p in made]
    other = create_profile(
        gateway, "SID2", "KEY2", title="alpha other", http_method="GET", url=f"{receiver.url}/ok/o"
    )

    def page(**params: Any) -> dict[str, Any]:
        response = api(gateway, "GET", base, params=params)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    everything = page()
    assert everything["total"] == 3
    assert [p["profile_id"] for p in everything["items"]] == ids  # oldest first
    assert all("secret" not in p for p in everything["items"])
    first = page(limit=2, offset=0)
    assert (first["total"], first["limit"], first["offset"]) == (3, 2, 0)
    assert [p["profile_id"] for p in first["items"]] == ids[:2]
    rest = page(limit=2, offset=2)
    assert [p["profile_id"] for p in rest["items"]] == ids[2:]
    assert page(limit=2, offset=4)["items"] == []
    alphas = page(title="alpha")
    assert alphas["total"] == 2
    assert {p["title"] for p in alphas["items"]} == {"alpha one", "alpha two"}
    assert page(title="alpha", limit=1, offset=1)["items"][0]["title"] == "alpha two"
    assert page(title="gamma") == {"items": [], "total": 0, "limit": 20, "offset": 0}
    for bad in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "x"}):
        response = api(gateway, "GET", base, params=bad)
        assert response.status_code == 400, (bad, response.text)
        assert response.json()["code"] == "RBC400"

    got = api(gateway, "GET", f"{base}/{ids[0]}")
    assert got.status_code == 200
    assert got.json()["data"]["secret"] == made[0]["secret"]
    assert got.json()["data"]["title"] == "alpha one"
    assert got.json()["data"]["status"] == 1

    renamed = patch_profile(gateway, ids[0], title="alpha renamed")
    assert renamed["title"] == "alpha renamed"
    assert renamed["url"] == made[0]["url"]
    assert profile_of(gateway, ids[0])["title"] == "alpha renamed"
    assert page(title="renamed")["total"] == 1
    bad_patch = api(gateway, "PATCH", f"{base}/{ids[0]}", json={"title": "x"})
    assert bad_patch.status_code == 400
    assert "title" in bad_patch.json()["error"]
    for status in (2, 7):
        refused = api(gateway, "PATCH", f"{base}/{ids[0]}", json={"status": status})
        assert refused.status_code == 400, (status, refused.text)

    for method in ("GET", "PATCH", "DELETE"):
        wrong_key = api(gateway, method, f"{base}/{ids[0]}", key="nope", json={"title": "abc"})
        assert wrong_key.status_code == 401, (method, wrong_key.text)
        assert wrong_key.json()["code"] == "RBC001"
        other_key = api(gateway, method, f"{base}/{ids[0]}", key="KEY2", json={"title": "abc"})
        assert other_key.status_code == 401, (method, other_key.text)  # KEY2 is not SID1's
    assert api(gateway, "GET", base, key="nope").json()["code"] == "RBC001"
    for method in ("GET", "PATCH", "DELETE"):
        foreign = api(
            gateway, method, f"/v1/SID2/callback/profiles/{ids[0]}", "KEY2", json={"title": "abc"}
        )
        assert foreign.status_code == 404, (method, foreign.text)
        assert foreign.json()["code"] == "RBC302"
        mine = api(gateway, method, f"{base}/{other['profile_id']}", json={"title": "abc"})
        assert mine.status_code == 404, (method, mine.text)
    foreign_attach = api(
        gateway, "PATCH", "/v2/SID2/whatsapp/WABA9", "KEY2", json={"callback_profile_id": ids[0]}
    )
    assert foreign_attach.status_code == 404, foreign_attach.text
    assert profile_of(gateway, ids[0])["title"] == "alpha renamed"  # untouched by SID2
    theirs = api(gateway, "GET", "/v1/SID2/callback/profiles", "KEY2").json()["data"]
    assert [p["profile_id"] for p in theirs["items"]] == [other["profile_id"]]

    deleted = api(gateway, "DELETE", f"{base}/{ids[1]}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["data"] == {"profile_id": ids[1]}
    gone = api(gateway, "GET", f"{base}/{ids[1]}")
    assert gone.status_code == 404
    assert gone.json()["code"] == "RBC302"
    assert api(gateway, "DELETE", f"{base}/{ids[1]}").status_code == 404
    assert api(gateway, "PATCH", f"{base}/{ids[1]}", json={"title": "back"}).status_code == 404
    assert [p["profile_id"] for p in page()["items"]] == [ids[0], ids[2]]


# --- 6. SSRF at send time ---------------------------------------------------------------------


def test_a_target_allowed_when_saved_is_refused_at_send_time_and_dies_at_once(
    start_gateway: GatewayFactory,
    sandbox: RunningProcess,
    receiver: RunningProcess,
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "ssrf-data"
    lenient, _ = new_gateway_with_profile(
        start_gateway, gateway_env(sandbox), f"{receiver.url}/ok/ssrf", data_dir=data_dir
    )
    assert lenient.stop() == 0
    strict = start_gateway(
        env=gateway_env(
            sandbox, WAGATE_CALLBACK_ALLOWED_NETWORKS="", WAGATE_RETRY_SCHEDULE="0.2,0.2"
        ),
        data_dir=data_dir,
    )
    upload(strict)
    refused = wait_for_delivery(strict, only_delivery(strict)["id"], "dead")
    log = refused["attempt_log"]
    assert len(log) == 1, "a target the policy refuses is not retried (the schedule allows two)"
    assert {a["error_class"] for a in log} == {"refused_target"}
    assert all(a["response_status"] is None for a in log)
    assert "127.0.0.1" in log[0]["error"]
    assert received(receiver) == []


# --- 7. redirects are not followed ------------------------------------------------------------


def test_redirects_are_not_followed(
    shared_gateway: RunningProcess, receiver: RunningProcess
) -> None:
    gateway = shared_gateway
    tenant, _ = tenant_with_profile(gateway, f"{receiver.url}/redirect/x")
    sid, key = tenant.sid, tenant.key
    upload(gateway, tenant.waba, sid=sid, key=key)
    dead = wait_for_delivery(gateway, only_delivery(gateway, sid, key)["id"], "dead", sid, key)
    log = dead["attempt_log"]
    assert [a["response_status"] for a in log] == [302, 302, 302]
    assert {a["error_class"] for a in log} == {"http_status"}
    assert all(a["next_attempt_at"] for a in log[:2])
    assert dead["last_response_status"] == 302
    records = received(receiver)
    assert [r["target"] for r in records] == ["/redirect/x"] * 3
    assert to_path(receiver, "/ok/redirected") == []
