"""Streaming multipart reader for uploads: parts go to blob storage as they arrive.

FastAPI's ``UploadFile`` spools the whole body to a temporary file first and
sets no limit on file parts; this reader drives python-multipart's parser on
the raw request stream instead, writes the file part straight into the blob
store, hashes it on the way, and stops at the size limit.

It accepts what curl sends for the provider's documented command: a
``Content-Type`` of ``application/json; boundary=…`` and parts marked
``Content-Disposition: attachment``, as well as ordinary ``multipart/form-data``.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from email.message import Message

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from wagate.blobs import BlobWriter
from wagate.domain import errors
from wagate.domain.media import SNIFF_BYTES
from wagate.domain.uploads import ReceivedFile

#: The media types whose ``boundary`` parameter is honoured.
ACCEPTED_CONTENT_TYPES = frozenset({"multipart/form-data", "application/json"})
#: Room for everything in a body that is not the file: headers, boundaries, small fields.
NON_FILE_ALLOWANCE = 1024 * 1024
MAX_FIELD_BYTES = 64 * 1024


@dataclass
class ReceivedForm:
    """The parts of an upload request: small text fields and at most one stored file."""

    fields: dict[str, str] = field(default_factory=dict)
    file: ReceivedFile | None = None


def boundary_of(content_type: str | None) -> bytes:
    """The multipart boundary of a request, or :class:`InvalidPayload`."""
    if not content_type:
        raise errors.InvalidPayload({"content-type": "a multipart body with a boundary is needed"})
    media_type, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if media_type.decode("latin-1").lower() not in ACCEPTED_CONTENT_TYPES or not boundary:
        raise errors.InvalidPayload({"content-type": "a multipart body with a boundary is needed"})
    return boundary


def _disposition(raw: bytes) -> tuple[str | None, str | None]:
    """The ``name`` and ``filename`` of a Content-Disposition header (RFC 2231/5987 aware)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    message = Message()
    message["content-disposition"] = text
    name = message.get_param("name", header="content-disposition")
    filename = message.get_filename()
    return (name if isinstance(name, str) else None), filename


class _FormState:
    """What the parser callbacks build up while the body streams in."""

    def __init__(
        self, open_blob: Callable[[], BlobWriter], file_field: str, max_file_bytes: int
    ) -> None:
        self.open_blob = open_blob
        self.file_field = file_field
        self.max_file_bytes = max_file_bytes
        self.form = ReceivedForm()
        self.writer: BlobWriter | None = None
        # File bytes the parser handed over, written after each parser step: the
        # parser's callbacks are synchronous, the blob writer is not.
        self.pending: list[bytes] = []
        self.ended = False
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._part_name: str | None = None
        self._part_is_file = False
        self._file_name = ""
        self._field_value = bytearray()
        self._size = 0
        self._sha = hashlib.sha256()
        self._head = bytearray()

    def on_part_begin(self) -> None:
        self._headers = {}
        self._part_name = None
        self._part_is_file = False
        self._field_value = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[bytes(self._header_field).lower()] = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        name, filename = _disposition(self._headers.get(b"content-disposition", b""))
        if name is None:
            raise errors.InvalidPayload({"payload": "a part has no name"})
        self._part_name = name
        if name == self.file_field:
            if self.writer is not None:
                raise errors.InvalidPayload({"file": "only one file may be sent"})
            self._part_is_file = True
            self._file_name = filename or ""
            self.writer = self.open_blob()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._part_is_file:
            assert self.writer is not None
            self._size += len(chunk)
            if self._size > self.max_file_bytes:
                raise errors.PayloadTooLarge()
            if len(self._head) < SNIFF_BYTES:
                self._head += chunk[: SNIFF_BYTES - len(self._head)]
            self._sha.update(chunk)
            self.pending.append(chunk)
        else:
            self._field_value += chunk
            if len(self._field_value) > MAX_FIELD_BYTES:
                raise errors.InvalidPayload({self._part_name or "payload": "field is too long"})

    def on_part_end(self) -> None:
        if self._part_is_file:
            assert self.writer is not None
            self.form.file = ReceivedFile(
                blob_key=self.writer.key,
                file_name=self._file_name,
                size=self._size,
                sha256=self._sha.hexdigest(),
                head=bytes(self._head),
            )
        elif self._part_name is not None:
            value = self._field_value.decode("utf-8", errors="replace").strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            self.form.fields.setdefault(self._part_name, value)

    def on_end(self) -> None:
        self.ended = True

    async def flush(self) -> None:
        """Hand the file bytes parsed so far to the blob writer."""
        if self.pending and self.writer is not None:
            chunks, self.pending = self.pending, []
            for chunk in chunks:
                await self.writer.write(chunk)


async def read_upload_form(
    content_type: str | None,
    stream: AsyncIterator[bytes],
    open_blob: Callable[[], BlobWriter],
    *,
    max_file_bytes: int,
    file_field: str = "file",
) -> ReceivedForm:
    """Parse a multipart upload from ``stream``, storing the file part as it arrives.

    On success the file's blob is committed (durable). On any error nothing is
    left in blob storage and the error is raised: :class:`InvalidPayload` for a
    malformed body, :class:`PayloadTooLarge` past ``max_file_bytes`` of file
    or too many bytes in all.
    """
    boundary = boundary_of(content_type)
    state = _FormState(open_blob, file_field, max_file_bytes)
    parser = MultipartParser(
        boundary,
        callbacks={
            "on_part_begin": state.on_part_begin,
            "on_header_field": state.on_header_field,
            "on_header_value": state.on_header_value,
            "on_header_end": state.on_header_end,
            "on_headers_finished": state.on_headers_finished,
            "on_part_data": state.on_part_data,
            "on_part_end": state.on_part_end,
            "on_end": state.on_end,
        },
    )
    max_body = max_file_bytes + NON_FILE_ALLOWANCE
    received = 0
    try:
        async for chunk in stream:
            received += len(chunk)
            if received > max_body:
                raise errors.PayloadTooLarge()
            if state.ended:
                continue  # an epilogue after the closing boundary is allowed and ignored
            parser.write(chunk)
            await state.flush()
        parser.finalize()
        await state.flush()
        if not state.ended:
            raise errors.InvalidPayload({"payload": "the multipart body is incomplete"})
        if state.writer is not None and state.form.file is not None:
            await state.writer.commit()
        return state.form
    except MultipartParseError as exc:
        if state.writer is not None:
            await state.writer.abort()
        raise errors.InvalidPayload({"payload": f"malformed multipart body: {exc}"}) from exc
    except BaseException:
        if state.writer is not None:
            await state.writer.abort()
        raise
