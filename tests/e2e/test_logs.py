"""JSON logs of a real gateway: one line per request and per job, with ids and no secrets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.e2e.conftest import GatewayFactory
from tests.e2e.sandbox import resumable_media_url, sandbox_process, wait_for_status
from tests.e2e.uploads import create_tenant, make_png

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
            answer = httpx.post(
                resumable_media_url(gateway),
                headers={"api-key": API_KEY},
                files={"file": (media.name, file, "image/png")},
                data={"type": "image/png"},
                timeout=30,
            )
        assert answer.status_code == 202, answer.text
        upload_id = answer.json()["data"]["id"]
        record = wait_for_status(gateway, upload_id, "UPLOADED", timeout=30, key=API_KEY)
        link = record["file_link"]
        assert httpx.get(link, timeout=10).status_code == 200
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
