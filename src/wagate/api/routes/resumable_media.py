"""``/v2/{sid}/whatsapp/{waba_id}/resumable_media``: upload media, and look uploads up."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response
from starlette.types import Scope

from wagate import metrics
from wagate.api import envelope, schemas
from wagate.api.deps import ApiKeyDep, GatewayDep, SidPath, TenancyDep, UploadsDep, WabaIdPath
from wagate.api.multipart import NON_FILE_ALLOWANCE, read_upload_form
from wagate.api.paging import PAGE_PARAMETERS, page_params
from wagate.api.reference import example, query, responses
from wagate.api.request_log import bind_ids
from wagate.domain import errors
from wagate.domain.clock import utcnow
from wagate.domain.tenancy import ApiVersion
from wagate.domain.uploads import Upload, UploadStatus

router = APIRouter()

PATH = "/v2/{sid}/whatsapp/{waba_id}/resumable_media"
MAX_IDEMPOTENCY_KEY_LENGTH = 255
TAG = "Resumable media"
MEDIA_TYPES = ["application/pdf", "image/jpeg", "image/jpg", "image/png", "video/mp4"]

_FORM = {
    "type": "object",
    "required": ["file", "type"],
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "The file: at most 100 MB; its name 1 to 255 characters without "
            "\\ / < @ % or space.",
        },
        "type": {"type": "string", "enum": MEDIA_TYPES, "description": "The file's media type."},
    },
}
_UPLOAD_DOCS: dict[str, Any] = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY_LENGTH},
            "description": "Retrying with the same key within 24 h answers the first 202 "
            "again instead of creating a second upload.",
        }
    ],
    "requestBody": {
        "required": True,
        "description": "The provider's documented request sends `content-type: "
        "application/json` with curl's `-F` parts: curl then sends a multipart body with "
        "`Content-Type: application/json; boundary=…`, which is accepted as it is. An "
        "ordinary `multipart/form-data` request works too. Either way the parts are "
        "`file` and `type`:\n\n"
        "    curl -L -X POST 'https://<host>/v2/<sid>/whatsapp/<waba_id>/resumable_media' \\\n"
        "    -H 'api-key: <api-key>' \\\n"
        "    -H 'content-type: application/json' \\\n"
        "    -F 'file=@\"/path/to/image.png\"' \\\n"
        "    -F 'type=\"image/png\"'",
        "content": {
            "multipart/form-data": {"schema": _FORM},
            "application/json": {"schema": _FORM},
        },
    },
}
_OK = envelope.accepted("<id>", "PENDING")
_UPLOAD_ANSWERS = responses(
    (202, schemas.envelope(schemas.UploadAccepted, "UploadAcceptedEnvelope", "WA202",
                           "Request Processed Successfully"),
     "The file is stored; it is transferred to Meta in the background."),
    {
        400: {
            "Incorrect payload": example(envelope.invalid_payload()),
            "Invalid file name": example(envelope.for_error(errors.InvalidFileName())),
        },
        401: {
            "Unauthorized": example(envelope.for_error(errors.AuthenticationFailed())),
            "Wrong account": example(envelope.for_error(errors.WhatsAppNotEnabled())),
            "Unauthorized WABA": example(envelope.for_error(errors.WabaNotFound())),
            "Unauthorized WABA version": example(envelope.for_error(errors.WabaWrongVersion())),
        },
        408: {
            "Request timeout": example(
                envelope.for_error(
                    errors.RequestTimeout("the request body sent nothing for 30 s")
                )
            )
        },
        413: {"Request size is too large": example(envelope.for_error(errors.PayloadTooLarge()))},
        429: {
            "Too many requests": example(envelope.for_error(errors.RateLimited())),
            "Too many uploads in progress": example(
                envelope.for_error(errors.TooManyUploadsInProgress())
            ),
        },
        500: {"Internal Server Error": example(envelope.internal_error())},
        503: {"Database unavailable": example(envelope.for_error(errors.DatabaseUnavailable()))},
    },
)  # fmt: skip
_UPLOAD_ANSWERS[202]["content"] = {"application/json": {"example": example(_OK)}}
LIMIT_PROBLEM = "must be between 1 and 100"
_LOOKUP_DOCS: dict[str, Any] = {
    "parameters": [
        query("id", {"type": "string", "maxLength": 36}, "One upload by id; without it, a page."),
        *PAGE_PARAMETERS,
    ]
}
_LOOKUP_ANSWERS = responses(
    (200, schemas.envelope(schemas.Upload | schemas.UploadPage, "UploadEnvelope", "WA200",
                           "Request Processed Successfully"),
     "One upload (with ?id=) or a page of them, newest first."),
    {
        400: {"Bad limit": example(envelope.invalid_payload({"limit": LIMIT_PROBLEM}))},
        401: {"Unauthorized": example(envelope.for_error(errors.AuthenticationFailed()))},
        404: {"No such upload": example(envelope.for_error(errors.NotFound("no upload 96")))},
        500: {"Internal Server Error": example(envelope.internal_error())},
        503: {"Database unavailable": example(envelope.for_error(errors.DatabaseUnavailable()))},
    },
)  # fmt: skip


def receives_upload(scope: Scope) -> bool:
    """Whether a request is an upload: its body streams for as long as its size needs."""
    path: str = scope["path"]
    return scope["method"] == "POST" and path.endswith("/resumable_media")


@router.post(
    PATH,
    status_code=202,
    tags=[TAG],
    summary="Upload resumable media",
    responses=_UPLOAD_ANSWERS,
    openapi_extra=_UPLOAD_DOCS,
)
async def upload_resumable_media(
    sid: SidPath,
    waba_id: WabaIdPath,
    request: Request,
    tenancy: TenancyDep,
    uploads: UploadsDep,
    api_key: ApiKeyDep,
) -> Response:
    """Take a file (multipart ``file`` and ``type``) and answer 202 once it is stored.

    The gateway then transfers it to Meta with Meta's Resumable Upload API,
    resuming after any interruption; the WABA's callback profile hears of
    UPLOADED (with Meta's file handle) or FAILED, and of EXPIRED 24 hours
    after creation. Everything is purged 3 days after creation. At most 20
    uploads per WABA per hour are accepted, and an account may send at most
    10 at once (429 beyond). A body that sends nothing for 30 seconds, or
    arrives slower than 32 KiB a second, is cut with 408.
    """
    access = await tenancy.authorize_waba(sid, api_key, waba_id, api_version=ApiVersion.V2)
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

    with uploads.receiving(access.account.sid):
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


@router.get(
    PATH,
    tags=[TAG],
    summary="Look uploads up",
    responses=_LOOKUP_ANSWERS,
    openapi_extra=_LOOKUP_DOCS,
)
async def get_resumable_media(
    sid: SidPath,
    waba_id: WabaIdPath,
    request: Request,
    gateway: GatewayDep,
    tenancy: TenancyDep,
    uploads: UploadsDep,
    api_key: ApiKeyDep,
) -> Response:
    """One upload (``?id=``) or a page of them (``?limit=&offset=``), newest first."""
    access = await tenancy.authorize_waba(sid, api_key, waba_id, api_version=ApiVersion.V2)
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
