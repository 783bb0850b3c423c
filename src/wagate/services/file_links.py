"""Where a customer downloads a stored file (an upload's, an incoming message's media)
until it is purged."""

from __future__ import annotations

from datetime import datetime, timedelta

from wagate.blobs import BlobStore
from wagate.domain.uploads import Upload

__all__ = ["FileLinks"]


class FileLinks:
    """Makes the ``file_link`` of uploads.

    Files on disk are served by the gateway at ``/media/{token}``. Files in a
    bucket get a presigned URL of the object itself, so downloads never pass
    through the gateway; it lives until the upload's purge (at most the seven
    days a presigned URL can live).
    """

    def __init__(self, public_url: str, blobs: BlobStore) -> None:
        self._public_url = public_url.rstrip("/")
        self._blobs = blobs

    async def link(self, token: str, blob_key: str, lifetime: timedelta) -> str:
        """The link of a stored file: a presigned URL living ``lifetime`` from a bucket, or the
        gateway's ``/media/{token}``."""
        if self._blobs.local_path(blob_key) is None and lifetime.total_seconds() > 0:
            signed = await self._blobs.signed_url(blob_key, lifetime)
            if signed:
                return signed
        return f"{self._public_url}/media/{token}"

    async def for_upload(self, upload: Upload, now: datetime) -> str | None:
        """The upload's ``file_link``: None before it has one."""
        if not upload.file_link_token:
            return None
        signed = await self.presigned(upload, now)
        return signed or f"{self._public_url}/media/{upload.file_link_token}"

    async def presigned(self, upload: Upload, now: datetime) -> str | None:
        """A presigned URL of the upload's object, living until its purge; None on disk."""
        if self._blobs.local_path(upload.blob_key) is not None:
            return None
        return await self._blobs.signed_url(upload.blob_key, upload.purge_at - now)
