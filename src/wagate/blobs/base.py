"""The blob interface: write a stream once, read it back in ranges, delete it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Protocol

__all__ = ["BlobStore", "BlobWriter"]


class BlobWriter(Protocol):
    """A blob being written. Nothing is visible under its key until :meth:`commit`."""

    key: str

    async def write(self, data: bytes) -> None:
        """Append bytes; returns when the writer can take more (back-pressure)."""

    async def commit(self) -> None:
        """Make the blob durable and visible under its key."""

    async def abort(self) -> None:
        """Throw away what was written. Safe to call more than once."""


class BlobStore(Protocol):
    """A place that holds media bytes by key."""

    def create(self, key: str) -> BlobWriter:
        """Start writing a new blob under ``key``."""
        ...

    def read(self, key: str, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        """Stream the blob's bytes from ``offset``, ``length`` of them or to the end."""
        ...

    async def size(self, key: str) -> int | None:
        """The blob's size, or None when it does not exist."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the blob; no error when it is already gone."""
        ...

    async def remove_abandoned(self, older_than_seconds: float) -> int:
        """Remove partial writes older than this, left by a crash; how many went."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The file that holds the blob, for stores of local files; None otherwise."""
        ...

    async def signed_url(self, key: str, lifetime: timedelta) -> str | None:
        """A URL that downloads the blob directly for ``lifetime``; None where there is none."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
