"""HTTP clients of the benchmarks: multipart uploads timed from first byte to answer,
bursts of small requests at a fixed concurrency, and polling."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import resource
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

T = TypeVar("T")

BOUNDARY = "wagate-bench-boundary-5c1e"
READ_CHUNK = 1024 * 1024
RECIPIENT = "15550100200"
#: Seconds a pooled connection may idle before it is closed: below the 5 s after which
#: uvicorn (the gateway, the sandbox) closes an idle keep-alive connection, so a request is
#: never written to a connection the server is closing.
KEEPALIVE_SECONDS = 2.0


def client_session(limit: int = 100, total_timeout: float | None = None) -> aiohttp.ClientSession:
    """An aiohttp session for the benchmarks' clients, ``limit`` connections at most."""
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=total_timeout),
        connector=aiohttp.TCPConnector(limit=limit, keepalive_timeout=KEEPALIVE_SECONDS),
    )


@dataclass(frozen=True)
class Posted:
    """One upload request: which client sent it, how long it took, what came back."""

    client: str
    seconds: float
    client_cpu: float
    status: int
    body: dict[str, Any]


def _multipart_head(media_type: str, file_name: str) -> bytes:
    return (
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="type"\r\n\r\n{media_type}\r\n'
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
        f"Content-Type: {media_type}\r\n\r\n"
    ).encode()


def _multipart_tail() -> bytes:
    return f"\r\n--{BOUNDARY}--\r\n".encode()


async def read_range(path: Path, offset: int, length: int) -> AsyncIterator[bytes]:
    """``length`` bytes of ``path`` from ``offset``, read from disk in 1 MiB blocks."""
    with path.open("rb") as file:
        file.seek(offset)
        while length > 0 and (block := file.read(min(READ_CHUNK, length))):
            length -= len(block)
            yield block


async def _streamed_body(path: Path, head: bytes, tail: bytes) -> AsyncIterator[bytes]:
    yield head
    async for block in read_range(path, 0, path.stat().st_size):
        yield block
    yield tail


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"raw": text}
    return value if isinstance(value, dict) else {"raw": value}


async def post_streamed(
    session: aiohttp.ClientSession, url: str, api_key: str, path: Path, media_type: str
) -> Posted:
    """POST ``path`` as a hand-built multipart body read from disk in 1 MiB chunks.

    The body has a Content-Length, as curl's has. Time runs from just before
    the request is sent (on a connection already open) until the answer is read.
    """
    head, tail = _multipart_head(media_type, path.name), _multipart_tail()
    headers = {
        "api-key": api_key,
        "content-type": f"multipart/form-data; boundary={BOUNDARY}",
        "content-length": str(len(head) + path.stat().st_size + len(tail)),
    }
    started, cpu = time.perf_counter(), time.process_time()
    async with session.post(url, data=_streamed_body(path, head, tail), headers=headers) as answer:
        text = await answer.text()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Posted("aiohttp, streamed body", seconds, cpu, answer.status, _json(text))


async def post_form_data(
    session: aiohttp.ClientSession, url: str, api_key: str, path: Path, media_type: str
) -> Posted:
    """POST ``path`` with :class:`aiohttp.FormData` and an open file, timed as above."""
    with path.open("rb") as file:
        form = aiohttp.FormData()
        form.add_field("type", media_type)
        form.add_field("file", file, filename=path.name, content_type=media_type)
        started, cpu = time.perf_counter(), time.process_time()
        async with session.post(url, data=form, headers={"api-key": api_key}) as answer:
            text = await answer.text()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Posted("aiohttp, FormData", seconds, cpu, answer.status, _json(text))


def post_with_curl(url: str, api_key: str, path: Path, media_type: str) -> Posted:
    """POST ``path`` with ``curl -F``; the time is curl's own, from pretransfer to the end.

    Its CPU time is that of the whole curl process, start-up included.
    """
    before = _children_cpu()
    result = subprocess.run(
        ["curl", "-s", "-X", "POST", url, "-H", f"api-key: {api_key}",
         "-F", f"file=@{path};type={media_type}", "-F", f"type={media_type}",
         "-w", "\n%{http_code} %{time_pretransfer} %{time_total}"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"curl failed ({result.returncode}): {result.stderr}")
    body, _, timing = result.stdout.rpartition("\n")
    status, pretransfer, total = timing.split()
    seconds = float(total) - float(pretransfer)
    return Posted("curl -F", seconds, _children_cpu() - before, int(status), _json(body))


async def get_json(
    session: aiohttp.ClientSession, url: str, api_key: str
) -> tuple[int, dict[str, Any]]:
    """GET ``url`` with the API key; the status and the decoded JSON body."""
    async with session.get(url, headers={"api-key": api_key}) as answer:
        return answer.status, _json(await answer.text())


async def send_json(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    body: object = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """A request with ``body`` as JSON (none when None); the status and the decoded answer."""
    async with session.request(method, url, json=body, headers=headers) as answer:
        return answer.status, _json(await answer.text())


async def poll(
    check: Callable[[], Awaitable[T | None]], *, every: float, timeout: float, what: str
) -> T:
    """Await ``check`` every ``every`` seconds until it returns a value, for up to ``timeout``."""
    deadline = time.monotonic() + timeout
    while (value := await check()) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} after {timeout:.0f}s")
        await asyncio.sleep(every)
    return value


@dataclass(frozen=True)
class Burst:
    """Requests sent ``concurrency`` at a time: statuses, answers and latencies, in send order."""

    statuses: list[int]
    answers: list[bytes]
    latencies: list[float]
    seconds: float

    @property
    def per_second(self) -> float:
        """Requests answered per second of the whole burst."""
        return len(self.statuses) / self.seconds


async def post_burst(
    session: aiohttp.ClientSession,
    url: str,
    requests: Sequence[tuple[bytes, Mapping[str, str]]],
    concurrency: int,
) -> Burst:
    """POST every ``(body, headers)`` to ``url``, ``concurrency`` in flight, each answer read.

    Each latency runs from just before the request is sent to its answer read;
    the burst's time from the first send to the last answer.
    """
    statuses, answers, latencies = [0] * len(requests), [b""] * len(requests), [0.0] * len(requests)
    pending = iter(range(len(requests)))

    async def sender() -> None:
        for index in pending:
            body, headers = requests[index]
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as answer:
                answers[index] = await answer.read()
            latencies[index] = time.perf_counter() - started
            statuses[index] = answer.status

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return Burst(statuses, answers, latencies, time.perf_counter() - started)


async def send_text_messages(
    session: aiohttp.ClientSession, url: str, api_key: str, count: int, concurrency: int
) -> list[str]:
    """Send ``count`` text messages with the gateway's send API at ``url``; their wamids."""
    headers = {"api-key": api_key, "Content-Type": "application/json"}
    requests = [
        (
            json.dumps(
                {"messaging_object": {"to": RECIPIENT, "type": "text", "text": {"body": f"m{i}"}}}
            ).encode(),
            headers,
        )
        for i in range(count)
    ]
    burst = await post_burst(session, url, requests, concurrency)
    wamids = [_json(answer.decode()).get("data", {}).get("wamid") for answer in burst.answers]
    if set(burst.statuses) != {200} or not all(isinstance(w, str) for w in wamids):
        raise RuntimeError(f"sending messages failed: {burst.statuses[:5]} {burst.answers[:2]}")
    return [str(wamid) for wamid in wamids]


def meta_status_webhook(
    waba_id: str, display_number: str, phone_number_id: str, statuses: Sequence[tuple[str, str]]
) -> bytes:
    """The body of a Meta webhook carrying ``(wamid, status)`` updates, shaped as Meta's are."""
    timestamp = str(int(time.time()))
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display_number, "phone_number_id": phone_number_id},
        "statuses": [
            {
                "id": wamid, "status": status, "timestamp": timestamp, "recipient_id": RECIPIENT,
                "conversation": {"id": f"c{wamid[-12:]}", "origin": {"type": "utility"}},
                "pricing": {"billable": True, "pricing_model": "CBP", "category": "utility"},
            }
            for wamid, status in statuses
        ],
    }  # fmt: skip
    change = {"value": value, "field": "messages"}
    document = {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [change]}],
    }
    return json.dumps(document).encode()


def meta_signed(app_secret: str, body: bytes) -> tuple[bytes, dict[str, str]]:
    """A webhook body with the headers Meta sends: JSON, and its ``X-Hub-Signature-256``."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}
