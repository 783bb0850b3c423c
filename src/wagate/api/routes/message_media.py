"""``POST /v2/{sid}/whatsapp/{phone_number}/media``: upload a file to send in messages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from wagate.api import envelope, schemas
from wagate.api.deps import ApiKeyDep, GatewayDep, NumberPath, SidPath
from wagate.api.multipart import NON_FILE_ALLOWANCE, read_upload_form
from wagate.api.reference import example, responses
from wagate.api.routes.messages import (
    META_ERROR_EXAMPLE,
    meta_error,
    number_of_account,
    unknown_number,
)
from wagate.domain import errors
from wagate.domain.media import MESSAGE_MEDIA_LIMITS, MESSAGE_MEDIA_TYPES, size_text

router = APIRouter()

_FORM = {
    "type": "object",
    "required": ["file", "type"],
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "The file; its name 1 to 255 characters without \\ / < @ % or space. "
            "At most 5 MB for images, 16 MB for video and audio, 100 MB for documents, "
            "500 KB for stickers (image/webp).",
        },
        "type": {
            "type": "string",
            "enum": list(MESSAGE_MEDIA_TYPES),
            "description": "The file's media type.",
        },
    },
}
_DOCS: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A multipart body with `file` and `type`, as the resumable upload "
        "takes it (curl's `-F` parts, with or without `content-type: application/json`).",
        "content": {
            "multipart/form-data": {"schema": _FORM},
            "application/json": {"schema": _FORM},
        },
    }
}


def _types_by_limit() -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = {}
    for media_type, limit in MESSAGE_MEDIA_LIMITS.items():
        grouped.setdefault(limit, []).append(media_type)
    return grouped


_ANSWERS = responses(
    (200, schemas.envelope(schemas.MediaUploaded, "MediaUploadedEnvelope", "WA200",
                           "Request Processed Successfully"),
     "Meta holds the file: send it in a message by this id."),
    {
        400: {
            "Incorrect payload": example(envelope.invalid_payload({"type": "unsupported type"})),
            "Invalid file name": example(envelope.for_error(errors.InvalidFileName())),
            "Refused by Meta": META_ERROR_EXAMPLE,
        },
        401: {
            "Unauthorized": example(envelope.for_error(errors.AuthenticationFailed())),
            "Wrong account": example(envelope.for_error(errors.WhatsAppNotEnabled())),
            "Unknown number": example(unknown_number()),
        },
        413: {"Request size is too large": example(envelope.for_error(errors.PayloadTooLarge()))},
        500: {"Internal Server Error": example(envelope.internal_error())},
        502: {"Meta failed": {**META_ERROR_EXAMPLE, "code": "WA502"}},
        503: {"Database unavailable": example(envelope.for_error(errors.DatabaseUnavailable()))},
    },
)  # fmt: skip
_ANSWERS[413]["description"] = (
    "The body is larger than the largest file Meta takes "
    f"({size_text(max(MESSAGE_MEDIA_LIMITS.values()))}, for documents); the connection is "
    "closed. Each type has its own limit: "
    + "; ".join(
        f"{', '.join(kinds)}: {size_text(limit)}"
        for limit, kinds in sorted(_types_by_limit().items(), reverse=True)
    )
    + ". A file over its type's limit but within the largest is answered 400."
)


@router.post(
    "/v2/{sid}/whatsapp/{phone_number}/media",
    tags=["Messages"],
    summary="Upload a file to send",
    responses=_ANSWERS,
    openapi_extra=_DOCS,
)
async def upload_message_media(
    sid: SidPath, phone_number: NumberPath, request: Request, gateway: GatewayDep,
    api_key: ApiKeyDep,
) -> Response:  # fmt: skip
    """Upload ``file`` (of media ``type``) to Meta for the number; answer Meta's media id.

    The checks are the resumable upload's (file name, content matching the
    type), with Meta's sizes per type; audio (aac, amr, mpeg, mp4, ogg) and
    stickers (image/webp) are taken too. Send the id as ``image.id``,
    ``document.id``… of a message; Meta keeps it 30 days.
    """
    phone = await number_of_account(gateway, sid, phone_number, api_key)
    if isinstance(phone, Response):
        return phone
    media = gateway.outbound_media
    declared_length = request.headers.get("content-length")
    if declared_length is not None:
        if not declared_length.isdigit():
            raise errors.InvalidPayload({"content-length": "not a number"})
        if int(declared_length) > media.max_bytes + NON_FILE_ALLOWANCE:
            raise errors.PayloadTooLarge()
    form = await read_upload_form(
        request.headers.get("content-type"),
        request.stream(),
        media.open_blob,
        max_file_bytes=media.max_bytes,
    )
    try:
        media_id = await media.upload(phone, form.file, form.fields.get("type"))
    except errors.MetaError as exc:
        return meta_error(exc)
    return envelope.ok({"id": media_id})
