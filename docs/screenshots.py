"""Regenerate the portal's screenshots in docs/portal/ (``make screenshots``).

Starts the Meta sandbox (``--auto``) and a gateway on free ports of 127.0.0.1
in a temporary data directory, makes an account with a WABA, a number and a
callback profile, uploads files and sends messages through the API, then
photographs the main pages with Debian's Chromium at a desktop and a phone
width. Needs the dev dependencies (``make install``) and ``chromium``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, sync_playwright

OUT = Path(__file__).parent / "portal"
SID, KEY, WABA, NUMBER, PNID = "acme", "acme-portal-demo-key", "104729301", "15550100200", "PN200"
CHROMIUM = os.environ.get("WAGATE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wagate(*args: str, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "wagate", *args], env=env, check=True, capture_output=True
    )


@contextlib.contextmanager
def serving(args: list[str], env: dict[str, str], url: str, log: Path) -> Iterator[None]:
    """A ``wagate`` server process, once ``url`` answers; stopped afterwards."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "wagate", *args], env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=1).status_code < 500:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"wagate {args[0]} did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield
    finally:
        process.terminate()
        process.wait(30)


def wait_for(check: Any, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.3)
    return result


def make_activity(gateway: str, sandbox: str) -> dict[str, str]:
    """Uploads, messages and their callbacks to photograph; the ids worth a page of their own."""
    client = httpx.Client(base_url=gateway, headers={"api-key": KEY}, timeout=30)
    httpx.post(
        f"{sandbox}/_sandbox/numbers",
        json={"phone_number_id": PNID, "display_phone_number": NUMBER, "waba_id": WABA},
    ).raise_for_status()
    profile = client.post(
        f"/v1/{SID}/callback/profiles",
        json={
            "title": "Order system",
            "http_method": "GET",
            "url": f"{gateway}/healthz?status=<status>&id=<id>&ref=<ref>&file=<file_name>",
        },
    ).json()["data"]
    client.patch(
        f"/v2/{SID}/whatsapp/{WABA}", json={"callback_profile_id": profile["profile_id"]}
    ).raise_for_status()
    # The push URL answers 405 to a POST: its deliveries show failed attempts.
    client.patch(
        f"/v2/{SID}/whatsapp/{WABA}/numbers/{NUMBER}",
        json={"callback_profile_id": profile["profile_id"], "webhook_url": f"{gateway}/healthz"},
    ).raise_for_status()
    uploads = []
    for name in ("invoice-0042.png", "catalogue-spring.png", "banner.png"):
        answer = client.post(
            f"/v2/{SID}/whatsapp/{WABA}/resumable_media",
            files={"file": (name, PNG, "image/png")},
            data={"type": "image/png"},
        )
        uploads.append(answer.json()["data"]["id"])
    messages = []
    for index, (to, ref) in enumerate(
        [("919876543210", "order-1041"), ("447700900123", "order-1042"), ("14155550123", "")]
    ):
        body = {
            "messaging_object": {
                "to": to,
                "type": "template",
                "template": {"name": "order_update", "language": {"code": "en_US"}},
            },
            "extra_info": {"ref": ref, "ref1": f"shop-{index + 7}"} if ref else {},
        }
        messages.append(client.post(f"/v2/{SID}/whatsapp/{NUMBER}/messages", json=body).json())
    message_id = messages[0]["data"]["id"]

    def settled() -> list[dict[str, Any]] | None:
        items = client.get(f"/v1/{SID}/callback/deliveries", params={"limit": 100}).json()
        found = items["data"]["items"]
        mine = [d for d in found if d["subject_id"] == message_id]
        return found if len(mine) >= 6 and any(d["attempts"] >= 2 for d in mine) else None

    found = wait_for(settled, "the callbacks to be sent")
    push = next(d for d in found if d["subject_id"] == message_id and d["method"] == "POST")
    return {
        "upload": uploads[0],
        "message": message_id,
        "delivery": push["id"],
        "profile": profile["profile_id"],
    }


def shoot(page: Page, name: str) -> None:
    path = OUT / f"{name}.png"
    page.wait_for_timeout(300)
    page.screenshot(path=str(path))
    print(f"{path.relative_to(OUT.parent.parent)}: {path.stat().st_size // 1024} KB")


def photograph(gateway: str, ids: dict[str, str]) -> None:
    pages = [
        ("uploads", "/portal/uploads"),
        ("upload", f"/portal/uploads/{ids['upload']}"),
        ("messages", "/portal/messages"),
        ("message", f"/portal/messages/{ids['message']}"),
        ("deliveries", "/portal/deliveries"),
        ("delivery", f"/portal/deliveries/{ids['delivery']}"),
        ("profiles", "/portal/profiles"),
        ("profile", f"/portal/profiles/{ids['profile']}"),
        ("profile-form", "/portal/profiles/new"),
    ]
    on_phone = {"messages", "message", "delivery"}
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for device, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            context = browser.new_context(viewport=viewport, is_mobile=device == "phone")
            page = context.new_page()
            page.goto(f"{gateway}/portal/login")
            if device == "desktop":
                shoot(page, "login-desktop")
            page.get_by_label("SID").fill(SID)
            page.get_by_label("API key").fill(KEY)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/portal/messages")
            for name, path in pages:
                if device == "phone" and name not in on_phone:
                    continue
                page.goto(gateway + path)
                shoot(page, f"{name}-{device}")
            context.close()
        browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="wagate-screenshots-") as temporary:
        directory = Path(temporary)
        gateway_port, sandbox_port = free_port(), free_port()
        gateway, sandbox = f"http://127.0.0.1:{gateway_port}", f"http://127.0.0.1:{sandbox_port}"
        env = {
            **os.environ,
            "WAGATE_DATA_DIR": str(directory / "data"),
            "WAGATE_PUBLIC_URL": gateway,
            "WAGATE_GRAPH_URL": sandbox,
            "WAGATE_SANDBOX_WEBHOOK_URL": f"{gateway}/webhooks/meta",
            "WAGATE_CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8",
            "WAGATE_RETRY_SCHEDULE": "1,2,600",
            "WAGATE_WORKER_GRACE_SECONDS": "2",
        }
        account = ["--sid", SID, "--company-id", "ACME", "--api-key", KEY]
        wagate("accounts", "create", *account, "--rate-card", '{"marketing": "0.0107"}', env=env)
        wagate("wabas", "create", "--sid", SID, "--waba-id", WABA, env=env)
        number = ["--number", NUMBER, "--phone-number-id", PNID]
        wagate("numbers", "create", "--sid", SID, "--waba-id", WABA, *number, env=env)
        sandbox_args = ["sandbox", "--auto", "--host", "127.0.0.1", "--port", str(sandbox_port)]
        serve_args = ["serve", "--host", "127.0.0.1", "--port", str(gateway_port)]
        with (
            serving(sandbox_args, env, f"{sandbox}/_sandbox/faults", directory / "sandbox.log"),
            serving(serve_args, env, f"{gateway}/healthz", directory / "gateway.log"),
        ):
            ids = make_activity(gateway, sandbox)
            photograph(gateway, ids)


if __name__ == "__main__":
    main()
