"""Media files the sandbox holds, as Meta's media endpoints serve them.

A file is stored by ``POST /{phone-number-id}/media`` (a business uploading
what it will send) or by ``POST /_sandbox/media`` (a user's photo, for an
inbound webhook to name). Its id is numeric, as Meta's are; ``GET
/{media-id}`` answers its download URL, type, size and SHA-256; the URL
serves the bytes to a request carrying the access token.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field

#: How many files, and how many bytes in all, the sandbox keeps; the oldest go first.
MAX_FILES = 10_000
MAX_TOTAL_BYTES = 512 * 1024 * 1024
DOWNLOAD_PATH = "/whatsapp_business/attachments/"


def new_media_id() -> str:
    """A fresh id shaped like Meta's: 16 digits."""
    return str(10**15 + secrets.randbelow(9 * 10**15))


@dataclass
class StoredMedia:
    """One file: its bytes, type, where it came from, and how often it was downloaded."""

    id: str
    mime_type: str
    data: bytes
    origin: str
    phone_number_id: str | None = None
    file_name: str | None = None
    stored_at: float = field(default_factory=time.time)
    downloads: int = 0
    #: The secret the download URL carries (Meta's ``hash``), so that URLs are not guessable.
    url_key: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    @property
    def sha256(self) -> str:
        """The hex SHA-256 of the bytes, as Meta gives it."""
        return hashlib.sha256(self.data).hexdigest()

    def as_json(self) -> dict[str, object]:
        """What ``GET /_sandbox/media`` shows of it."""
        return {
            "id": self.id,
            "mime_type": self.mime_type,
            "file_size": len(self.data),
            "sha256": self.sha256,
            "origin": self.origin,
            "phone_number_id": self.phone_number_id,
            "file_name": self.file_name,
            "downloads": self.downloads,
        }


class MediaStore:
    """The files by id, within :data:`MAX_FILES` and :data:`MAX_TOTAL_BYTES`."""

    def __init__(self, max_files: int = MAX_FILES, max_bytes: int = MAX_TOTAL_BYTES) -> None:
        self._files: OrderedDict[str, StoredMedia] = OrderedDict()
        self._max_files = max_files
        self._max_bytes = max_bytes
        self._bytes = 0

    def add(
        self,
        data: bytes,
        mime_type: str,
        *,
        origin: str,
        phone_number_id: str | None = None,
        file_name: str | None = None,
    ) -> StoredMedia:
        """Keep a file; the oldest are forgotten when the store is full."""
        media = StoredMedia(new_media_id(), mime_type, data, origin, phone_number_id, file_name)
        self._files[media.id] = media
        self._bytes += len(data)
        while len(self._files) > self._max_files or (
            self._bytes > self._max_bytes and len(self._files) > 1
        ):
            _, dropped = self._files.popitem(last=False)
            self._bytes -= len(dropped.data)
        return media

    def get(self, media_id: str) -> StoredMedia | None:
        """The file with this id, or None."""
        return self._files.get(media_id)

    def __iter__(self) -> Iterator[StoredMedia]:
        return iter(list(self._files.values()))
