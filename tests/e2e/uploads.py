"""Tenants (accounts, WABAs, numbers) made with the CLI, and upload request builders."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from tests.support import run_wagate

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BOUNDARY = "wagate-test-boundary-7f3a"


def make_png(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that starts like a PNG."""
    with path.open("wb") as file:
        file.write(PNG_SIGNATURE)
        remaining = size - len(PNG_SIGNATURE)
        while remaining > 0:
            block = os.urandom(min(remaining, 4 * 1024 * 1024))
            file.write(block)
            remaining -= len(block)
    return path


def create_tenant(
    env: Mapping[str, str],
    sid: str = "SID1",
    waba_id: str = "WABA1",
    api_key: str = "KEY1",
    rate_card: Mapping[str, str] | None = None,
) -> str:
    """An account (postpaid, with ``rate_card``) with one v2 WABA; returns the API key."""
    card = ["--rate-card", json.dumps(dict(rate_card))] if rate_card else []
    key = run_wagate(
        "accounts",
        "create",
        "--sid",
        sid,
        "--company-id",
        f"C-{sid}",
        "--api-key",
        api_key,
        *card,
        env=env,
    )
    run_wagate("wabas", "create", "--sid", sid, "--waba-id", waba_id, env=env)
    return key


def create_number(
    env: Mapping[str, str],
    number: str,
    phone_number_id: str,
    sid: str = "SID1",
    waba_id: str = "WABA1",
) -> None:
    """A WhatsApp number of the WABA, known to Meta as ``phone_number_id``."""
    run_wagate(
        "numbers",
        "create",
        "--sid",
        sid,
        "--waba-id",
        waba_id,
        "--number",
        number,
        "--phone-number-id",
        phone_number_id,
        env=env,
    )


def multipart_head(file_name: str = "image.png") -> bytes:
    return (
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="type"\r\n\r\nimage/png\r\n'
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
        f"Content-Type: image/png\r\n\r\n"
    ).encode()


def multipart_tail() -> bytes:
    return f"\r\n--{BOUNDARY}--\r\n".encode()


def endless_png_body(total_file_bytes: int, chunk: int = 1024 * 1024) -> Iterator[bytes]:
    """A multipart body streamed in chunks, with no Content-Length (chunked encoding)."""
    yield multipart_head()
    yield PNG_SIGNATURE
    sent = len(PNG_SIGNATURE)
    block = os.urandom(chunk)
    while sent < total_file_bytes:
        piece = block[: min(chunk, total_file_bytes - sent)]
        sent += len(piece)
        yield piece
    yield multipart_tail()
