"""Helpers for callback tests: the receiver process, profiles, and signature checks."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from tests.support import RunningProcess, free_port, local_http, start_process


@contextmanager
def receiver_process(directory: Path) -> Iterator[RunningProcess]:
    """The test receiver (``tests.e2e.receiver``) on a free port, stopped afterwards."""
    port = free_port()
    process = start_process(
        [sys.executable, "-m", "tests.e2e.receiver", "--port", str(port)],
        env={},
        port=port,
        log_path=directory / f"receiver-{port}.log",
        ready_path="/_receiver/health",
    )
    try:
        yield process
    finally:
        process.stop()


def received(receiver: RunningProcess) -> list[dict[str, Any]]:
    """Every request the receiver has recorded."""
    answer = local_http.get(receiver.url + "/_receiver/requests", timeout=30)
    records: list[dict[str, Any]] = answer.json()
    return records


def api(
    gateway: RunningProcess, method: str, path: str, key: str = "KEY1", **kwargs: Any
) -> httpx.Response:
    """A request to the gateway's API with an api-key."""
    return local_http.request(
        method, gateway.url + path, headers={"api-key": key}, timeout=30, **kwargs
    )


def deliveries(
    gateway: RunningProcess, sid: str = "SID1", key: str = "KEY1", **params: Any
) -> list[dict[str, Any]]:
    """Every delivery of the account, through the paged list API."""
    items: list[dict[str, Any]] = []
    offset = 0
    while True:
        response = api(
            gateway,
            "GET",
            f"/v1/{sid}/callback/deliveries",
            key,
            params={**params, "limit": 100, "offset": offset},
        )
        assert response.status_code == 200, response.text
        page = response.json()["data"]
        items.extend(page["items"])
        offset += 100
        if offset >= page["total"]:
            return items


def delivery(
    gateway: RunningProcess, delivery_id: str, sid: str = "SID1", key: str = "KEY1"
) -> dict[str, Any]:
    """One delivery with its attempts."""
    response = api(gateway, "GET", f"/v1/{sid}/callback/deliveries/{delivery_id}", key)
    data: dict[str, Any] = response.json()["data"]
    return data


def create_profile(gateway: RunningProcess, sid: str, key: str, **fields: Any) -> dict[str, Any]:
    """Create a callback profile; its wire form (with ``secret``)."""
    response = local_http.post(
        f"{gateway.url}/v1/{sid}/callback/profiles", headers={"api-key": key}, json=fields
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def attach_to_waba(gateway: RunningProcess, sid: str, key: str, waba: str, profile_id: str) -> None:
    response = local_http.patch(
        f"{gateway.url}/v2/{sid}/whatsapp/{waba}",
        headers={"api-key": key},
        json={"callback_profile_id": profile_id},
    )
    assert response.status_code == 200, response.text


def assert_signed(record: dict[str, Any], secret: str) -> None:
    """The request's ``webhook-signature`` is what the standardwebhooks package computes.

    The payload is the body for POST and the request target for GET.
    """
    headers = {k.lower(): v for k, v in record["headers"].items()}
    payload = record["body"] if record["method"] == "POST" else record["raw_target"]
    expected = Webhook(secret).sign(
        headers["webhook-id"],
        datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC),
        payload,
    )
    assert expected in headers["webhook-signature"].split(" ")
    if record["method"] == "POST":
        Webhook(secret).verify(payload, headers)  # also checks the timestamp tolerance


@contextmanager
def sandbox_process(directory: Path) -> Iterator[RunningProcess]:
    """``wagate sandbox`` on a free port, stopped afterwards."""
    port = free_port()
    process = start_process(
        [sys.executable, "-m", "wagate", "sandbox", "--host", "127.0.0.1", "--port", str(port)],
        env={},
        port=port,
        log_path=directory / f"sandbox-{port}.log",
        ready_path="/_sandbox/faults",
    )
    try:
        yield process
    finally:
        process.stop()
