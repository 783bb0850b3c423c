"""``wagate listen`` receives a real gateway's deliveries and checks their signatures.

Real processes on 127.0.0.1: the gateway, the Meta sandbox, and ``wagate
listen`` as the customer's endpoint for a number's status callbacks (GET,
through a profile) and its webhook pushes (POST). Afterwards the delivery log
is read with ``wagate deliveries list``, whose ids must survive a narrow
terminal.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.callbacks import api, create_profile
from tests.e2e.conftest import GatewayFactory
from tests.e2e.messaging import META_ENV, SEED_002_FIELDS, messages_env, patch_number, sent
from tests.e2e.sandbox import sandbox_process
from tests.e2e.uploads import create_number, create_tenant
from tests.support import PATIENCE, free_port, local_http, wagate_command, wait_until

NUMBER, PHONE_NUMBER_ID = "15550001001", "106540000000001"
SEED_002_QUERY = "&".join(f"{name}=<{name}>" for name in SEED_002_FIELDS)


class Listening:
    """A running ``wagate listen --json`` and the JSON lines it printed."""

    def __init__(self, port: int, secrets: list[str], output: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.output = output
        flags = [arg for secret in secrets for arg in ("--secret", secret)]
        with output.open("wb") as out:
            self.process = subprocess.Popen(
                wagate_command("listen", "--port", str(port), "--json", *flags),
                stdout=out,
                stderr=subprocess.PIPE,
            )

        def accepting() -> bool:
            assert self.process.poll() is None, self.process.stderr
            with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
            return False

        wait_until(accepting, PATIENCE, "wagate listen to accept connections")

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.output.read_text().splitlines() if line]

    def wait_for(self, count: int) -> list[dict[str, Any]]:
        return wait_until(
            lambda: self.lines() if len(self.lines()) >= count else None,
            PATIENCE,
            f"{count} requests printed by wagate listen",
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    env = {"WAGATE_DATA_DIR": str(tmp_path / "data")}
    create_tenant(env)
    create_number(env, NUMBER, PHONE_NUMBER_ID)
    return env


def test_listen_verifies_real_deliveries_and_rejects_a_tampered_one(
    start_gateway: GatewayFactory, environment: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    with sandbox_process(tmp_path, env=META_ENV) as meta:
        gateway = start_gateway(
            env={**messages_env(meta), **environment}, data_dir=tmp_path / "data"
        )
        meta.send_webhooks_to(f"{gateway.url}/webhooks/meta")
        meta.register_number(PHONE_NUMBER_ID, NUMBER, "WABA1")
        profile = create_profile(
            gateway, "SID1", "KEY1", title="message status", http_method="GET",
            url=f"http://127.0.0.1:{port}/status?{SEED_002_QUERY}",
        )  # fmt: skip
        attached = patch_number(
            gateway,
            NUMBER,
            callback_profile_id=profile["profile_id"],
            webhook_url=f"http://127.0.0.1:{port}/push",
        )
        listener = Listening(
            port, [profile["secret"], attached["webhook_secret"]], tmp_path / "listen.out"
        )
        try:
            message_id, wamid = sent(gateway, NUMBER, ref="order-42")
            meta.status(wamid, "delivered")
            received = listener.wait_for(2)
            by_method = {r["method"]: r for r in received}
            assert set(by_method) == {"GET", "POST"}, received
            assert all(r["verified"] for r in received), received
            status = by_method["GET"]
            assert status["query"]["id"] == message_id
            assert status["query"]["status"] == "delivered"
            assert status["query"]["ref"] == "order-42"
            push = by_method["POST"]
            assert push["body"]["statuses"][0]["id"] == wamid

            headers = {
                "webhook-id": push["webhook_id"],
                "webhook-timestamp": push["webhook_timestamp"],
                "webhook-signature": push["webhook_signature"],
                "content-type": "application/json",
            }
            sent_body = api(gateway, "GET", f"/v1/SID1/callback/deliveries/{push['webhook_id']}")
            genuine = sent_body.json()["data"]["body"].encode()
            tampered = genuine.replace(b'"delivered"', b'"read"')
            assert tampered != genuine
            again = local_http.post(listener.url + "/push", content=genuine, headers=headers)
            assert again.status_code == 200, again.text
            refused = local_http.post(listener.url + "/push", content=tampered, headers=headers)
            assert refused.status_code == 401
            replayed, verdict = listener.wait_for(4)[2:]
            assert replayed["verified"] is True
            assert verdict["verified"] is False
            assert "does not match" in verdict["reason"]
        finally:
            listener.stop()

    delivery_ids = {r["webhook_id"] for r in received}
    listed = subprocess.run(
        wagate_command("deliveries", "list", "--sid", "SID1", "--json"),
        env={**os.environ, **environment}, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    document = json.loads(listed.stdout)
    assert {item["id"] for item in document["items"]} >= delivery_ids
    narrow = subprocess.run(
        wagate_command("deliveries", "list", "--sid", "SID1"),
        env={**os.environ, **environment, "COLUMNS": "60"},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    for delivery_id in delivery_ids:
        assert any(delivery_id in line for line in narrow.stdout.splitlines()), narrow.stdout
