"""The streaming upload reader, on a real blob directory, with any chunking of the body."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wagate.api.multipart import read_upload_form
from wagate.blobs import LocalBlobStore
from wagate.domain import errors

BOUNDARY = "------------------------97761d0ebe29f86b"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def curl_body(
    content: bytes, *, file_name: str = "image.png", media_type: str = "image/png"
) -> bytes:
    """The body curl sends for the seed's command (parts marked ``attachment``)."""
    return (
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: attachment; name="file"; filename="{file_name}"\r\n'
        f"Content-Type: image/png\r\n\r\n".encode()
        + content
        + f"\r\n--{BOUNDARY}\r\n"
        f'Content-Disposition: attachment; name="type"\r\n\r\n'
        f"{media_type}\r\n--{BOUNDARY}--\r\n".encode()
    )


async def chunks(body: bytes, cuts: list[int]) -> AsyncIterator[bytes]:
    start = 0
    for cut in sorted(set(cuts)):
        if start < cut < len(body):
            yield body[start:cut]
            start = cut
    yield body[start:]


def blob_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


async def read(store: LocalBlobStore, body: bytes, *, cuts: list[int] | None = None, **kw: object):  # type: ignore[no-untyped-def]
    counter = iter(range(1_000_000))
    return await read_upload_form(
        kw.pop("content_type", f"application/json; boundary={BOUNDARY}"),  # type: ignore[arg-type]
        chunks(body, cuts or []),
        lambda: store.create(f"uploads/blob-{next(counter)}"),
        max_file_bytes=kw.pop("max_file_bytes", 10 * 1024 * 1024),  # type: ignore[arg-type]
    )


async def test_curl_form_is_read_and_the_file_stored(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    form = await read(store, curl_body(PNG))
    assert form.fields == {"type": "image/png"}
    assert form.file is not None
    assert form.file.file_name == "image.png"
    assert form.file.size == len(PNG)
    assert form.file.sha256 == hashlib.sha256(PNG).hexdigest()
    assert form.file.head == PNG[:16]
    assert store.path_of(form.file.blob_key).read_bytes() == PNG


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cuts=st.lists(st.integers(min_value=1, max_value=len(curl_body(PNG)) - 1), max_size=12))
def test_any_chunking_of_the_body_gives_the_same_result(tmp_path: Path, cuts: list[int]) -> None:
    store = LocalBlobStore(tmp_path)
    form = asyncio.run(read(store, curl_body(PNG), cuts=cuts))
    assert form.file is not None
    assert form.file.sha256 == hashlib.sha256(PNG).hexdigest()
    assert form.fields["type"] == "image/png"


async def test_ordinary_form_data_and_quoted_values_are_accepted(tmp_path: Path) -> None:
    body = curl_body(PNG, media_type='"image/png"').replace(b"attachment;", b"form-data;")
    form = await read(
        LocalBlobStore(tmp_path), body, content_type=f"multipart/form-data; boundary={BOUNDARY}"
    )
    assert form.fields["type"] == "image/png"


async def test_rfc5987_file_names_are_decoded(tmp_path: Path) -> None:
    body = curl_body(PNG).replace(b'filename="image.png"', b"filename*=UTF-8''na%C3%AFve.png")
    form = await read(LocalBlobStore(tmp_path), body)
    assert form.file is not None
    assert form.file.file_name == "naïve.png"


@pytest.mark.parametrize(
    "content_type",
    [None, "application/json", "text/plain; boundary=x", "multipart/form-data"],
)
async def test_a_body_without_a_usable_boundary_is_refused(
    tmp_path: Path, content_type: str | None
) -> None:
    with pytest.raises(errors.InvalidPayload):
        await read(LocalBlobStore(tmp_path), curl_body(PNG), content_type=content_type)


async def test_a_truncated_body_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    body = curl_body(PNG)
    with pytest.raises(errors.InvalidPayload):
        await read(LocalBlobStore(tmp_path), body[: len(body) // 2])
    assert blob_files(tmp_path) == []


async def test_a_file_over_the_limit_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(errors.PayloadTooLarge):
        await read(
            LocalBlobStore(tmp_path), curl_body(PNG), max_file_bytes=len(PNG) - 1, cuts=[100, 900]
        )
    assert blob_files(tmp_path) == []


async def test_a_file_at_the_limit_is_taken(tmp_path: Path) -> None:
    form = await read(LocalBlobStore(tmp_path), curl_body(PNG), max_file_bytes=len(PNG))
    assert form.file is not None


async def test_two_file_parts_are_refused(tmp_path: Path) -> None:
    one = curl_body(PNG)
    first_part = one[: one.index(f"\r\n--{BOUNDARY}\r\n".encode()) + 2]
    with pytest.raises(errors.InvalidPayload):
        await read(LocalBlobStore(tmp_path), first_part + one)
    assert blob_files(tmp_path) == []
