"""``/v2/{sid}/whatsapp/{waba_id}/resumable_media``: upload media, and look uploads up."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from wagate import metrics
from wagate.api import envelope
from wagate.api.deps import GatewayDep, TenancyDep, UploadsDep
from wagate.api.multipart import NON_FILE_ALLOWANCE, read_upload_form
from wagate.api.paging import page_params
from wagate.api.request_log import bind_ids
from wagate.domain import errors
from wagate.domain.clock import utcnow
from wagate.domain.tenancy import ApiVersion
from wagate.domain.uploads import Upload, UploadStatus

router = APIRouter()

PATH = "/v2/{sid}/whatsapp/{waba_id}/resumable_media"
MAX_IDEMPOTENCY_KEY_LENGTH = 255


@router.post(PATH, status_code=202)
async def upload_resumable_media(
    sid: str, waba_id: str, request: Request, tenancy: TenancyDep, uploads: UploadsDep
) -> Response:
    """Take a file (multipart ``file`` and ``type``) and answer 202 once it is stored."""
    access = await tenancy.authorize_waba(
        sid, request.headers.get("api-key"), waba_id, api_version=ApiVersion.V2
    )
    idempotency_key = request.headers.get("idempotency-key")
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        raise errors.InvalidPayload({"Idempotency-Key": "must be 1 to 255 characters"})
    earlier = await uploads.admit(access, idempotency_key)
    if earlier is not None:
        bind_ids(upload_id=earlier.id)
        return envelope.accepted(earlier.id, "PENDING")

    declared_length = request.headers.get("content-length")
    if declared_length is not None:
        if not declared_length.isdigit():
            raise errors.InvalidPayload({"content-length": "not a number"})
        if int(declared_length) > uploads.policy.max_bytes + NON_FILE_ALLOWANCE:
            raise errors.PayloadTooLarge()

    form = await read_upload_form(
        request.headers.get("content-type"),
        request.stream(),
        uploads.open_blob,
        max_file_bytes=uploads.policy.max_bytes,
    )
    upload = await uploads.accept(access, form.file, form.fields.get("type"), idempotency_key)
    metrics.UPLOADS_ACCEPTED.inc()
    metrics.UPLOAD_BYTES_RECEIVED.inc(upload.size)
    bind_ids(upload_id=upload.id)
    return envelope.accepted(upload.id, "PENDING")


@router.get(PATH)
async def get_resumable_media(
    sid: str,
    waba_id: str,
    request: Request,
    gateway: GatewayDep,
    tenancy: TenancyDep,
    uploads: UploadsDep,
) -> Response:
    """One upload (``?id=``) or a page of them (``?limit=&offset=``), newest first."""
    access = await tenancy.authorize_waba(
        sid, request.headers.get("api-key"), waba_id, api_version=ApiVersion.V2
    )
    query = request.query_params
    links = gateway.links
    now = utcnow()
    upload_id = query.get("id")
    if upload_id is not None:
        upload = await uploads.get(access, upload_id)
        return envelope.ok(upload_to_wire(upload, await links.for_upload(upload, now)))
    limit, offset = page_params(request)
    page, total = await uploads.list(access, limit=limit, offset=offset)
    return envelope.ok(
        {
            "items": [
                upload_to_wire(upload, await links.for_upload(upload, now)) for upload in page
            ],
            "total": total,
            "limit": limit,
            "offset": offset,
        }
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def upload_to_wire(upload: Upload, link: str | None) -> dict[str, Any]:
    """An upload as the API shows it, with ``link`` as its ``file_link``."""
    wire: dict[str, Any] = {
        "id": upload.id,
        "status": upload.status.value,
        "waba_id": upload.waba_id,
        "file_name": upload.file_name,
        "type": upload.media_type,
        "size": upload.size,
        "sha256": upload.sha256,
        "created_at": _iso(upload.created_at),
        "expires_at": _iso(upload.expires_at),
        "purge_at": _iso(upload.purge_at),
    }
    if upload.uploaded_file_handle:
        wire["uploaded_file_handle"] = upload.uploaded_file_handle
    if link and upload.status is not UploadStatus.FAILED:
        wire["file_link"] = link
    if upload.status is UploadStatus.PENDING:
        wire["bytes_transferred"] = upload.bytes_transferred
    if upload.failure_reason:
        wire["error"] = _failure(upload.failure_reason)
    return wire


def _failure(reason: str) -> Any:
    try:
        return json.loads(reason)
    except ValueError:
        return reason
