"""Files customers send in messages: checked, then uploaded to Meta's media endpoint.

The file is stored as its request streams in (the resumable upload's
multipart reader), checked (type, name, size, content), and sent on to
``POST /{phone-number-id}/media`` of the business number; Meta's media id is
what the customer sends the message with. The stored copy is deleted
whatever the outcome.
"""

from __future__ import annotations

import uuid

import structlog

from wagate.blobs import BlobStore, BlobWriter
from wagate.domain.clock import Clock, utcnow
from wagate.domain.media import checked_message_media
from wagate.domain.tenancy import PhoneNumber
from wagate.domain.uploads import ReceivedFile
from wagate.upstream.graph import GraphClient

__all__ = ["OutboundMediaService"]

log = structlog.get_logger("wagate.media")


class OutboundMediaService:
    """Uploads files to Meta for customers to send in messages."""

    def __init__(
        self, blobs: BlobStore, graph: GraphClient, max_bytes: int, clock: Clock = utcnow
    ) -> None:
        self._blobs = blobs
        self._graph = graph
        self.max_bytes = max_bytes
        self._clock = clock

    def open_blob(self) -> BlobWriter:
        """A writer for the bytes of a file on its way to Meta."""
        day = self._clock().strftime("%Y-%m-%d")
        return self._blobs.create(f"outbound/{day}/{uuid.uuid4().hex}")

    async def upload(
        self, phone: PhoneNumber, received: ReceivedFile | None, declared_type: str | None
    ) -> str:
        """Check a received file and upload it to Meta from ``phone``; Meta's media id.

        The stored file is deleted whatever happens.
        """
        try:
            media_type = checked_message_media(received, declared_type)
            assert received is not None
            graph = await self._graph.about(phone.phone_number_id)
            media_id = await graph.upload_media(
                phone.phone_number_id,
                file_name=received.file_name,
                media_type=media_type,
                body=self._blobs.read(received.blob_key),
            )
        finally:
            if received is not None:
                await self._blobs.delete(received.blob_key)
        log.info("media.uploaded", media_id=media_id, media_type=media_type, size=received.size)
        return media_id
