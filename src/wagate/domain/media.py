"""What media the gateway takes: the five types, their magic bytes, file name rules."""

from __future__ import annotations

from typing import Final

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
