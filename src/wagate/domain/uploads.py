"""The resumable-media upload: its record and its state machine.

    PENDING ──► UPLOADED ──► EXPIRED
       │
       └──────► FAILED

An upload is PENDING from the 202 until Meta returns a file handle (UPLOADED)
or gives up on it (FAILED). An UPLOADED handle EXPIRES 24 hours after creation.
Every upload is purged, bytes and record, three days after creation.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

__all__ = [
    "TO_EXPIRED",
    "TO_FAILED",
    "TO_UPLOADED",
    "ReceivedFile",
    "Transition",
    "Upload",
    "UploadPolicy",
    "UploadStatus",
    "transition_to",
]


class UploadStatus(enum.StrEnum):
    """Where an upload stands; the values are the wire values of the seeds."""

    PENDING = "PENDING"
    UPLOADED = "UPLOADED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"


_TRANSITIONS: Final[dict[UploadStatus, frozenset[UploadStatus]]] = {
    UploadStatus.PENDING: frozenset({UploadStatus.UPLOADED, UploadStatus.FAILED}),
    UploadStatus.UPLOADED: frozenset({UploadStatus.EXPIRED}),
    UploadStatus.FAILED: frozenset(),
    UploadStatus.EXPIRED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Transition:
    """A move of an upload to ``target``, allowed from any of ``sources``.

    The store applies it as one conditional write (the upload's status must be one
    of ``sources``), so the move happens once however many workers try it.
    """

    target: UploadStatus
    sources: frozenset[UploadStatus]


def transition_to(target: UploadStatus) -> Transition:
    """The move to ``target`` from every status the state machine allows it from.

    :class:`ValueError` for a status no upload moves to (``PENDING``, where every
    upload starts).
    """
    sources = frozenset(source for source, targets in _TRANSITIONS.items() if target in targets)
    if not sources:
        raise ValueError(f"no upload moves to {target.value}")
    return Transition(target, sources)


#: Meta returned a file handle.
TO_UPLOADED: Final = transition_to(UploadStatus.UPLOADED)
#: Meta gave up on the file.
TO_FAILED: Final = transition_to(UploadStatus.FAILED)
#: The handle is past its 24 hours.
TO_EXPIRED: Final = transition_to(UploadStatus.EXPIRED)


@dataclass(frozen=True, slots=True)
class UploadPolicy:
    """The limits that apply to uploads, from the settings."""

    max_bytes: int
    rate_limit: int
    rate_window: timedelta
    handle_ttl: timedelta
    retention: timedelta
    idempotency_ttl: timedelta
    #: Uploads one account may be sending at once (per API process).
    max_in_progress: int = 10


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    """A file part received in full and written to blob storage, not yet accepted."""

    blob_key: str
    file_name: str
    size: int
    sha256: str
    head: bytes


@dataclass(frozen=True, slots=True)
class Upload:
    """One resumable-media upload as stored."""

    id: str
    sid: str
    waba_id: str
    file_name: str
    media_type: str
    size: int
    sha256: str
    blob_key: str
    status: UploadStatus
    created_at: datetime
    expires_at: datetime
    purge_at: datetime
    uploaded_file_handle: str | None = None
    file_link_token: str | None = None
    failure_reason: str | None = None
    updated_at: datetime | None = None
    meta_session_id: str | None = None
    bytes_transferred: int = 0
    transfer_resumes: int = 0
