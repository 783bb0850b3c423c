"""Sending a file to Meta in chunks, resuming from Meta's offset after any failure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Final, Protocol

import structlog

from wagate.domain.backoff import Backoff
from wagate.domain.errors import (
    MetaError,
    MetaOffsetMismatch,
    MetaPermanentError,
    MetaTransientError,
)
from wagate.upstream.graph import UploadProgress

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_CHUNK_BYTES",
    "DEFAULT_MAX_ATTEMPTS",
    "OpenReader",
    "ProgressCallback",
    "UploadTarget",
    "send_resumable",
]

log = structlog.get_logger("wagate.upstream")

DEFAULT_CHUNK_BYTES: Final = 4 * 1024 * 1024
DEFAULT_MAX_ATTEMPTS: Final = 8
DEFAULT_BACKOFF: Final = Backoff(base=0.5, cap=30.0, jitter=0.2)

#: Streams ``length`` bytes of the file from ``offset``.
OpenReader = Callable[[int, int], AsyncIterator[bytes]]
#: Told the offset Meta confirmed each time it moves forward.
ProgressCallback = Callable[[int], Awaitable[None]]


class UploadTarget(Protocol):
    """What :func:`send_resumable` needs of a Graph client."""

    async def get_upload_offset(self, session_id: str) -> int: ...

    async def upload_from(
        self, session_id: str, offset: int, body: AsyncIterable[bytes], length: int
    ) -> UploadProgress: ...


async def send_resumable(
    client: UploadTarget,
    session_id: str,
    size: int,
    open_reader: OpenReader,
    *,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    backoff: Callable[[int], float] = DEFAULT_BACKOFF,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    on_progress: ProgressCallback | None = None,
    start_offset: int = 0,
) -> str:
    """Send a ``size``-byte file to an open upload session; Meta's handle for it.

    Each chunk of ``chunk_bytes`` is one POST at its ``file_offset``, streamed
    by ``open_reader``. After a transient failure or an offset mismatch, Meta
    is asked for its offset and the transfer goes on from there, so a resume
    sends only what Meta lacks. Consecutive failures without progress wait
    ``backoff(n)`` seconds between them (none after a mismatch); the
    ``max_attempts``-th raises the last error. A permanent error is raised at
    once. ``start_offset`` is where to begin when the caller knows Meta already
    holds a prefix (a wrong guess costs one mismatch).
    """
    if size <= 0 or chunk_bytes <= 0 or max_attempts <= 0:
        raise ValueError("size, chunk_bytes and max_attempts must be positive")
    if not 0 <= start_offset <= size:
        raise ValueError(f"start_offset {start_offset} is outside the file's {size} bytes")
    offset = start_offset
    confirmed = offset
    failures = 0
    resync = False
    while True:
        try:
            if resync:
                offset = _checked(await client.get_upload_offset(session_id), size)
                resync = False
                if offset > confirmed:
                    confirmed, failures = offset, 0
                    await _report(on_progress, offset)
            length = min(chunk_bytes, size - offset)
            progress = await client.upload_from(
                session_id, offset, open_reader(offset, length), length
            )
        except MetaOffsetMismatch as exc:
            error: MetaError = exc
        except MetaTransientError as exc:
            error = exc
        else:
            if progress.handle is not None:
                if size > confirmed:
                    await _report(on_progress, size)
                return progress.handle
            moved_to = _checked(progress.file_offset, size)
            if moved_to > offset:
                offset = moved_to
                if offset > confirmed:
                    confirmed, failures = offset, 0
                    await _report(on_progress, offset)
                continue
            error = MetaTransientError(
                f"Meta took {length} bytes at file_offset {offset} but its offset is {moved_to}"
            )
        resync = True
        failures += 1
        log.info(
            "upstream.upload.retry",
            session_id=session_id,
            offset=offset,
            failures=failures,
            error=str(error),
        )
        if failures >= max_attempts:
            raise error
        if not isinstance(error, MetaOffsetMismatch):
            await sleep(backoff(failures))


def _checked(offset: int, size: int) -> int:
    if not 0 <= offset <= size:
        raise MetaPermanentError(f"file_offset {offset} is outside the file's {size} bytes")
    return offset


async def _report(on_progress: ProgressCallback | None, offset: int) -> None:
    if on_progress is not None:
        await on_progress(offset)
