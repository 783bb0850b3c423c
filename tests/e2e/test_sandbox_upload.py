"""The real Graph client against the sandbox running as a real process on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.support import RunningProcess, free_port, local_http, start_process
from wagate.domain.backoff import Backoff
from wagate.domain.errors import (
    MetaOffsetMismatch,
    MetaPermanentError,
    MetaTransientError,
)
from wagate.upstream import GraphClient, send_resumable

MIB = 1024 * 1024
APP_ID = "sandbox-app-1"
TOKEN = "sandbox-token-1"
VERSION = "v21.0"
ENV = {
    "WAGATE_META_APP_ID": APP_ID,
    "WAGATE_META_ACCESS_TOKEN": TOKEN,
    "WAGATE_GRAPH_VERSION": VERSION,
    "WAGATE_LOG_FORMAT": "console",
}
FAST_BACKOFF = Backoff(base=0.01, cap=0.05, jitter=0.2)
SANDBOX_MAIN = "import typer; from wagate.cli.sandbox_command import sandbox; typer.run(sandbox)"


def start_sandbox(log_path: Path, *flags: str) -> RunningProcess:
    port = free_port()
    return start_process(
        [sys.executable, "-c", SANDBOX_MAIN, "--host", "127.0.0.1", "--port", str(port), *flags],
        env=ENV,
        port=port,
        log_path=log_path,
        ready_path="/_sandbox/faults",
    )


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    running = start_sandbox(tmp_path_factory.mktemp("sandbox") / "sandbox.log")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(autouse=True)
def no_faults(sandbox: RunningProcess) -> Iterator[None]:
    local_http.delete(f"{sandbox.url}/_sandbox/faults").raise_for_status()
    yield
    local_http.delete(f"{sandbox.url}/_sandbox/faults").raise_for_status()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def graph(http: aiohttp.ClientSession, sandbox: RunningProcess, **overrides: object) -> GraphClient:
    options: dict[str, object] = {
        "base_url": sandbox.url,
        "version": VERSION,
        "app_id": APP_ID,
        "access_token": TOKEN,
    }
    options.update(overrides)
    return GraphClient(http, **options)  # type: ignore[arg-type]


@pytest.fixture
def client(http: aiohttp.ClientSession, sandbox: RunningProcess) -> GraphClient:
    return graph(http, sandbox)


def random_file(directory: Path, size: int) -> tuple[Path, str]:
    path = directory / f"media-{size}.mp4"
    digest = hashlib.sha256()
    with path.open("wb") as file:
        for start in range(0, size, MIB):
            block = os.urandom(min(MIB, size - start))
            digest.update(block)
            file.write(block)
    return path, digest.hexdigest()


def reader_of(path: Path) -> Callable[[int, int], AsyncIterator[bytes]]:
    async def read(offset: int, length: int) -> AsyncIterator[bytes]:
        with path.open("rb") as file:
            file.seek(offset)
            remaining = length
            while remaining > 0:
                block = await asyncio.to_thread(file.read, min(256 * 1024, remaining))
                if not block:
                    return
                remaining -= len(block)
                yield block

    return read


async def arm(http: aiohttp.ClientSession, sandbox: RunningProcess, **faults: object) -> None:
    async with http.post(f"{sandbox.url}/_sandbox/faults", json=faults) as response:
        assert response.status == 200, await response.text()


async def inspect(
    http: aiohttp.ClientSession, sandbox: RunningProcess, session_id: str
) -> dict[str, object]:
    async with http.get(f"{sandbox.url}/_sandbox/sessions/{session_id}") as response:
        assert response.status == 200
        found: dict[str, object] = await response.json()
        return found


class RecordedSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(delay)


async def test_a_whole_file_goes_up_chunk_by_chunk(
    client: GraphClient, http: aiohttp.ClientSession, sandbox: RunningProcess, tmp_path: Path
) -> None:
    size = 9 * MIB + 123
    path, sha256 = random_file(tmp_path, size)
    session_id = await client.start_upload_session(path.name, size, "video/mp4")
    assert session_id.startswith("upload:")
    seen: list[int] = []

    async def progress(offset: int) -> None:
        seen.append(offset)

    handle = await send_resumable(
        client, session_id, size, reader_of(path), chunk_bytes=4 * MIB, on_progress=progress
    )
    assert handle.startswith("4:")
    assert seen == [4 * MIB, 8 * MIB, size]
    state = await inspect(http, sandbox, session_id)
    assert state["complete"] is True
    assert state["handle"] == handle
    assert state["sha256"] == sha256
    assert state["bytes_received"] == size
    assert state["requests"] == 3
    assert (state["file_name"], state["file_type"], state["file_length"]) == (
        path.name,
        "video/mp4",
        size,
    )


async def test_a_body_cut_half_way_resumes_from_metas_offset(
    client: GraphClient, http: aiohttp.ClientSession, sandbox: RunningProcess, tmp_path: Path
) -> None:
    size, chunk = 30_000_000, 4 * MIB
    path, sha256 = random_file(tmp_path, size)
    session_id = await client.start_upload_session(path.name, size, "video/mp4")
    armed: list[int] = []

    async def cut_once_past_half(offset: int) -> None:
        if offset >= size // 2 and not armed:
            armed.append(offset)
            await arm(http, sandbox, cut_after_bytes=MIB + 17)

    sleep = RecordedSleep()
    handle = await send_resumable(
        client,
        session_id,
        size,
        reader_of(path),
        chunk_bytes=chunk,
        backoff=FAST_BACKOFF,
        sleep=sleep,
        on_progress=cut_once_past_half,
    )
    state = await inspect(http, sandbox, session_id)
    assert handle == state["handle"]
    assert state["sha256"] == sha256
    assert len(sleep.delays) == 1
    assert state["offset_reads"] == 1
    received = state["bytes_received"]
    assert isinstance(received, int)
    assert size <= received <= size + chunk
    print(f"30 MB, 4 MiB chunks, cut at {armed[0] + MIB + 17}: bytes_received={received}")


async def test_one_body_cut_at_half_the_file_sends_the_other_half_only(
    client: GraphClient, http: aiohttp.ClientSession, sandbox: RunningProcess, tmp_path: Path
) -> None:
    size = 30_000_000
    path, sha256 = random_file(tmp_path, size)
    session_id = await client.start_upload_session(path.name, size, "application/pdf")
    await arm(http, sandbox, cut_after_bytes=size // 2)
    handle = await send_resumable(
        client,
        session_id,
        size,
        reader_of(path),
        chunk_bytes=32 * MIB,
        backoff=FAST_BACKOFF,
    )
    state = await inspect(http, sandbox, session_id)
    assert handle == state["handle"]
    assert state["sha256"] == sha256
    assert state["bytes_received"] == size
    assert state["requests"] == 2
    print(f"30 MB in one body, cut at 50%: bytes_received={state['bytes_received']}")


async def test_a_cut_after_the_last_byte_still_yields_the_handle(
    client: GraphClient, http: aiohttp.ClientSession, sandbox: RunningProcess, tmp_path: Path
) -> None:
    size = 3 * MIB
    path, sha256 = random_file(tmp_path, size)
    session_id = await client.start_upload_session(path.name, size, "image/png")
    await arm(http, sandbox, cut_after_bytes=size)
    handle = await send_resumable(client, session_id, size, reader_of(path), backoff=FAST_BACKOFF)
    state = await inspect(http, sandbox, session_id)
    assert handle == state["handle"]
    assert state["sha256"] == sha256
    assert state["bytes_received"] == size


async def test_three_503s_in_a_row_then_success(
    client: GraphClient, http: aiohttp.ClientSession, sandbox: RunningProcess, tmp_path: Path
) -> None:
    size = 5 * MIB
    path, sha256 = random_file(tmp_path, size)
    session_id = await client.start_upload_session(path.name, size, "video/mp4")
    await arm(http, sandbox, fail_next=3, fail_status=503)
    sleep = RecordedSleep()
    handle = await send_resumable(
        client, session_id, size, reader_of(path), backoff=FAST_BACKOFF, sleep=sleep
    )
    assert len(sleep.delays) == 3
    state = await inspect(http, sandbox, session_id)
    assert handle == state["handle"]
    assert state["sha256"] == sha256


async def test_a_503_is_a_transient_meta_error(
    client: GraphClient, http: aiohttp.ClientSession, sandbox: RunningProcess
) -> None:
    await arm(http, sandbox, fail_next=1, fail_status=503)
    with pytest.raises(MetaTransientError) as caught:
        await client.start_upload_session("a.pdf", 10, "application/pdf")
    assert (caught.value.status, caught.value.code) == (503, 2)
    assert caught.value.fbtrace_id


async def test_giving_up_after_max_attempts_raises_the_last_transient_error(
    client: GraphClient, http: aiohttp.ClientSession, sandbox: RunningProcess, tmp_path: Path
) -> None:
    path, _ = random_file(tmp_path, 1000)
    session_id = await client.start_upload_session(path.name, 1000, "application/pdf")
    await arm(http, sandbox, fail_next=10, fail_status=500)
    with pytest.raises(MetaTransientError) as caught:
        await send_resumable(
            client, session_id, 1000, reader_of(path), backoff=FAST_BACKOFF, max_attempts=3
        )
    assert caught.value.status == 500


async def test_a_bad_token_is_a_permanent_error_190(
    http: aiohttp.ClientSession, client: GraphClient, sandbox: RunningProcess, tmp_path: Path
) -> None:
    intruder = graph(http, sandbox, access_token="not-the-token")
    with pytest.raises(MetaPermanentError) as caught:
        await intruder.start_upload_session("a.pdf", 10, "application/pdf")
    assert (caught.value.status, caught.value.code) == (401, 190)
    assert caught.value.type == "OAuthException"
    assert caught.value.message == "Invalid OAuth access token - Cannot parse access token"
    assert caught.value.fbtrace_id

    path, _ = random_file(tmp_path, 1000)
    session_id = await client.start_upload_session(path.name, 1000, "application/pdf")
    sleep = RecordedSleep()
    with pytest.raises(MetaPermanentError) as caught:
        await send_resumable(intruder, session_id, 1000, reader_of(path), sleep=sleep)
    assert caught.value.code == 190
    assert sleep.delays == []
    with pytest.raises(MetaPermanentError, match="access token"):
        await intruder.get_upload_offset(session_id)


@pytest.mark.parametrize(
    ("app_id", "file_name", "file_length", "file_type", "complaint"),
    [
        ("someone-elses-app", "a.pdf", 10, "application/pdf", "does not exist"),
        (APP_ID, "", 10, "application/pdf", "file_name"),
        (APP_ID, "dir/a.pdf", 10, "application/pdf", "file_name"),
        (APP_ID, "a.pdf", 0, "application/pdf", "file_length"),
        (APP_ID, "a.pdf", -3, "application/pdf", "file_length"),
        (APP_ID, "a.gif", 10, "image/gif", "file_type"),
    ],
)
async def test_a_session_meta_would_refuse_is_a_permanent_error_100(
    http: aiohttp.ClientSession,
    sandbox: RunningProcess,
    app_id: str,
    file_name: str,
    file_length: int,
    file_type: str,
    complaint: str,
) -> None:
    client = graph(http, sandbox, app_id=app_id)
    with pytest.raises(MetaPermanentError) as caught:
        await client.start_upload_session(file_name, file_length, file_type)
    assert (caught.value.status, caught.value.code) == (400, 100)
    assert caught.value.message.startswith("(#100) ")
    assert complaint in caught.value.message


async def test_the_offset_is_read_back_and_a_wrong_one_is_refused(
    client: GraphClient, http: aiohttp.ClientSession, sandbox: RunningProcess, tmp_path: Path
) -> None:
    size = 3 * MIB
    path, sha256 = random_file(tmp_path, size)
    read = reader_of(path)
    session_id = await client.start_upload_session(path.name, size, "video/mp4")
    assert await client.get_upload_offset(session_id) == 0
    progress = await client.upload_from(session_id, 0, read(0, MIB), MIB)
    assert (progress.file_offset, progress.handle) == (MIB, None)
    assert await client.get_upload_offset(session_id) == MIB

    with pytest.raises(MetaOffsetMismatch) as caught:
        await client.upload_from(session_id, 0, read(0, MIB), MIB)
    assert caught.value.expected_offset == MIB
    assert (caught.value.status, caught.value.code) == (400, 100)
    assert await client.get_upload_offset(session_id) == MIB

    handle = await send_resumable(client, session_id, size, read, backoff=FAST_BACKOFF)
    state = await inspect(http, sandbox, session_id)
    assert handle == state["handle"]
    assert state["sha256"] == sha256
    first, refused_duplicate, refused_first_try, rest = MIB, MIB, size, size - MIB
    assert state["bytes_received"] == first + refused_duplicate + refused_first_try + rest


async def test_more_bytes_than_the_file_length_are_refused(
    client: GraphClient, tmp_path: Path
) -> None:
    path, _ = random_file(tmp_path, 2000)
    session_id = await client.start_upload_session(path.name, 1000, "application/pdf")
    with pytest.raises(MetaPermanentError, match="file_length") as caught:
        await client.upload_from(session_id, 0, reader_of(path)(0, 2000), 2000)
    assert caught.value.code == 100


async def test_an_unknown_session_is_a_permanent_error_100(client: GraphClient) -> None:
    with pytest.raises(MetaPermanentError) as caught:
        await client.get_upload_offset("upload:no-such-session")
    assert (caught.value.status, caught.value.code) == (400, 100)

    async def body() -> AsyncIterator[bytes]:
        yield b"x"

    with pytest.raises(MetaPermanentError) as caught:
        await client.upload_from("upload:no-such-session", 0, body(), 1)
    assert caught.value.code == 100


async def test_a_slow_answer_is_a_transient_timeout(
    http: aiohttp.ClientSession, sandbox: RunningProcess
) -> None:
    await arm(http, sandbox, delay_ms=500)
    impatient = graph(http, sandbox, timeout=aiohttp.ClientTimeout(sock_read=0.1))
    with pytest.raises(MetaTransientError, match="timed out"):
        await impatient.start_upload_session("a.pdf", 10, "application/pdf")


async def test_faults_are_set_shown_and_reset_over_http(
    http: aiohttp.ClientSession, sandbox: RunningProcess
) -> None:
    url = f"{sandbox.url}/_sandbox/faults"
    await arm(http, sandbox, cut_after_bytes=100, fail_next=2, fail_status=500, delay_ms=5)
    async with http.get(url) as response:
        assert await response.json() == {
            "cut_after_bytes": 100,
            "fail_next": 2,
            "fail_status": 500,
            "delay_ms": 5,
            "cut_download_after_bytes": None,
            "wrong_sha256_next": 0,
        }
    async with http.post(url, json={"fail_status": 404}) as response:
        assert response.status == 400
    async with http.delete(url) as response:
        assert await response.json() == {
            "cut_after_bytes": None,
            "fail_next": 0,
            "fail_status": 503,
            "delay_ms": 0,
            "cut_download_after_bytes": None,
            "wrong_sha256_next": 0,
        }


async def test_sessions_are_listed_and_found_with_or_without_prefix(
    client: GraphClient, http: aiohttp.ClientSession, sandbox: RunningProcess
) -> None:
    session_id = await client.start_upload_session("a.pdf", 10, "application/pdf")
    bare = session_id.removeprefix("upload:")
    assert (await inspect(http, sandbox, bare))["id"] == session_id
    async with http.get(f"{sandbox.url}/_sandbox/sessions") as response:
        listed = await response.json()
    assert session_id in [entry["id"] for entry in listed["data"]]
    async with http.get(f"{sandbox.url}/_sandbox/sessions/nope") as response:
        assert response.status == 404


async def test_the_command_arms_faults_from_flags_and_stops_on_sigterm(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    running = start_sandbox(
        tmp_path / "flags.log", "--fail-next", "1", "--fail-status", "500", "--cut-after-bytes", "7"
    )
    try:
        async with http.get(f"{running.url}/_sandbox/faults") as response:
            assert await response.json() == {
                "cut_after_bytes": 7,
                "fail_next": 1,
                "fail_status": 500,
                "delay_ms": 0,
                "cut_download_after_bytes": None,
                "wrong_sha256_next": 0,
            }
        client = graph(http, running)
        with pytest.raises(MetaTransientError) as caught:
            await client.start_upload_session("a.pdf", 10, "application/pdf")
        assert caught.value.status == 500
    finally:
        code = running.stop()
    assert code == 0
    log = running.log()
    assert "sandbox.listening" in log
    assert running.url in log
    assert "sandbox.stopping" in log
