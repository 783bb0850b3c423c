"""Health, readiness and metrics of a real gateway process."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import subprocess
from pathlib import Path

from tests.e2e.conftest import GatewayFactory
from tests.e2e.deployment import start_worker
from tests.e2e.uploads import create_tenant
from tests.support import PATIENCE, local_http, run_wagate, wagate_command, wait_until

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 1000


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


def test_ready_and_metrics_count_what_happened(start_gateway: GatewayFactory) -> None:
    # No Graph to reach: transfers stay PENDING, which is what the gauges should show.
    gateway = start_gateway(env={"WAGATE_GRAPH_URL": "http://127.0.0.1:9"})
    create_tenant(gateway.env)
    assert local_http.get(gateway.url + "/healthz").status_code == 200
    ready = wait_until(
        lambda: (answer := local_http.get(gateway.url + "/readyz")).status_code == 200 and answer,
        PATIENCE,
        "the gateway and its worker to be ready",
    )
    assert ready.json()["checks"] == {
        "database": "ok", "migrations": "ok", "storage": "ok", "worker": "ok",
    }  # fmt: skip

    for _ in range(3):
        response = local_http.post(
            f"{gateway.url}/v2/SID1/whatsapp/WABA1/resumable_media",
            headers={"api-key": "KEY1"},
            files={"file": ("a.png", PNG, "image/png")},
            data={"type": "image/png"},
        )
        assert response.status_code == 202
    text = local_http.get(gateway.url + "/metrics").text
    assert metric(text, "wagate_uploads_accepted_total") == 3
    assert metric(text, "wagate_upload_bytes_received_total") == 3 * len(PNG)
    assert metric(text, 'wagate_uploads{status="PENDING"}') == 3
    assert metric(text, 'wagate_queue_depth{kind="purge_upload"}') == 3
    assert "wagate_meta_webhooks_total" in text
    assert "wagate_delivery_lateness_seconds_bucket" in text
    assert metric(text, "wagate_oldest_due_job_age_seconds") >= 0


def run_on_terminal(command: list[str], env: dict[str, str]) -> str:
    """What ``command`` writes when its output is a terminal (a pseudo-terminal)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(command, env=env, stdout=follower, stderr=follower)
    os.close(follower)
    written = bytearray()
    with contextlib.suppress(OSError):  # EIO once the process has closed its side
        while chunk := os.read(leader, 65536):
            written += chunk
    os.close(leader)
    assert process.wait(PATIENCE) == 0, written.decode(errors="replace")
    return written.decode(errors="replace")


def test_the_upload_client_and_the_deliveries_commands(
    start_gateway: GatewayFactory, tmp_path: Path
) -> None:
    gateway = start_gateway(env={"WAGATE_GRAPH_URL": "http://127.0.0.1:9"})
    create_tenant(gateway.env)
    image = tmp_path / "photo.png"
    image.write_bytes(PNG * 50)
    result = subprocess.run(
        wagate_command(
            "upload", str(image), "--url", gateway.url, "--sid", "SID1",
            "--waba-id", "WABA1", "--api-key", "KEY1",
        ),
        env={**os.environ, **gateway.env}, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["code"] == "WA202"
    assert result.stderr == f"photo.png: {len(PNG) * 50} bytes sent, answered 202\n"
    on_terminal = run_on_terminal(
        wagate_command(
            "upload", str(image), "--url", gateway.url, "--sid", "SID1",
            "--waba-id", "WABA1", "--api-key", "KEY1",
        ),
        env={**os.environ, **gateway.env},
    )  # fmt: skip
    assert "━" in on_terminal, on_terminal  # the bar
    assert "50.4/50.4 kB" in on_terminal, on_terminal  # all of it, and it stays
    assert '"code": "WA202"' in on_terminal
    listing = run_wagate("deliveries", "list", "--sid", "SID1", env=gateway.env)
    assert "id" in listing  # an empty table still has its header


def test_a_worker_serves_health_readiness_and_its_own_metrics(tmp_path: Path) -> None:
    env = {"WAGATE_DATA_DIR": str(tmp_path / "data"), "WAGATE_GRAPH_URL": "http://127.0.0.1:9"}
    worker = start_worker(env, tmp_path / "worker.log", status=True)
    try:
        assert local_http.get(worker.url + "/healthz").json() == {"status": "ok"}
        ready = local_http.get(worker.url + "/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "storage": "ok"}
        text = local_http.get(worker.url + "/metrics").text
        assert "wagate_transfer_bytes_total" in text
        assert "wagate_delivery_lateness_seconds_bucket" in text
        assert metric(text, "wagate_oldest_due_job_age_seconds") == 0
    finally:
        assert worker.stop() == 0
