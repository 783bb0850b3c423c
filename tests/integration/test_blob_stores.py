"""The blob stores against real storage: a directory, and a local S3 server (moto's)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.support import S3Server, running_s3_server
from wagate.blobs import BlobStore, LocalBlobStore, S3BlobStore
from wagate.blobs.s3 import PART_BYTES

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with running_s3_server(tmp_path_factory.mktemp("s3") / "moto.log") as server:
        yield server


@pytest.fixture(params=["local", "s3"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, s3_server: S3Server
) -> AsyncIterator[BlobStore]:
    blobs: BlobStore
    if request.param == "local":
        blobs = LocalBlobStore(tmp_path / "media")
    else:
        settings = s3_server.env(prefix=f"t-{tmp_path.name}")
        blobs = S3BlobStore(
            settings["WAGATE_STORAGE_URL"],
            endpoint=settings["WAGATE_S3_ENDPOINT"],
            region=settings["WAGATE_S3_REGION"],
            access_key_id=settings["WAGATE_S3_ACCESS_KEY_ID"],
            secret_access_key=settings["WAGATE_S3_SECRET_ACCESS_KEY"],
        )
    yield blobs
    await blobs.close()


def _content(size: int) -> bytes:
    return PNG + os.urandom(size - len(PNG))


async def _write(store: BlobStore, key: str, data: bytes, chunk: int = 65536) -> None:
    writer = store.create(key)
    for offset in range(0, len(data), chunk):
        await writer.write(data[offset : offset + chunk])
    await writer.commit()


async def _read(store: BlobStore, key: str, offset: int = 0, length: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in store.read(key, offset, length)])


async def test_a_blob_written_in_chunks_reads_back_whole_and_in_ranges(store: BlobStore) -> None:
    data = _content(2 * PART_BYTES + 12345)  # more than one multipart part
    await _write(store, "uploads/a/blob", data)

    assert await store.size("uploads/a/blob") == len(data)
    whole = await _read(store, "uploads/a/blob")
    assert hashlib.sha256(whole).digest() == hashlib.sha256(data).digest()
    assert await _read(store, "uploads/a/blob", 1000, 5000) == data[1000:6000]
    assert await _read(store, "uploads/a/blob", len(data) - 10) == data[-10:]


async def test_an_aborted_blob_leaves_nothing_under_its_key(store: BlobStore) -> None:
    writer = store.create("uploads/b/aborted")
    await writer.write(_content(PART_BYTES + 1))
    await writer.abort()
    await writer.abort()

    assert await store.size("uploads/b/aborted") is None


async def test_a_small_blob_and_an_empty_delete(store: BlobStore) -> None:
    await _write(store, "readiness/x", b"ok")
    assert await _read(store, "readiness/x") == b"ok"
    await store.delete("readiness/x")
    assert await store.size("readiness/x") is None
    await store.delete("readiness/x")  # already gone: no error


async def test_a_bucket_blob_downloads_from_its_presigned_url_with_its_type(
    s3_server: S3Server, store: BlobStore
) -> None:
    if isinstance(store, LocalBlobStore):
        assert await store.signed_url("k", timedelta(hours=1)) is None
        assert store.local_path("k") == store.path_of("k")
        return
    data = _content(300_000)
    await _write(store, "uploads/c/image", data)
    url = await store.signed_url("uploads/c/image", timedelta(hours=1))
    assert url is not None
    assert url.startswith(s3_server.endpoint)
    assert "X-Amz-Signature=" in url

    async with httpx.AsyncClient() as client:
        whole = await client.get(url)
        ranged = await client.get(url, headers={"Range": "bytes=100-199"})
    assert whole.status_code == 200
    assert whole.content == data
    assert whole.headers["content-type"] == "image/png"
    assert ranged.status_code == 206
    assert ranged.content == data[100:200]
