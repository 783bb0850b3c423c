"""Bounded requests against a real gateway: stalled, crawling, oversized and forged bodies.

Each request is written on a raw socket, so the test controls exactly when
every byte is sent; the gateway runs with short limits (a 2 s idle timeout)
so that a cut comes quickly, and each test waits on the answer, never on a
clock.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import GatewayFactory
from tests.e2e.uploads import BOUNDARY, PNG_SIGNATURE, multipart_head
from tests.support import RunningProcess, rss_bytes, wait_until

MIB = 1024 * 1024
IDLE_SECONDS = 2
UPLOAD_PATH = "/v2/SID1/whatsapp/WABA1/resumable_media"
#: Long enough for any answer on a loaded machine; the cut itself comes after 2 s.
ANSWER_TIMEOUT = 120.0


@pytest.fixture
def gateway(start_gateway: GatewayFactory, data_dir: Path) -> RunningProcess:
    return start_gateway(
        data_dir=data_dir,
        env={
            "WAGATE_REQUEST_IDLE_TIMEOUT_SECONDS": str(IDLE_SECONDS),
            "WAGATE_UPLOAD_MIN_BYTES_PER_SECOND": "4096",
            "WAGATE_UPLOADS_IN_PROGRESS_PER_ACCOUNT": "2",
            "WAGATE_GRAPH_URL": "http://127.0.0.1:9",  # nothing is transferred anywhere
        },
    )


def port_of(gateway: RunningProcess) -> int:
    return int(gateway.url.rsplit(":", 1)[1])


@contextlib.contextmanager
def connection(gateway: RunningProcess) -> Iterator[socket.socket]:
    with socket.create_connection(("127.0.0.1", port_of(gateway)), timeout=ANSWER_TIMEOUT) as sock:
        yield sock


def upload_head(length: int, api_key: str = "KEY1") -> bytes:
    """The request head of an upload announcing ``length`` bytes of body."""
    return (
        f"POST {UPLOAD_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\napi-key: {api_key}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    answer = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return answer
        if not chunk:
            return answer
        answer += chunk


def media_files(gateway: RunningProcess) -> list[Path]:
    media = Path(gateway.env["WAGATE_DATA_DIR"]) / "media"
    return [path for path in media.rglob("*") if path.is_file()]


def test_an_idle_upload_is_cut_at_the_timeout_and_leaves_no_file(
    gateway: RunningProcess,
) -> None:
    started = multipart_head() + PNG_SIGNATURE + b"\0" * 50_000
    with connection(gateway) as sock:
        sock.sendall(upload_head(len(started) + 10 * MIB) + started)
        answer = read_until_closed(sock)  # the server closes: the rest is never read
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"connection: close" in head.lower()
    assert body == (
        b'{"code":"WA408","message":"Request timeout","data":{},'
        b'"error":{"error":"the request body sent nothing for 2 s"}}'
    )
    assert media_files(gateway) == []


def test_an_upload_below_the_minimum_rate_is_cut_and_leaves_no_file(
    gateway: RunningProcess,
) -> None:
    started = multipart_head() + PNG_SIGNATURE
    with connection(gateway) as sock:
        sock.sendall(upload_head(len(started) + MIB) + started)
        answers: list[bytes] = []
        reader = threading.Thread(target=lambda: answers.append(read_until_closed(sock)))
        reader.start()
        # A byte every 0.2 s never leaves it idle for 2 s, but is far below 4096 bytes/s.
        with contextlib.suppress(OSError):
            while reader.is_alive():
                sock.sendall(b"\0")
                reader.join(0.2)
        reader.join()
    assert answers[0].startswith(b"HTTP/1.1 408 "), answers[0][:200]
    assert b"slower than 4096 bytes a second" in answers[0]
    assert media_files(gateway) == []


def test_a_connection_that_sends_no_request_is_closed(gateway: RunningProcess) -> None:
    with connection(gateway) as sock:
        assert read_until_closed(sock) == b""
    with connection(gateway) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0")  # and the rest never comes
        assert read_until_closed(sock) == b""


def test_a_trickled_json_body_is_cut_at_its_deadline(
    start_gateway: GatewayFactory, data_dir: Path
) -> None:
    gateway = start_gateway(
        data_dir=data_dir, env={"WAGATE_REQUEST_BODY_DEADLINE_SECONDS": str(IDLE_SECONDS)}
    )
    body = b'{"title": "slow", "http_method": "GET", "url": "https://example.com/x"}'
    with connection(gateway) as sock:
        sock.sendall(
            b"POST /v1/SID1/callback/profiles HTTP/1.1\r\nHost: 127.0.0.1\r\napi-key: KEY1\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        answers: list[bytes] = []
        reader = threading.Thread(target=lambda: answers.append(read_until_closed(sock)))
        reader.start()
        with contextlib.suppress(OSError):
            for byte in body:
                if not reader.is_alive():
                    break
                sock.sendall(bytes([byte]))
                reader.join(0.2)
        reader.join()
    assert answers[0].startswith(b"HTTP/1.1 408 "), answers[0][:300]
    assert b"took longer than 2 s" in answers[0]


def test_an_account_has_at_most_its_uploads_in_progress(gateway: RunningProcess) -> None:
    started = multipart_head() + PNG_SIGNATURE
    with contextlib.ExitStack() as stack:
        stalled = [stack.enter_context(connection(gateway)) for _ in range(2)]
        for receiving, sock in enumerate(stalled, start=1):
            sock.sendall(upload_head(len(started) + MIB) + started)
            # Each is being received (its partial file is open) before the next is sent:
            # requests sent at once may take their slots in any order.
            wait_until(
                lambda count=receiving: len(media_files(gateway)) >= count,
                ANSWER_TIMEOUT,
                f"{receiving} uploads being received",
            )

        def third_is_refused() -> bytes | None:
            with connection(gateway) as sock:
                sock.sendall(upload_head(len(started) + MIB) + started)
                answer = read_until_closed(sock)
            return answer if answer.startswith(b"HTTP/1.1 429 ") else None

        # The two stalled uploads hold both slots (until the idle timeout cuts them).
        refused = wait_until(third_is_refused, ANSWER_TIMEOUT, "a 429 for the third upload")
        assert refused.endswith(
            b'{"code":"WA429","message":"Too many requests","data":{},"error":{"error":'
            b'"Too many uploads in progress for this account, please try again when one has '
            b'finished"}}'
        ), refused
        for sock in stalled:
            assert read_until_closed(sock).startswith(b"HTTP/1.1 408 ")
    # The slots are free again once the stalled uploads are cut.
    png = multipart_head() + PNG_SIGNATURE + b"\0" * 1000 + f"\r\n--{BOUNDARY}--\r\n".encode()
    with connection(gateway) as sock:
        sock.sendall(upload_head(len(png)) + png)
        assert sock.recv(65536).startswith(b"HTTP/1.1 202 ")


def send_webhook(gateway: RunningProcess, *, chunked: bool, answers: list[bytes]) -> None:
    """A 50 MB webhook with a forged signature, announced or sent in chunks."""
    size = 50 * MIB
    head = (
        "POST /webhooks/meta HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-Hub-Signature-256: sha256={'0' * 64}\r\n"
        + ("Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {size}\r\n\r\n")
    )
    block = b'{"entry":"' + b"x" * (MIB - 10)
    with connection(gateway) as sock:
        sock.sendall(head.encode())
        with contextlib.suppress(OSError):  # the server closes as soon as it has answered
            for _ in range(size // len(block)):
                sock.sendall(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        answers.append(read_until_closed(sock))


def test_oversized_or_forged_50_mb_webhooks_leave_rss_within_a_few_mb(
    gateway: RunningProcess,
) -> None:
    warm: list[bytes] = []
    send_webhook(gateway, chunked=True, answers=warm)
    send_webhook(gateway, chunked=False, answers=warm)
    rss_before, _ = rss_bytes(gateway.pid)
    answers: list[bytes] = []
    senders = [
        threading.Thread(target=send_webhook, args=(gateway,), kwargs={"chunked": n % 2 == 0,
                                                                       "answers": answers})
        for n in range(8)
    ]  # fmt: skip
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    rss_after, peak = rss_bytes(gateway.pid)
    assert len(answers) == 8
    assert all(answer.startswith(b"HTTP/1.1 413 ") for answer in warm + answers), answers
    assert rss_after - rss_before < 8 * MIB, f"RSS grew by {(rss_after - rss_before) / MIB:.1f} MiB"
    # Never more than one body's worth (3 MB) per request at once.
    assert peak - rss_before < 8 * 3 * MIB + 16 * MIB, f"peak {(peak - rss_before) / MIB:.1f} MiB"
