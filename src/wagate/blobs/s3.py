"""Blobs as objects in an S3-compatible bucket, through obstore.

A blob is written as one multipart upload fed by the request as it arrives
(started once the first bytes show the media type, which the object keeps as
its Content-Type so that presigned downloads carry it):
the bytes reach the bucket in parts of :data:`PART_BYTES`, at most
:data:`PARTS_IN_FLIGHT` at a time, and the object becomes visible only when
the upload completes. An aborted write aborts the multipart upload, so
nothing appears under the key.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import obstore
from obstore.exceptions import NotFoundError
from obstore.store import S3Store

from wagate.domain.media import SNIFF_BYTES, sniff_type

__all__ = ["MAX_SIGNED_LIFETIME", "PARTS_IN_FLIGHT", "PART_BYTES", "S3BlobStore", "S3ObjectWriter"]

PART_BYTES = 8 * 1024 * 1024
PARTS_IN_FLIGHT = 2
# Chunks of the request body waiting for obstore; the bound is the back-pressure.
_QUEUED_CHUNKS = 64
_READ_CHUNK = 1024 * 1024
# SigV4 presigned URLs live at most seven days.
MAX_SIGNED_LIFETIME = timedelta(days=7)


class _Aborted(Exception):
    """Raised inside the upload's byte stream to make obstore abort the multipart upload."""


_END = object()
_ABORT = object()


class S3ObjectWriter:
    """Streams one blob into the bucket; the object appears on :meth:`commit`."""

    def __init__(self, store: S3Store, key: str) -> None:
        self.key = key
        self._store = store
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize=_QUEUED_CHUNKS)
        self._head = b""
        self._upload: asyncio.Task[None] | None = None
        self._closed = False

    def _start(self) -> asyncio.Task[None]:
        if self._upload is None:
            content_type = sniff_type(self._head) or "application/octet-stream"
            self._upload = asyncio.create_task(self._put(content_type))
            self._queue.put_nowait(self._head)
        return self._upload

    async def _chunks(self) -> AsyncIterator[bytes]:
        while True:
            item = await self._queue.get()
            if item is _END:
                return
            if item is _ABORT:
                raise _Aborted(self.key)
            assert isinstance(item, bytes)
            yield item

    async def _put(self, content_type: str) -> None:
        await obstore.put_async(
            self._store,
            self.key,
            self._chunks(),
            attributes={"Content-Type": content_type},
            use_multipart=True,
            chunk_size=PART_BYTES,
            max_concurrency=PARTS_IN_FLIGHT,
        )

    async def _enqueue(self, item: object) -> None:
        upload = self._start()
        # If the upload already failed, waiting for room would wait forever.
        put = asyncio.ensure_future(self._queue.put(item))
        done, _ = await asyncio.wait({put, upload}, return_when=asyncio.FIRST_COMPLETED)
        if put not in done:
            put.cancel()
            upload.result()  # raises the upload's error
            raise RuntimeError(f"the upload of {self.key} ended early")

    async def write(self, data: bytes) -> None:
        if self._closed:
            raise RuntimeError("blob writer is closed")
        if self._upload is None and len(self._head) < SNIFF_BYTES:
            self._head += data
            if len(self._head) < SNIFF_BYTES:
                return
            data = b""
        if data:
            await self._enqueue(data)
        else:
            self._start()

    async def commit(self) -> None:
        if self._closed:
            raise RuntimeError("blob writer is closed")
        self._closed = True
        await self._enqueue(_END)
        assert self._upload is not None
        await self._upload

    async def abort(self) -> None:
        self._closed = True
        upload = self._upload
        if upload is None:
            return
        if not upload.done():
            with contextlib.suppress(Exception):
                await self._enqueue(_ABORT)
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await upload


class S3BlobStore:
    """A :class:`~wagate.blobs.base.BlobStore` over a bucket (and optional prefix)."""

    def __init__(
        self,
        url: str,
        *,
        endpoint: str = "",
        region: str = "",
        access_key_id: str = "",
        secret_access_key: str = "",
    ) -> None:
        if not url.startswith("s3://"):
            raise ValueError(f"not an s3:// URL: {url!r}")
        config: dict[str, Any] = {}
        if endpoint:
            config["endpoint"] = endpoint
        if region:
            config["region"] = region
        if access_key_id:
            config["access_key_id"] = access_key_id
        if secret_access_key:
            config["secret_access_key"] = secret_access_key
        client_options: dict[str, Any] = {"allow_http": endpoint.startswith("http://")}
        self.url = url
        self._store = S3Store.from_url(url, config=config, client_options=client_options)  # type: ignore[arg-type]

    def create(self, key: str) -> S3ObjectWriter:
        return S3ObjectWriter(self._store, key)

    async def read(
        self, key: str, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        size = await self.size(key)
        if size is None:
            raise FileNotFoundError(key)
        end = size if length is None else min(size, offset + length)
        position = offset
        while position < end:
            step = min(_READ_CHUNK, end - position)
            chunk = await obstore.get_range_async(
                self._store, key, start=position, end=position + step
            )
            data = bytes(chunk)
            if not data:
                return
            position += len(data)
            yield data

    async def size(self, key: str) -> int | None:
        try:
            meta = await obstore.head_async(self._store, key)
        except (NotFoundError, FileNotFoundError):
            return None
        return int(meta["size"])

    async def delete(self, key: str) -> None:
        with contextlib.suppress(NotFoundError, FileNotFoundError):
            await obstore.delete_async(self._store, key)

    async def remove_abandoned(self, older_than_seconds: float) -> int:
        # Incomplete multipart uploads are invisible and are the bucket's lifecycle
        # rule's to clean (AbortIncompleteMultipartUpload): see docs/operations.md.
        return 0

    def local_path(self, key: str) -> Path | None:
        return None

    async def signed_url(self, key: str, lifetime: timedelta) -> str | None:
        lifetime = max(timedelta(seconds=1), min(lifetime, MAX_SIGNED_LIFETIME))
        return await obstore.sign_async(self._store, "GET", key, lifetime)

    async def close(self) -> None:
        return None
