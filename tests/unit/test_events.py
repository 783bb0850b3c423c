"""The seed 000 payload for each status."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from wagate.domain.events import resumable_media_payload
from wagate.domain.uploads import Upload, UploadStatus

AT = datetime(2025, 2, 7, 9, 18, 10, tzinfo=UTC)
UPLOAD = Upload(
    id="85",
    sid="SID",
    waba_id="3476339784XXXXX",
    file_name="test.jpg",
    media_type="image/jpeg",
    size=10,
    sha256="0" * 64,
    blob_key="k",
    status=UploadStatus.UPLOADED,
    created_at=AT,
    expires_at=AT + timedelta(days=1),
    purge_at=AT + timedelta(days=3),
    uploaded_file_handle="4:abc",
    file_link_token="tok",
)
COMMON = {
    "company_id": "Ze15c65XXXX",
    "field": "resumable_media_status_update",
    "file_name": "test.jpg",
    "resumable_media_id": "85",
    "waba_id": "3476339784XXXXX",
    "time": "1738919890",
}


def payload(upload: Upload) -> dict[str, str]:
    return resumable_media_payload(
        upload, company_id="Ze15c65XXXX", file_link="https://gw/media/tok", at=AT
    )


def test_uploaded_carries_the_link_and_the_handle() -> None:
    assert payload(UPLOAD) == {
        **COMMON,
        "status": "UPLOADED",
        "file_link": "https://gw/media/tok",
        "uploaded_file_handle": "4:abc",
    }


def test_failed_carries_neither() -> None:
    failed = replace(UPLOAD, status=UploadStatus.FAILED, uploaded_file_handle=None)
    assert payload(failed) == {**COMMON, "status": "FAILED"}


def test_expired_carries_the_handle_but_no_link() -> None:
    expired = replace(UPLOAD, status=UploadStatus.EXPIRED)
    assert payload(expired) == {**COMMON, "status": "EXPIRED", "uploaded_file_handle": "4:abc"}
