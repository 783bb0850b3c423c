from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wagate.domain.errors import InvalidFileName, InvalidPayload
from wagate.domain.media import (
    canonical_type,
    checked_message_media,
    content_matches,
    describe_content,
    is_valid_file_name,
    sniff_type,
)
from wagate.domain.uploads import ReceivedFile

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
PDF = b"%PDF-1.7\n%\xe2\xe3"
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00"


@pytest.mark.parametrize(
    ("declared", "canonical"),
    [
        ("application/pdf", "application/pdf"),
        ("image/jpeg", "image/jpeg"),
        ("image/jpg", "image/jpeg"),
        ("image/png", "image/png"),
        ("video/mp4", "video/mp4"),
        ("IMAGE/PNG", "image/png"),
        ("image/gif", None),
        ("text/plain", None),
        ("", None),
    ],
)
def test_only_the_five_types_of_the_seed_are_supported(
    declared: str, canonical: str | None
) -> None:
    assert canonical_type(declared) == canonical


@pytest.mark.parametrize(
    ("head", "expected"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (PDF, "application/pdf"), (MP4, "video/mp4")],
)
def test_magic_bytes_tell_the_type(head: bytes, expected: str) -> None:
    assert sniff_type(head) == expected


def test_text_and_other_formats_are_not_recognised() -> None:
    assert sniff_type(b"hello, world\n") is None
    assert sniff_type(b"GIF89a\x01\x00") is None
    assert sniff_type(b"") is None
    assert describe_content(b"hello, world\n") == "text"
    assert describe_content(b"") == "an empty file"
    assert describe_content(b"GIF89a\x01\x00\x80") == "data of an unsupported type"


@pytest.mark.parametrize(
    "name",
    ["image.png", "a", "x" * 255, "report-2025_01.final.pdf", "naïve.png", "(1).jpg"],
)
def test_valid_file_names(name: str) -> None:
    assert is_valid_file_name(name)


@pytest.mark.parametrize(
    "name",
    ["", "x" * 256, "a b.png", "a/b.png", "a\\b.png", "a<b.png", "me@home.png", "100%.png"],
)
def test_invalid_file_names(name: str) -> None:
    assert not is_valid_file_name(name)


@given(st.text(min_size=1, max_size=255))
def test_a_name_is_valid_exactly_when_it_has_no_forbidden_character(name: str) -> None:
    assert is_valid_file_name(name) == (not any(ch in "\\/<@% " for ch in name))


# --- files sent in messages ----------------------------------------------------------------

MESSAGE_HEADS = {
    "image/webp": b"RIFF\x10\x00\x00\x00WEBPVP8 ",
    "audio/ogg": b"OggS\x00\x02\x00\x00",
    "audio/amr": b"#!AMR\n\x3c\x91",
    "audio/aac": b"\xff\xf1\x50\x80\x02\x1f\xfc",
    "audio/mpeg": b"ID3\x04\x00\x00\x00\x00",
    "audio/mp4": b"\x00\x00\x00\x20ftypM4A ",
    "image/png": b"\x89PNG\r\n\x1a\n\x00",
}


def received(head: bytes, size: int = 100, name: str = "file.bin") -> ReceivedFile:
    return ReceivedFile(blob_key="k", file_name=name, size=size, sha256="0" * 64, head=head)


@pytest.mark.parametrize(("media_type", "head"), list(MESSAGE_HEADS.items()))
def test_files_sent_in_messages_are_checked_by_their_content(media_type: str, head: bytes) -> None:
    assert checked_message_media(received(head), media_type) == media_type
    others = [h for t, h in MESSAGE_HEADS.items() if not {t, media_type} <= {"audio/mp4"}]
    wrong = next(h for h in others if not content_matches(media_type, h))
    with pytest.raises(InvalidPayload) as caught:
        checked_message_media(received(wrong), media_type)
    assert "does not match" in caught.value.details["type"]


def test_a_file_over_meta_s_size_for_its_type_is_refused() -> None:
    with pytest.raises(InvalidPayload) as caught:
        checked_message_media(received(MESSAGE_HEADS["image/webp"], 600 * 1024), "image/webp")
    assert caught.value.details["file"] == (
        f"an image/webp file may be at most 500 KB (512000 bytes); this one has {600 * 1024} bytes"
    )
    with pytest.raises(InvalidPayload) as caught:
        checked_message_media(received(MP4, 17 * 2**20), "video/mp4")
    assert caught.value.details["file"].startswith("a video/mp4 file may be at most 16 MB (")
    with pytest.raises(InvalidPayload):
        checked_message_media(received(MESSAGE_HEADS["image/png"]), "image/gif")
    with pytest.raises(InvalidFileName):
        checked_message_media(received(MESSAGE_HEADS["image/png"], name="a b.png"), "image/png")
