"""``wagate upload``: upload a file to a gateway, as a customer would, with progress."""

from __future__ import annotations

import asyncio
import json
import mimetypes
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

CHUNK = 1024 * 1024


class GatewayUnreachable(Exception):
    """The gateway could not be reached, or the connection broke before it answered."""


async def upload_file(
    path: Path, *, url: str, sid: str, waba_id: str, api_key: str, media_type: str | None
) -> tuple[int, Any]:
    """POST the file as the provider documents it; the HTTP status and the answer.

    :class:`GatewayUnreachable` says why no answer came.
    """
    kind = media_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    size = (await asyncio.to_thread(path.stat)).st_size
    endpoint = f"{url.rstrip('/')}/v2/{sid}/whatsapp/{waba_id}/resumable_media"
    console = Console(stderr=True)
    # On a terminal, a bar that stays once complete; piped, one plain line at the end.
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task(path.name, total=size)

        async def chunks() -> AsyncIterator[bytes]:
            with path.open("rb") as file:
                while block := await asyncio.to_thread(file.read, CHUNK):
                    progress.advance(task, len(block))
                    yield block

        form = aiohttp.FormData()
        form.add_field("file", chunks(), filename=path.name, content_type=kind)
        form.add_field("type", kind)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=300)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(endpoint, data=form, headers={"api-key": api_key}) as response,
            ):
                text = await response.text()
        except aiohttp.ClientConnectorError as exc:
            raise GatewayUnreachable(f"cannot connect to {url}: {exc.os_error}") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            reason = str(exc) or type(exc).__name__
            raise GatewayUnreachable(f"no answer from {url}: {reason}") from exc
    if not console.is_terminal:
        sys.stderr.write(f"{path.name}: {size} bytes sent, answered {response.status}\n")
    try:
        return response.status, json.loads(text)
    except ValueError:
        return response.status, text
