from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wagate.domain.media import (
    canonical_type,
    describe_content,
    is_valid_file_name,
    sniff_type,
)

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
