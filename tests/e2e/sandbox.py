"""The Meta sandbox as a real process, and bounded polling of the gateway and the sandbox."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.support import (
    RunningProcess,
    free_port,
    local_http,
    start_process,
    wagate_command,
    wait_until,
)

T = TypeVar("T")


def start_sandbox(
    log_path: Path, *flags: str, env: Mapping[str, str] | None = None
) -> RunningProcess:
    """``wagate sandbox`` on a free port of 127.0.0.1, ready to serve; the caller stops it."""
    port = free_port()
    process = start_process(
        wagate_command("sandbox", "--host", "127.0.0.1", "--port", str(port), *flags),
        env=dict(env or {}),
        port=port,
        log_path=log_path,
        ready_path="/_sandbox/faults",
    )
    process.env = dict(env or {})
    return process


@dataclass
class Sandbox:
    """A running sandbox and its control endpoints."""

    process: RunningProcess

    @property
    def url(self) -> str:
        return self.process.url

    def arm(self, **faults: object) -> dict[str, Any]:
        """Set faults (``cut_after_bytes``, ``fail_next``, ``fail_status``, ``delay_ms``)."""
        response = local_http.post(f"{self.url}/_sandbox/faults", json=faults, timeout=30)
        assert response.status_code == 200, response.text
        armed: dict[str, Any] = response.json()
        return armed

    def reset(self) -> None:
        local_http.delete(f"{self.url}/_sandbox/faults", timeout=30).raise_for_status()

    def sessions(self) -> list[dict[str, Any]]:
        """Every upload session the sandbox opened, as ``/_sandbox/sessions`` shows it."""
        response = local_http.get(f"{self.url}/_sandbox/sessions", timeout=30)
        response.raise_for_status()
        listed: list[dict[str, Any]] = response.json()["data"]
        return listed

    def sessions_of(self, file_name: str) -> list[dict[str, Any]]:
        """The sessions opened for a file name."""
        return [s for s in self.sessions() if s["file_name"] == file_name]

    def session_of(self, file_name: str) -> dict[str, Any] | None:
        """The one session opened for a file name; None before it is opened."""
        found = self.sessions_of(file_name)
        assert len(found) <= 1, f"{len(found)} sessions for {file_name}: {found}"
        return found[0] if found else None

    def control(self, path: str, body: Mapping[str, object]) -> dict[str, Any]:
        """POST a control request (``/_sandbox/…``); its JSON answer."""
        response = local_http.post(f"{self.url}/_sandbox/{path}", json=dict(body), timeout=30)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def send_webhooks_to(self, url: str) -> None:
        """Where the sandbox sends its signed Meta webhooks from now on."""
        self.control("config", {"webhook_url": url})

    def register_number(self, phone_number_id: str, number: str, waba_id: str) -> None:
        """Name a business number in the webhooks about its messages."""
        body = {"phone_number_id": phone_number_id, "display_phone_number": number}
        self.control("numbers", {**body, "waba_id": waba_id})

    def status(self, wamid: str, status: str, **order: object) -> dict[str, Any]:
        """Send the status webhook of a message (``duplicate``, ``errors``, ``pricing``…).

        The answer lists the gateway's responses: the webhook was acknowledged when it returns.
        """
        answer = self.control(f"messages/{wamid}/statuses", {"status": status, **order})
        assert all(code == 200 for code in answer["responses"]), answer
        return answer

    def click(self, wamid: str, **order: object) -> dict[str, Any]:
        """Send the webhook of a quick-reply click on a template message."""
        answer = self.control(f"messages/{wamid}/button", order)
        assert all(code == 200 for code in answer["responses"]), answer
        return answer

    def webhooks(self, wamid: str) -> list[dict[str, Any]]:
        """The webhooks the sandbox sent about a message, with the gateway's answers."""
        response = local_http.get(
            f"{self.url}/_sandbox/webhooks", params={"wamid": wamid}, timeout=10
        )
        response.raise_for_status()
        sent: list[dict[str, Any]] = response.json()["data"]
        return sent

    def messages(self) -> list[dict[str, Any]]:
        """Every message the send endpoint accepted."""
        response = local_http.get(f"{self.url}/_sandbox/messages", timeout=10)
        response.raise_for_status()
        accepted: list[dict[str, Any]] = response.json()["data"]
        return accepted

    def auto(self, **settings: object) -> dict[str, Any]:
        """Change the automatic sent → delivered → read progression."""
        return self.control("auto", settings)


@contextmanager
def sandbox_process(
    directory: Path, *flags: str, env: Mapping[str, str] | None = None
) -> Iterator[Sandbox]:
    """A sandbox for the duration of the block."""
    process = start_sandbox(directory / f"sandbox-{free_port()}.log", *flags, env=env)
    try:
        yield Sandbox(process)
    finally:
        process.stop()


def resumable_media_url(gateway: RunningProcess, sid: str = "SID1", waba: str = "WABA1") -> str:
    return f"{gateway.url}/v2/{sid}/whatsapp/{waba}/resumable_media"


def get_upload(
    gateway: RunningProcess, upload_id: str, *, key: str = "KEY1", **path: str
) -> httpx.Response:
    """``GET …/resumable_media?id=``, as it answers."""
    return local_http.get(
        resumable_media_url(gateway, **path),
        params={"id": upload_id},
        headers={"api-key": key},
        timeout=10,
    )


def upload_record(gateway: RunningProcess, upload_id: str, **options: str) -> dict[str, Any]:
    """The upload's ``data`` from the API."""
    response = get_upload(gateway, upload_id, **options)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def wait_for_status(
    gateway: RunningProcess, upload_id: str, status: str, timeout: float, **options: str
) -> dict[str, Any]:
    """Poll the upload until it is in ``status``; its record then.

    Fails at once if it ends up FAILED when waiting for success, or the other way round.
    """
    wrong = {"FAILED"} if status != "FAILED" else {"UPLOADED", "EXPIRED"}
    seen: list[str] = []

    def check() -> dict[str, Any] | None:
        record = upload_record(gateway, upload_id, **options)
        if not seen or seen[-1] != record["status"]:
            seen.append(record["status"])
        assert record["status"] not in wrong, f"expected {status}, got {record}"
        return record if record["status"] == status else None

    try:
        return wait_until(check, timeout, f"upload {upload_id} to be {status}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; statuses seen: {seen}") from exc
