"""The customer portal in a real Chromium, against real processes on 127.0.0.1.

One gateway, one Meta sandbox (``--auto``: every message is sent, delivered,
read), one callback receiver and one browser serve the whole module. Account
SID1 has WABA1 with an upload-status profile, NUMBER_A (callbacks by
``callback_url``) and NUMBER_B (a message-status profile and a webhook URL);
account SID2 has only WABA2. Every page is audited for other hosts, and every
test's browser context for requests to them (:mod:`tests.e2e.browser`).
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.browser import PortalTab, chromium, expect, portal_tab
from tests.e2e.callbacks import (
    api,
    attach_to_waba,
    create_profile,
    deliveries,
    delivery,
    receiver_process,
)
from tests.e2e.conftest import GatewayFactory
from tests.e2e.messaging import (
    META_ENV,
    NUMBER_A,
    NUMBER_B,
    NUMBERS,
    RATE_CARD,
    SEED_002_BODY,
    WABA,
    messages_env,
    patch_number,
    sent,
    to_path,
    wait_for,
)
from tests.e2e.sandbox import Sandbox, sandbox_process, wait_for_status
from tests.e2e.uploads import PNG_SIGNATURE, create_number, create_tenant
from tests.support import PATIENCE, RunningProcess, local_http, wait_until

SESSION_COOKIE = "wagate_portal"


@dataclass(frozen=True)
class World:
    gateway: RunningProcess
    sandbox: Sandbox
    receiver: RunningProcess
    uploads_profile: dict[str, Any]

    @property
    def url(self) -> str:
        return self.gateway.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


class Tenants:
    """A data directory with SID1 as the messages tests have it, and SID2 with WABA2.

    The CLI makes it in the background while the browser and the other processes start.
    """

    def __init__(self, directory: Path, pool: ThreadPoolExecutor) -> None:
        self._directory = directory
        self._made = pool.submit(self._make)

    def _make(self) -> None:
        env = {"WAGATE_DATA_DIR": str(self._directory)}
        create_tenant(env, rate_card=RATE_CARD)  # first: it creates the schema
        with ThreadPoolExecutor(len(NUMBERS) + 1) as pool:
            made = [pool.submit(create_number, env, *pair) for pair in NUMBERS]
            made.append(pool.submit(create_tenant, env, "SID2", "WABA2", "KEY2"))
            for future in made:
                future.result()

    def copy_to(self, directory: Path) -> Path:
        self._made.result()
        target = directory / "data"
        shutil.copytree(self._directory, target)
        return target


@pytest.fixture(scope="module")
def tenants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenants]:
    with ThreadPoolExecutor(1) as pool:
        yield Tenants(tmp_path_factory.mktemp("portal-tenants"), pool)


@pytest.fixture(scope="module")
def world(
    browser: Any,  # first: without a browser, nothing else is started
    tenants: Tenants,
    start_module_gateway: GatewayFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    directory = tmp_path_factory.mktemp("portal")
    with (
        receiver_process(directory) as receiver,
        sandbox_process(directory, "--auto", env=META_ENV) as meta,
    ):
        data = tenants.copy_to(directory)
        gateway = start_module_gateway(env=messages_env(meta), data_dir=data)
        meta.send_webhooks_to(f"{gateway.url}/webhooks/meta")
        for number, phone_number_id in NUMBERS:
            meta.register_number(phone_number_id, number, WABA)
        uploads_profile = create_profile(
            gateway, "SID1", "KEY1", title="upload status", http_method="GET",
            url=f"{receiver.url}/ok/uploads?status=<status>&file_name=<file_name>",
        )  # fmt: skip
        attach_to_waba(gateway, "SID1", "KEY1", WABA, uploads_profile["profile_id"])
        messages_profile = create_profile(
            gateway, "SID1", "KEY1", title="message status", http_method="POST",
            url=f"{receiver.url}/ok/profile-b", body=SEED_002_BODY,
        )  # fmt: skip
        patch_number(
            gateway,
            NUMBER_B,
            webhook_url=f"{receiver.url}/ok/push-b",
            callback_profile_id=messages_profile["profile_id"],
        )
        yield World(gateway, meta, receiver, uploads_profile)
        log = gateway.log()
        key = (data / "portal-session.key").read_text().strip()
        assert key not in log, "the portal's session key was logged"


def sign_in(tab: PortalTab, sid: str = "SID1", key: str = "KEY1") -> None:
    tab.open("/portal/login")
    tab.page.get_by_label("SID").fill(sid)
    tab.page.get_by_label("API key").fill(key)
    tab.page.get_by_role("button", name="Sign in").click()
    tab.page.wait_for_url(re.compile(r".*/portal/(?!login).*"))
    tab.audit()


@pytest.fixture
def tab(world: World, browser: Any) -> Iterator[PortalTab]:
    """A browser tab signed in as SID1."""
    with portal_tab(browser, world.url) as opened:
        sign_in(opened)
        yield opened


def unique_recipient() -> str:
    return "9198" + str(uuid.uuid4().int)[:8]


def upload(world: World, file_name: str, sid: str = "SID1", key: str = "KEY1") -> str:
    response = local_http.post(
        f"{world.url}/v2/{sid}/whatsapp/{WABA}/resumable_media",
        headers={"api-key": key},
        files={"file": (file_name, PNG_SIGNATURE + b"portal" * 500, "image/png")},
        data={"type": "image/png"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    upload_id: str = response.json()["data"]["id"]
    return upload_id


def deliveries_of(world: World, subject_id: str) -> list[dict[str, Any]]:
    return [d for d in deliveries(world.gateway) if d["subject_id"] == subject_id]


def succeeded_delivery(world: World, subject_id: str) -> str | None:
    """The id of a delivery about the subject that succeeded, once there is one."""
    done = [d["id"] for d in deliveries_of(world, subject_id) if d["status"] == "succeeded"]
    return done[0] if done else None


def session_cookies(tab: PortalTab) -> list[dict[str, Any]]:
    return [c for c in tab.context.cookies() if c["name"] == SESSION_COOKIE]


# --- signing in -----------------------------------------------------------------------------


def test_sign_in_takes_the_sid_and_api_key_and_sign_out_ends_the_session(
    world: World, browser: Any
) -> None:
    with portal_tab(browser, world.url) as tab:
        page = tab.page
        tab.open("/portal/uploads")
        assert page.url.startswith(f"{world.url}/portal/login?next=")

        page.get_by_label("SID").fill("SID1")
        page.get_by_label("API key").fill("not-the-key")
        page.get_by_role("button", name="Sign in").click()
        tab.audit()
        expect(page.get_by_role("alert")).to_have_text("The SID or the API key is wrong.")
        assert tab.context.cookies() == []
        assert page.get_by_role("link", name="Uploads").count() == 0

        page.get_by_label("API key").fill("KEY1")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{world.url}/portal/uploads")
        tab.audit()
        [cookie] = session_cookies(tab)
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Strict"
        assert cookie["path"] == "/portal"
        assert time.time() < cookie["expires"] <= time.time() + 8 * 3600 + 60

        navigation = page.get_by_role("navigation", name="Portal")
        for name in ("Uploads", "Messages", "Deliveries", "Profiles"):
            navigation.get_by_role("link", name=name, exact=True).click()
            expect(page.get_by_role("heading", level=1)).to_have_text(name)
            link = navigation.get_by_role("link", name=name, exact=True)
            expect(link).to_have_attribute("aria-current", "page")
            tab.audit()

        # A session cookie that is tampered with is no session.
        forged = cookie["value"][:-2] + ("AA" if not cookie["value"].endswith("AA") else "BB")
        answer = local_http.get(
            f"{world.url}/portal/messages",
            headers={"Cookie": f"{SESSION_COOKIE}={forged}"},
            timeout=10,
        )
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/portal/login")

        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("status")).to_have_text("You are signed out.")
        assert session_cookies(tab) == []
        tab.open("/portal/messages")
        assert page.url.startswith(f"{world.url}/portal/login")


# --- uploads --------------------------------------------------------------------------------


def test_an_upload_through_the_api_appears_with_its_handle_link_and_callbacks(
    world: World, tab: PortalTab
) -> None:
    page = tab.page
    tab.open("/portal/uploads")
    file_name = f"portal-{uuid.uuid4().hex[:8]}.png"
    upload_id = upload(world, file_name)

    # The open list shows it without a reload.
    link = page.get_by_role("link", name=file_name)
    expect(link).to_be_visible()
    row = page.get_by_role("row").filter(has=link)
    expect(row).to_contain_text("image/png")
    expect(row).to_contain_text("2.9 KB")
    record = wait_for_status(world.gateway, upload_id, "UPLOADED", timeout=PATIENCE)

    link.click()
    tab.audit()
    expect(page.get_by_role("heading", level=1)).to_have_text(file_name)
    main = page.get_by_role("main")
    expect(main).to_contain_text("UPLOADED")
    expect(main).to_contain_text(record["uploaded_file_handle"])
    assert record["uploaded_file_handle"].startswith("4:")
    callbacks = page.get_by_role("table", name="Callbacks about this upload, oldest first")
    uploaded = callbacks.get_by_role("row").filter(has_text="status=UPLOADED")
    expect(uploaded).to_have_count(1)
    expect(uploaded).to_contain_text("succeeded")
    expect(uploaded).to_contain_text("profile upload status")
    # The file_link the callback carried is the one the page shows.
    [arrived] = [r for r in to_path(world.receiver, "/ok/uploads") if file_name in r["target"]]
    assert "status=UPLOADED" in arrived["target"]
    [delivered] = deliveries_of(world, upload_id)
    assert delivered["status"] == "succeeded"
    assert record["file_link"] is not None
    expect(main).to_contain_text(record["file_link"])


# --- messages -------------------------------------------------------------------------------


def test_a_message_leads_to_its_status_timeline_callbacks_and_pushes(
    world: World, tab: PortalTab
) -> None:
    page = tab.page
    ref = f"portal-{uuid.uuid4().hex[:8]}"
    recipient = unique_recipient()
    message_id, wamid = sent(world.gateway, NUMBER_B, to=recipient, ref=ref, ref1="shop-7")

    tab.open("/portal/messages")
    page.get_by_label("Search by recipient, ref or id").fill(ref)
    page.get_by_role("button", name="Search").click()
    tab.audit()
    link = page.get_by_role("link", name=message_id)
    expect(link).to_be_visible()
    row = page.get_by_role("row").filter(has=link)
    expect(row).to_contain_text(recipient)
    expect(row).to_contain_text("template order_update")
    expect(row).to_contain_text(f"{ref}, shop-7")
    expect(row).to_contain_text("read")  # the sandbox's progression, seen without a reload
    expect(row).to_contain_text("0.0107")  # the delivered callback's price (the rate card)
    expect(page.get_by_role("row")).to_have_count(2)  # the header and this message

    link.click()
    tab.audit()
    timeline = page.locator(".timeline li")
    expect(timeline).to_have_count(3)
    for index, status in enumerate(("sent", "delivered", "read")):
        expect(timeline.nth(index)).to_contain_text(status)
        expect(timeline.nth(index).locator(".tag")).to_have_text("forwarded")
    expect(page.get_by_role("main")).to_contain_text(wamid)
    table = page.get_by_role("table", name="Callbacks and pushes about this message, oldest first")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(6)  # a profile callback and a webhook push per status
    expect(rows.filter(has_text="succeeded")).to_have_count(6)
    expect(rows.filter(has_text="profile message status")).to_have_count(3)
    expect(rows.filter(has_text="webhook push")).to_have_count(3)

    rows.first.get_by_role("link").click()
    tab.audit()
    expect(page.get_by_role("heading", name=re.compile(r"^Attempt 1"))).to_be_visible()
    attempt = page.locator(".attempt").first
    expect(attempt).to_contain_text("HTTP 200")
    expect(attempt).to_contain_text("webhook-signature: v1,")
    expect(attempt).to_contain_text(f"POST {world.receiver.url}/ok/")
    page.get_by_role("link", name=re.compile(r"^message ")).click()
    page.wait_for_url(re.compile(r".*/portal/messages/.+"))
    tab.audit()


def test_a_status_recorded_but_not_forwarded_is_marked_so(world: World, tab: PortalTab) -> None:
    world.sandbox.auto(out_of_order=True)  # delivered arrives after read
    try:
        message_id, _ = sent(world.gateway, NUMBER_A, to=unique_recipient())
    finally:
        world.sandbox.auto(out_of_order=False)
    tab.open(f"/portal/messages/{message_id}")
    timeline = tab.page.locator(".timeline li")
    expect(timeline).to_have_count(3)
    expect(timeline.nth(0)).to_contain_text("sent")
    expect(timeline.nth(1)).to_contain_text("read")
    expect(timeline.nth(2)).to_contain_text("delivered")
    expect(timeline.nth(2)).to_contain_text("recorded, not forwarded")
    expect(timeline.filter(has_text="recorded, not forwarded")).to_have_count(1)
    expect(tab.page.locator(".fields").first).to_contain_text("read")


# --- deliveries -----------------------------------------------------------------------------


def test_replay_sends_the_delivery_again_and_its_attempt_appears(
    world: World, tab: PortalTab
) -> None:
    page = tab.page
    prefix = f"/ok/replay-{uuid.uuid4().hex[:8]}"
    message_id, _ = sent(
        world.gateway, NUMBER_A, to=unique_recipient(), callback_url=world.receiver.url + prefix
    )
    wait_for(world.receiver, prefix, 3)

    def sent_callback() -> dict[str, Any] | None:
        found = [
            d
            for d in deliveries_of(world, message_id)
            if d["status"] == "succeeded" and "status=sent" in d["url"]
        ]
        return found[0] if found else None

    target = wait_until(sent_callback, PATIENCE, "the sent callback to succeed")

    tab.open("/portal/deliveries")
    page.get_by_label("Status").select_option("succeeded")
    page.get_by_role("button", name="Filter").click()
    tab.audit()
    expect(page.get_by_role("link", name=target["id"])).to_be_visible()
    page.get_by_role("link", name=target["id"]).click()
    tab.audit()
    expect(page.locator(".attempt")).to_have_count(1)
    expect(page.locator(".attempt")).to_contain_text(f"GET {world.receiver.url}{prefix}?")

    page.get_by_role("button", name="Replay").click()
    tab.audit()
    expect(page.get_by_role("status")).to_contain_text("sent again now")
    expect(page.locator(".attempt")).to_have_count(2)  # arrives while the page is open
    expect(page.get_by_role("heading", name=re.compile(r"^Attempt 2"))).to_contain_text("manual")

    def arrivals() -> list[dict[str, Any]]:
        return [
            r
            for r in to_path(world.receiver, prefix)
            if r["headers"].get("webhook-id") == target["id"]
        ]

    wait_until(lambda: len(arrivals()) == 2, PATIENCE, "the replayed request at the receiver")
    first, again = arrivals()
    assert first["target"] == again["target"]
    assert first["headers"]["webhook-timestamp"] <= again["headers"]["webhook-timestamp"]


def test_recover_shows_how_many_before_replaying_them(world: World, tab: PortalTab) -> None:
    page = tab.page
    path = f"/fail/1000000/recover-{uuid.uuid4().hex[:8]}"
    failing = create_profile(
        world.gateway, "SID1", "KEY1", title="always failing", http_method="POST",
        url=world.receiver.url + path, body=SEED_002_BODY,
    )  # fmt: skip
    try:
        message_id, _ = sent(
            world.gateway, NUMBER_A, to=unique_recipient(),
            callback_profile_id=failing["profile_id"],
        )  # fmt: skip

        def failed_three() -> list[dict[str, Any]] | None:
            found = [d for d in deliveries_of(world, message_id) if d["attempts"] >= 1]
            return found if len(found) == 3 else None

        failed = wait_until(failed_three, PATIENCE, "three failed callbacks")
        tab.open(f"/portal/profiles/{failing['profile_id']}")
        since = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
        page.get_by_label("Since (UTC)").fill(since)
        page.get_by_role("button", name="Recover").click()
        tab.audit()
        expect(page.locator("#recover-count")).to_contain_text("3 failed or dead deliveries")

        page.get_by_role("button", name="Replay 3 deliveries").click()
        tab.audit()
        assert "profile=" in page.url
        expect(page.get_by_role("status")).to_contain_text("sent again now")
        expect(page.get_by_role("table").locator("tbody tr")).to_have_count(3)

        def replayed_by_hand() -> bool:
            logs = [delivery(world.gateway, d["id"])["attempt_log"] for d in failed]
            return all(any(a["trigger"] == "manual" for a in log) for log in logs)

        wait_until(replayed_by_hand, PATIENCE, "a manual attempt of each recovered delivery")
    finally:
        api(world.gateway, "DELETE", f"/v1/SID1/callback/profiles/{failing['profile_id']}")


# --- profiles -------------------------------------------------------------------------------


def test_a_profile_is_made_checked_attached_rotated_and_deleted_with_the_forms(
    world: World, tab: PortalTab
) -> None:
    page = tab.page
    title = f"form {uuid.uuid4().hex[:6]}"
    tab.open("/portal/profiles")
    page.get_by_role("link", name="New profile").click()
    tab.audit()
    placeholders = page.get_by_role("complementary", name="Placeholders")
    expect(placeholders).to_contain_text("<uploaded_file_handle>")
    expect(placeholders).to_contain_text("<ref1>")

    page.get_by_label("Title").fill(title)
    page.get_by_label("Method").select_option("POST")
    page.get_by_label("URL").fill(f"{world.receiver.url}/ok/form")
    page.get_by_label("Body (POST only, a JSON object)").fill('{"state": "<statuz>"}')
    problem = page.locator("#body-problem")
    expect(problem).to_have_text("unknown placeholder <statuz> in body")  # as you type
    page.get_by_label("Body (POST only, a JSON object)").fill('{"state": "<status>"}')
    expect(problem).to_have_text("")
    page.get_by_role("button", name="Create profile").click()
    tab.audit()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Profile {title} created")
    secret = page.locator("#secret").inner_text()
    assert secret.startswith("whsec_")

    listed = api(world.gateway, "GET", "/v1/SID1/callback/profiles", params={"title": title})
    [profile] = listed.json()["data"]["items"]
    assert profile["url"] == f"{world.receiver.url}/ok/form"
    assert profile["http_method"] == "POST"
    profile_id = profile["profile_id"]

    # Refused on submit too, with the form kept as typed.
    tab.open("/portal/profiles/new")
    page.get_by_label("Title").fill("x")
    page.get_by_label("URL").fill("ftp://example")
    page.get_by_role("button", name="Create profile").click()
    tab.audit()
    expect(page.locator("#title-problem")).to_contain_text("at least 3 characters")
    expect(page.locator("#url-problem")).to_contain_text("http://")
    expect(page.get_by_label("URL")).to_have_value("ftp://example")

    # Attached to a number, then detached.
    tab.open("/portal/profiles")
    row = page.get_by_role("row").filter(has_text=NUMBER_A)
    page.get_by_label(f"Profile of {NUMBER_A}").select_option(profile_id)
    row.get_by_role("button", name="Save").click()
    tab.audit()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    expect(page.get_by_label(f"Profile of {NUMBER_A}")).to_have_value(profile_id)
    assert patch_number(world.gateway, NUMBER_A)["callback_profile_id"] == profile_id
    tab.open(f"/portal/profiles/{profile_id}")
    expect(page.get_by_role("main")).to_contain_text(f"number {NUMBER_A}")
    tab.open("/portal/profiles")
    page.get_by_label(f"Profile of {NUMBER_A}").select_option("")
    page.get_by_role("row").filter(has_text=NUMBER_A).get_by_role("button", name="Save").click()
    tab.audit()
    assert patch_number(world.gateway, NUMBER_A)["callback_profile_id"] is None

    # Disabled and enabled, edited, its secret rotated, deleted.
    tab.open(f"/portal/profiles/{profile_id}")
    page.get_by_role("button", name="Disable").click()
    tab.audit()
    expect(page.get_by_role("status")).to_contain_text("disabled")
    page.get_by_role("button", name="Enable").click()
    tab.audit()
    expect(page.get_by_role("status")).to_contain_text("enabled")

    page.get_by_role("link", name="Edit").click()
    tab.audit()
    page.get_by_label("Title").fill(f"{title} edited")
    page.get_by_role("button", name="Save").click()
    tab.audit()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{title} edited")

    page.get_by_role("button", name="Rotate secret").click()
    tab.audit()
    rotated = page.locator("#secret").inner_text()
    assert rotated.startswith("whsec_")
    assert rotated != secret

    tab.open(f"/portal/profiles/{profile_id}")
    page.get_by_role("link", name="Delete").click()
    tab.audit()
    page.get_by_role("button", name="Delete profile").click()
    tab.audit()
    expect(page.get_by_role("status")).to_contain_text("deleted")
    gone = api(world.gateway, "GET", f"/v1/SID1/callback/profiles/{profile_id}")
    assert gone.status_code == 404


# --- isolation and forgery ------------------------------------------------------------------


def test_a_second_account_sees_none_of_the_firsts_data(world: World, browser: Any) -> None:
    ref = f"mine-{uuid.uuid4().hex[:8]}"
    message_id, _ = sent(world.gateway, NUMBER_B, to=unique_recipient(), ref=ref)
    upload_id = upload(world, f"first-{uuid.uuid4().hex[:6]}.png")
    delivery_id = wait_until(lambda: succeeded_delivery(world, message_id), PATIENCE, "a callback")
    profile_id = world.uploads_profile["profile_id"]

    with portal_tab(browser, world.url) as tab:
        page = tab.page
        sign_in(tab, "SID2", "KEY2")
        for path, empty in (
            ("/portal/uploads", "No uploads yet."),
            ("/portal/messages", "No messages yet."),
            ("/portal/deliveries", "No deliveries."),
            ("/portal/profiles", "No profiles yet."),
        ):
            tab.open(path)
            expect(page.get_by_role("main")).to_contain_text(empty)
        expect(page.get_by_role("table", name="WABAs")).to_contain_text("WABA2")
        assert page.get_by_role("table", name="WhatsApp numbers").count() == 0

        tab.open(f"/portal/messages?q={ref}")
        expect(page.get_by_role("main")).to_contain_text(f"No message matches “{ref}”")
        for path in (
            f"/portal/uploads/{upload_id}",
            f"/portal/messages/{message_id}",
            f"/portal/deliveries/{delivery_id}",
            f"/portal/profiles/{profile_id}",
            f"/portal/profiles/{profile_id}/edit",
            f"/portal/deliveries?profile={profile_id}",
        ):
            response = tab.open(path)
            if "?" in path:
                expect(page.get_by_role("main")).to_contain_text("No deliveries")
            else:
                assert response.status == 404, path
                expect(page.get_by_role("heading", level=1)).to_have_text("Not found")

        # SID2's own, valid token does not reach SID1's delivery or profile.
        token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
        before = delivery(world.gateway, delivery_id)
        for path in (
            f"/portal/deliveries/{delivery_id}/replay",
            f"/portal/profiles/{profile_id}/delete",
            f"/portal/profiles/{profile_id}/rotate",
        ):
            answer = tab.context.request.post(
                world.url + path, form={"csrf_token": token}, headers={"Origin": world.url}
            )
            assert answer.status == 404, path
        after = delivery(world.gateway, delivery_id)
        assert (after["status"], after["attempts"]) == (before["status"], before["attempts"])
        assert after["status"] == "succeeded"
        kept = api(world.gateway, "GET", f"/v1/SID1/callback/profiles/{profile_id}")
        assert kept.status_code == 200


def test_a_change_without_this_sessions_csrf_token_or_from_another_site_is_refused(
    world: World, tab: PortalTab
) -> None:
    message_id, _ = sent(world.gateway, NUMBER_B, to=unique_recipient())
    target_id = wait_until(lambda: succeeded_delivery(world, message_id), PATIENCE, "a callback")
    target = delivery(world.gateway, target_id)
    tab.open(f"/portal/deliveries/{target_id}")
    token = tab.page.locator('input[name="csrf_token"]').first.get_attribute("value")
    replay = f"{world.url}/portal/deliveries/{target['id']}/replay"
    post = tab.context.request.post

    assert post(replay, form={}, max_redirects=0).status == 403
    assert post(replay, form={"csrf_token": token[:-1] + "x"}, max_redirects=0).status == 403
    forged_origin = {"Origin": "http://attacker.invalid"}
    assert post(replay, form={"csrf_token": token}, headers=forged_origin).status == 403
    assert delivery(world.gateway, target["id"])["status"] == "succeeded"  # not replayed

    titles_before = api(world.gateway, "GET", "/v1/SID1/callback/profiles").json()["data"]
    made = post(
        f"{world.url}/portal/profiles",
        form={"title": "forged", "http_method": "GET", "url": f"{world.receiver.url}/ok/x"},
    )
    assert made.status == 403
    titles_after = api(world.gateway, "GET", "/v1/SID1/callback/profiles").json()["data"]
    assert titles_after["total"] == titles_before["total"]

    # The sign-in form has its own token; without it nothing is set.
    with httpx.Client(base_url=world.url, timeout=10) as client:
        answer = client.post("/portal/login", data={"sid": "SID1", "api_key": "KEY1"})
        assert answer.status_code == 403
        assert SESSION_COOKIE not in answer.cookies

    # The same request with the token goes through: the refusals above were the token's doing.
    accepted = post(replay, form={"csrf_token": token}, headers={"Origin": world.url})
    assert accepted.status == 200  # followed the redirect to the delivery's page
    assert delivery(world.gateway, target["id"])["status"] in ("pending", "succeeded")


# --- phones and keyboards -------------------------------------------------------------------


def test_the_pages_fit_a_phone_and_work_by_keyboard(world: World, browser: Any) -> None:
    sent(world.gateway, NUMBER_B, to=unique_recipient(), ref="on-a-phone")
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
    with portal_tab(browser, world.url, **phone) as tab:
        page = tab.page
        tab.open("/portal/login")
        expect(page.get_by_label("SID")).to_be_focused()
        page.keyboard.type("SID1")
        page.keyboard.press("Tab")
        page.keyboard.type("KEY1")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{world.url}/portal/messages")
        tab.audit()

        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"

        pages = ["/portal/uploads", "/portal/messages", "/portal/deliveries", "/portal/profiles"]
        for path in [*pages, f"/portal/profiles/{world.uploads_profile['profile_id']}"]:
            tab.open(path)
            width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert width[0] <= width[1], f"{path} is wider than the phone: {width}"
            navigation = page.get_by_role("navigation", name="Portal")
            for name in ("Uploads", "Messages", "Deliveries", "Profiles"):
                expect(navigation.get_by_role("link", name=name, exact=True)).to_be_in_viewport()


def test_the_portal_ships_its_own_style_and_script(world: World) -> None:
    login = local_http.get(f"{world.url}/portal/login", timeout=10)
    policy = login.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert login.headers["x-frame-options"] == "DENY"
    for asset in re.findall(r'(?:href|src)="(/portal/static/[^"]+)"', login.text):
        answer = local_http.get(world.url + asset, timeout=10)
        assert answer.status_code == 200
        # An SVG names its XML namespace with a URL; nothing fetches it.
        text = answer.text.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert not re.search(r"https?://|url\(|@import", text), asset


def test_the_session_key_is_kept_in_the_data_directory(world: World) -> None:
    data = Path(world.gateway.env["WAGATE_DATA_DIR"])
    key_file = data / "portal-session.key"
    assert key_file.exists()
    assert key_file.stat().st_mode & 0o077 == 0
