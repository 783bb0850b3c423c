"""What media the gateway takes: seed 001's five types for uploads, and what Meta takes in
messages; their magic bytes, sizes, and the file name rules."""

from __future__ import annotations

from typing import Final

from wagate.domain import errors
from wagate.domain.uploads import ReceivedFile

__all__ = [
    "FORBIDDEN_FILE_NAME_CHARACTERS",
    "MAX_FILE_NAME_LENGTH",
    "MESSAGE_MEDIA_LIMITS",
    "MESSAGE_MEDIA_TYPES",
    "SNIFF_BYTES",
    "SUPPORTED_TYPES",
    "canonical_type",
    "checked_message_media",
    "content_matches",
    "describe_content",
    "is_valid_file_name",
    "message_media_type",
    "size_text",
    "sniff_type",
]

#: The types of seed 001, mapped to the canonical name stored and sent to Meta.
SUPPORTED_TYPES: Final[dict[str, str]] = {
    "application/pdf": "application/pdf",
    "image/jpeg": "image/jpeg",
    "image/jpg": "image/jpeg",
    "image/png": "image/png",
    "video/mp4": "video/mp4",
}

#: How many leading bytes of a file :func:`sniff_type` needs.
SNIFF_BYTES: Final = 16

#: Characters seed 001 forbids in a file name.
FORBIDDEN_FILE_NAME_CHARACTERS: Final = frozenset("\\/<@% ")
MAX_FILE_NAME_LENGTH: Final = 255

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_MP4_BRANDS: Final = (b"ftyp",)


def canonical_type(declared: str) -> str | None:
    """The canonical MIME type for a declared one, or None when it is not supported."""
    return SUPPORTED_TYPES.get(declared.strip().lower())


def sniff_type(head: bytes) -> str | None:
    """The supported MIME type the first bytes of a file show, or None.

    Only the five supported types are recognised: anything else (text, GIF, …)
    gives None.
    """
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(_PNG_SIGNATURE):
        return "image/png"
    if len(head) >= 8 and head[4:8] in _MP4_BRANDS:
        return "video/mp4"
    return None


def describe_content(head: bytes) -> str:
    """A short human description of what the first bytes of a file look like."""
    found = sniff_type(head)
    if found is not None:
        return found
    if not head:
        return "an empty file"
    if all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "text"
    return "data of an unsupported type"


def is_valid_file_name(name: str) -> bool:
    """Whether ``name`` follows seed 001: 1–255 characters, none of ``\\ / < @ %`` or space."""
    if not 1 <= len(name) <= MAX_FILE_NAME_LENGTH:
        return False
    return not any(ch in FORBIDDEN_FILE_NAME_CHARACTERS for ch in name)


#: The types a file sent in a message may have (Meta's media endpoint): seed 001's, and the
#: audio and sticker types Meta takes; mapped to the canonical name sent to Meta.
MESSAGE_MEDIA_TYPES: Final[dict[str, str]] = {
    **SUPPORTED_TYPES,
    "audio/aac": "audio/aac",
    "audio/amr": "audio/amr",
    "audio/mpeg": "audio/mpeg",
    "audio/mp4": "audio/mp4",
    "audio/ogg": "audio/ogg",
    "image/webp": "image/webp",
}
_MB = 1024 * 1024
#: Meta's size limit for each type of message media.
MESSAGE_MEDIA_LIMITS: Final[dict[str, int]] = {
    "application/pdf": 100 * _MB,
    "image/jpeg": 5 * _MB,
    "image/png": 5 * _MB,
    "video/mp4": 16 * _MB,
    "audio/aac": 16 * _MB,
    "audio/amr": 16 * _MB,
    "audio/mpeg": 16 * _MB,
    "audio/mp4": 16 * _MB,
    "audio/ogg": 16 * _MB,
    "image/webp": 500 * 1024,
}


def size_text(size: int) -> str:
    """A limit as people write it: ``5 MB``, ``500 KB``."""
    if size % _MB == 0:
        return f"{size // _MB} MB"
    return f"{size // 1024} KB" if size % 1024 == 0 else f"{size} bytes"


def message_media_type(declared: str) -> str | None:
    """The canonical type of a file sent in a message, or None when Meta does not take it."""
    return MESSAGE_MEDIA_TYPES.get(declared.strip().lower())


def content_matches(media_type: str, head: bytes) -> bool:
    """Whether the first bytes of a file are those of ``media_type`` (a canonical type of
    :data:`MESSAGE_MEDIA_TYPES`)."""
    if media_type in ("video/mp4", "audio/mp4"):
        return len(head) >= 8 and head[4:8] in _MP4_BRANDS
    if media_type == "image/webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if media_type == "audio/ogg":
        return head.startswith(b"OggS")
    if media_type == "audio/amr":
        return head.startswith(b"#!AMR")
    if media_type == "audio/aac":
        return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0
    if media_type == "audio/mpeg":
        mpeg_frame = len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
        return head.startswith(b"ID3") or (mpeg_frame and head[1] & 0x06 != 0)
    return sniff_type(head) == media_type


def checked_message_media(received: ReceivedFile | None, declared_type: str | None) -> str:
    """The canonical type of a file to send in a message, or the error that refuses it."""
    if received is None:
        raise errors.InvalidPayload({"file": "the file part is missing"})
    if declared_type is None or not declared_type.strip():
        raise errors.InvalidPayload({"type": "the type part is missing"})
    media_type = message_media_type(declared_type)
    if media_type is None:
        raise errors.InvalidPayload(
            {"type": f"unsupported type {declared_type!r}; use one of "
                     f"{', '.join(MESSAGE_MEDIA_TYPES)}"}
        )  # fmt: skip
    if not is_valid_file_name(received.file_name):
        raise errors.InvalidFileName()
    if received.size == 0:
        raise errors.InvalidPayload({"file": "the file is empty"})
    limit = MESSAGE_MEDIA_LIMITS[media_type]
    if received.size > limit:
        article = "an" if media_type[0] in "aeiou" else "a"
        raise errors.InvalidPayload(
            {"file": f"{article} {media_type} file may be at most {size_text(limit)} "
                     f"({limit} bytes); this one has {received.size} bytes"}
        )  # fmt: skip
    if not content_matches(media_type, received.head):
        raise errors.InvalidPayload(
            {"type": f"declared type {declared_type} does not match the file's content, "
                     f"which is {describe_content(received.head)}"}
        )  # fmt: skip
    return media_type
