"""HTTP clients that post a file as a multipart upload, timed from first byte to answer."""

from __future__ import annotations

import json
import resource
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

BOUNDARY = "wagate-bench-boundary-5c1e"
READ_CHUNK = 1024 * 1024


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


async def _streamed_body(path: Path, head: bytes, tail: bytes) -> AsyncIterator[bytes]:
    yield head
    with path.open("rb") as file:
        while chunk := file.read(READ_CHUNK):
            yield chunk
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
