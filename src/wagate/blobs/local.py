"""Blobs as files in a local directory."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

__all__ = ["LocalBlobStore", "LocalFileWriter"]

_PARTIAL_SUFFIX = ".part"
_READ_CHUNK = 1024 * 1024


class LocalFileWriter:
    """Writes to ``<key>.part`` and renames it to ``<key>`` once synced to disk."""

    def __init__(self, root: Path, key: str) -> None:
        self.key = key
        self._final = root / key
        self._partial = self._final.with_name(self._final.name + _PARTIAL_SUFFIX)
        self._final.parent.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO | None = open(self._partial, "wb")  # noqa: SIM115

    async def write(self, data: bytes) -> None:
        # A write to the page cache; fsync happens once, in commit().
        if self._file is None:
            raise RuntimeError("blob writer is closed")
        self._file.write(data)

    async def commit(self) -> None:
        file = self._file
        if file is None:
            raise RuntimeError("blob writer is closed")
        self._file = None
        await asyncio.to_thread(self._sync_and_rename, file)

    def _sync_and_rename(self, file: BinaryIO) -> None:
        try:
            file.flush()
            os.fsync(file.fileno())
        finally:
            file.close()
        os.replace(self._partial, self._final)
        directory = os.open(self._final.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    async def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._partial.unlink(missing_ok=True)


class LocalBlobStore:
    """A :class:`~wagate.blobs.base.BlobStore` over a directory of files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path_of(self, key: str) -> Path:
        """The file that holds the blob ``key``."""
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"blob key escapes the store: {key!r}")
        return path

    def local_path(self, key: str) -> Path | None:
        return self.path_of(key)

    async def signed_url(self, key: str, lifetime: timedelta) -> str | None:
        return None

    async def close(self) -> None:
        return None

    def create(self, key: str) -> LocalFileWriter:
        self.path_of(key)
        return LocalFileWriter(self.root, key)

    async def read(
        self, key: str, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        path = self.path_of(key)
        remaining = length
        with open(path, "rb") as file:  # noqa: ASYNC230 - local page-cache reads, chunked
            file.seek(offset)
            while remaining is None or remaining > 0:
                size = _READ_CHUNK if remaining is None else min(_READ_CHUNK, remaining)
                chunk = await asyncio.to_thread(file.read, size)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    async def size(self, key: str) -> int | None:
        try:
            return self.path_of(key).stat().st_size
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)

    async def remove_abandoned(self, older_than_seconds: float) -> int:
        return await asyncio.to_thread(self._remove_abandoned, older_than_seconds)

    def _remove_abandoned(self, older_than_seconds: float) -> int:
        cutoff = time.time() - older_than_seconds
        removed = 0
        for path in self.root.rglob("*" + _PARTIAL_SUFFIX):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed
