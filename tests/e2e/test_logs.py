"""Logs of a real gateway: one line per request and per job, with ids, and no secret at any
level."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.e2e.callbacks import attach_to_waba, create_profile, received, receiver_process
from tests.e2e.conftest import GatewayFactory
from tests.e2e.messaging import NUMBER_A, PNID_A, SEED_002_BODY, TEMPLATE
from tests.e2e.sandbox import resumable_media_url, sandbox_process, wait_for_status
from tests.e2e.uploads import create_number, create_tenant, make_png
from tests.support import PATIENCE, local_http, wait_until

API_KEY = "log-test-key-d41d8cd98f00b204"
ACCESS_TOKEN = "log-test-meta-token-9e107d9d372bb682"


def log_lines(text: str) -> list[dict[str, Any]]:
    """Every line of the log as JSON; a line that is not JSON fails the test."""
    lines = []
    for raw in text.splitlines():
        if raw.strip():
            try:
                lines.append(json.loads(raw))
            except ValueError as exc:
                raise AssertionError(f"not a JSON log line: {raw!r}") from exc
    return lines


def test_json_logs_name_the_upload_in_its_request_and_job_lines_and_hide_secrets(
    start_gateway: GatewayFactory, tmp_path: Path
) -> None:
    env = {
        "WAGATE_LOG_FORMAT": "json",
        "WAGATE_META_ACCESS_TOKEN": ACCESS_TOKEN,
        "WAGATE_DATA_DIR": str(tmp_path / "data"),
    }
    create_tenant(env, api_key=API_KEY)
    with sandbox_process(tmp_path, env={"WAGATE_META_ACCESS_TOKEN": ACCESS_TOKEN}) as sandbox:
        gateway = start_gateway(env={**env, "WAGATE_GRAPH_URL": sandbox.url})
        media = make_png(tmp_path / "logged.png", 300_000)
        with media.open("rb") as file:
            answer = local_http.post(
                resumable_media_url(gateway),
                headers={"api-key": API_KEY},
                files={"file": (media.name, file, "image/png")},
                data={"type": "image/png"},
                timeout=30,
            )
        assert answer.status_code == 202, answer.text
        upload_id = answer.json()["data"]["id"]
        record = wait_for_status(gateway, upload_id, "UPLOADED", timeout=PATIENCE, key=API_KEY)
        link = record["file_link"]
        assert local_http.get(link, timeout=10).status_code == 200
        gateway.stop()

    text = gateway.log()
    lines = log_lines(text)
    accepted = [
        line for line in lines if line.get("event") == "http.request" and line.get("status") == 202
    ]
    assert len(accepted) == 1
    assert accepted[0]["upload_id"] == upload_id
    assert accepted[0]["request_id"] == answer.headers["x-request-id"]
    assert accepted[0]["method"] == "POST"

    transfer = [
        line
        for line in lines
        if line.get("event") == "item.done" and line.get("kind") == "transfer_upload"
    ]
    assert [line["upload_id"] for line in transfer] == [upload_id]
    assert transfer[0]["job_id"]
    assert all({"timestamp", "level", "logger"} <= line.keys() for line in lines)

    token = urlsplit(link).path.rsplit("/", 1)[1]
    for secret in (API_KEY, ACCESS_TOKEN, token):
        assert secret not in text
    downloads = [line for line in lines if str(line.get("path", "")).startswith("/media/")]
    assert [line["path"] for line in downloads] == ["/media/…"]


DEBUG_SECRETS = {
    "api key": "debug-flow-api-key-5f4dcc3b5aa765d6",
    "Meta access token": "EAAdebugflowmetatoken7c6a180b36896a0a",
    "Meta app secret": "debug-flow-app-secret-2c26b46b68ffc68f",
    "Meta verify token": "debug-flow-verify-token-fcde2b2edba56bf4",
    "custom header value": "debug-flow-bearer-c3499c2729730a7f",
    "portal session key": "debug-flow-portal-key-0cc175b9c0f1b6a8",
}


def test_a_full_flow_at_debug_logs_none_of_its_secrets(
    start_gateway: GatewayFactory, tmp_path: Path
) -> None:
    meta = {
        "WAGATE_META_ACCESS_TOKEN": DEBUG_SECRETS["Meta access token"],
        "WAGATE_META_APP_SECRET": DEBUG_SECRETS["Meta app secret"],
        "WAGATE_META_APP_ID": "APP-DEBUG",
    }
    env = {
        **meta,
        "WAGATE_DATA_DIR": str(tmp_path / "data"),
        "WAGATE_LOG_LEVEL": "DEBUG",
        "WAGATE_META_VERIFY_TOKEN": DEBUG_SECRETS["Meta verify token"],
        "WAGATE_PORTAL_SESSION_KEY": DEBUG_SECRETS["portal session key"],
        "WAGATE_CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8",
    }
    api_key = DEBUG_SECRETS["api key"]
    create_tenant(env, api_key=api_key)
    create_number(env, NUMBER_A, PNID_A)
    with (
        receiver_process(tmp_path) as receiver,
        sandbox_process(tmp_path, env=meta) as sandbox,
    ):
        gateway = start_gateway(env={**env, "WAGATE_GRAPH_URL": sandbox.url})
        sandbox.send_webhooks_to(f"{gateway.url}/webhooks/meta")
        sandbox.register_number(PNID_A, NUMBER_A, "WABA1")
        verified = local_http.get(
            f"{gateway.url}/webhooks/meta",
            params={"hub.mode": "subscribe", "hub.challenge": "42",
                    "hub.verify_token": DEBUG_SECRETS["Meta verify token"]},
            timeout=30,
        )  # fmt: skip
        assert verified.text == "42"
        bearer = f"Bearer {DEBUG_SECRETS['custom header value']}"
        profile = create_profile(
            gateway, "SID1", api_key, title="debug flow", http_method="POST",
            url=f"{receiver.url}/ok/profile", body=SEED_002_BODY,
            headers={"Authorization": bearer},
        )  # fmt: skip
        attach_to_waba(gateway, "SID1", api_key, "WABA1", profile["profile_id"])
        attached = local_http.patch(
            f"{gateway.url}/v2/SID1/whatsapp/WABA1/numbers/{NUMBER_A}",
            headers={"api-key": api_key},
            json={"callback_profile_id": profile["profile_id"],
                  "webhook_url": f"{receiver.url}/ok/push"},
            timeout=30,
        ).json()["data"]  # fmt: skip

        media = make_png(tmp_path / "debug.png", 100_000)
        with media.open("rb") as file:
            accepted = local_http.post(
                resumable_media_url(gateway),
                headers={"api-key": api_key},
                files={"file": (media.name, file, "image/png")},
                data={"type": "image/png"},
                timeout=60,
            )
        assert accepted.status_code == 202, accepted.text
        wait_for_status(gateway, accepted.json()["data"]["id"], "UPLOADED", PATIENCE, key=api_key)
        sent = local_http.post(
            f"{gateway.url}/v2/SID1/whatsapp/{NUMBER_A}/messages",
            headers={"api-key": api_key},
            json={"messaging_object": TEMPLATE, "extra_info": {"ref": "debug-flow"}},
            timeout=30,
        )
        assert sent.status_code == 200, sent.text
        sandbox.status(sent.json()["data"]["wamid"], "delivered")

        def callbacks_arrived() -> bool:
            targets = [record["target"] for record in received(receiver)]
            return (
                sum(t.startswith("/ok/profile") for t in targets) >= 2  # UPLOADED, delivered
                and sum(t.startswith("/ok/push") for t in targets) >= 1
            )

        wait_until(callbacks_arrived, PATIENCE, "the upload's and the message's callbacks")
        records = received(receiver)
        assert all(
            r["headers"].get("Authorization") == bearer for r in records if "profile" in r["target"]
        )
        gateway.stop()

    text = gateway.log()
    assert "[debug    ] retention.nothing_to_purge" in text, "the gateway logged at DEBUG"
    secrets = {
        **DEBUG_SECRETS,
        "profile signing secret": profile["secret"],
        "number signing secret": attached["webhook_secret"],
    }
    assert secrets["profile signing secret"].startswith("whsec_")
    leaked = [name for name, secret in secrets.items() if secret in text]
    assert leaked == [], f"the log has the {', '.join(leaked)}"
