"""Events: the status changes customers hear about, and what each one carries."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from wagate.domain.uploads import Upload, UploadStatus

__all__ = ["RESUMABLE_MEDIA_FIELD", "resumable_media_payload"]

RESUMABLE_MEDIA_FIELD: Final = "resumable_media_status_update"


def resumable_media_payload(
    upload: Upload, *, company_id: str, file_link: str | None, at: datetime
) -> dict[str, str]:
    """The fields of seed 000's callback for an upload's current status.

    UPLOADED carries ``file_link`` and ``uploaded_file_handle``; FAILED neither;
    EXPIRED the handle but no link. ``callback_profile_id`` is added when the
    event is fanned out to a profile.
    """
    payload = {
        "company_id": company_id,
        "field": RESUMABLE_MEDIA_FIELD,
        "file_name": upload.file_name,
        "resumable_media_id": upload.id,
        "status": upload.status.value,
        "waba_id": upload.waba_id,
        "time": str(int(at.timestamp())),
    }
    if upload.status is UploadStatus.UPLOADED and file_link:
        payload["file_link"] = file_link
    if (
        upload.status in (UploadStatus.UPLOADED, UploadStatus.EXPIRED)
        and upload.uploaded_file_handle
    ):
        payload["uploaded_file_handle"] = upload.uploaded_file_handle
    return payload
