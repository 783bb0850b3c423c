"""Limits of the upload API against a real gateway: size, memory, and the rate limit."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import GatewayFactory
from tests.e2e.uploads import BOUNDARY, create_tenant, endless_png_body, make_png
from tests.support import RunningProcess, local_http, rss_bytes, temporary_postgres_database
from tests.unit.test_envelope import SEED_SAMPLES, compact

MIB = 1024 * 1024
LIMIT = 100 * MIB


def endpoint(gateway: RunningProcess) -> str:
    return f"{gateway.url}/v2/SID1/whatsapp/WABA1/resumable_media"


def files_under(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()]


@pytest.fixture
def gateway(start_gateway: GatewayFactory) -> RunningProcess:
    gateway = start_gateway()
    create_tenant(gateway.env)
    return gateway


def test_a_100_mb_upload_streams_with_bounded_memory(
    gateway: RunningProcess, tmp_path: Path
) -> None:
    media = Path(gateway.env["WAGATE_DATA_DIR"]) / "media"
    big = make_png(tmp_path / "big.png", LIMIT)
    local_http.get(gateway.url + "/healthz")
    rss_before, _ = rss_bytes(gateway.pid)
    result = subprocess.run(
        ["curl", "-s", "-X", "POST", endpoint(gateway), "-H", "api-key: KEY1",
         "-F", f"file=@{big};type=image/png", "-F", "type=image/png", "-w", "\n%{http_code}"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    assert result.stdout.endswith("\n202"), result.stdout
    _, peak_after = rss_bytes(gateway.pid)
    growth = peak_after - rss_before
    assert growth < 64 * MIB, f"peak RSS grew by {growth / MIB:.1f} MiB"
    stored = files_under(media)
    assert len(stored) == 1
    assert stored[0].stat().st_size == LIMIT


def test_a_chunked_upload_over_the_limit_is_refused_and_leaves_nothing(
    gateway: RunningProcess,
) -> None:
    media = Path(gateway.env["WAGATE_DATA_DIR"]) / "media"
    with httpx.Client(timeout=60) as client:
        try:
            response = client.post(
                endpoint(gateway),
                headers={
                    "api-key": "KEY1",
                    "content-type": f"multipart/form-data; boundary={BOUNDARY}",
                },
                content=endless_png_body(LIMIT + 5 * MIB),
            )
        except httpx.TransportError as exc:  # pragma: no cover - the answer must arrive
            pytest.fail(f"the 413 did not reach the client: {exc!r}")
    assert response.status_code == 413
    assert response.content == compact(SEED_SAMPLES["WA413"])
    assert files_under(media) == []


def test_a_content_length_over_the_limit_is_refused_before_reading(gateway: RunningProcess) -> None:
    port = int(gateway.url.rsplit(":", 1)[1])
    head = (
        "POST /v2/SID1/whatsapp/WABA1/resumable_media HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\napi-key: KEY1\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {LIMIT + 2 * MIB}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413 ")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_forty_simultaneous_uploads_give_exactly_twenty_202_and_twenty_429(
    start_gateway: GatewayFactory, backend: str, tmp_path: Path
) -> None:
    def run(env: dict[str, str]) -> list[int]:
        # All forty may be arriving at once: only the WABA's hourly limit is under test here.
        gateway = start_gateway(env={**env, "WAGATE_UPLOADS_IN_PROGRESS_PER_ACCOUNT": "40"})
        create_tenant(gateway.env)
        png = make_png(tmp_path / "small.png", 20_000).read_bytes()

        async def burst() -> list[int]:
            limits = httpx.Limits(max_connections=40)
            async with httpx.AsyncClient(timeout=60, limits=limits) as client:
                barrier = asyncio.Event()

                async def one() -> int:
                    await barrier.wait()
                    response = await client.post(
                        endpoint(gateway),
                        headers={"api-key": "KEY1"},
                        files={"file": ("small.png", png, "image/png")},
                        data={"type": "image/png"},
                    )
                    return response.status_code

                tasks = [asyncio.create_task(one()) for _ in range(40)]
                await asyncio.sleep(0.05)
                barrier.set()
                return await asyncio.gather(*tasks)

        return asyncio.run(burst())

    if backend == "sqlite":
        statuses = run({})
    else:
        with temporary_postgres_database() as url:
            statuses = run({"WAGATE_DATABASE_URL": url})
    assert sorted(statuses) == [202] * 20 + [429] * 20
