"""Work that must happen later, as the queue hands it to a worker."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Job", "JobKind"]


class JobKind(enum.StrEnum):
    """What a job does; each kind has one handler."""

    TRANSFER_UPLOAD = "transfer_upload"
    EXPIRE_UPLOAD = "expire_upload"
    PURGE_UPLOAD = "purge_upload"
    DOWNLOAD_MEDIA = "download_media"

    @property
    def subject_field(self) -> str:
        """The name a log line gives this kind's subject id."""
        return "incoming_id" if self is JobKind.DOWNLOAD_MEDIA else "upload_id"


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed job: its id, what to do, to what, and how many times it was claimed."""

    id: str
    kind: JobKind
    subject_id: str
    run_at: datetime
    attempts: int
    locked_by: str
