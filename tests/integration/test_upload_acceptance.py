from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from tests.integration.conftest import POLICY, Services
from wagate.domain import errors
from wagate.domain.uploads import ReceivedFile, UploadStatus

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


async def received(
    services: Services, content: bytes = PNG, name: str = "image.png"
) -> ReceivedFile:
    writer = services.uploads.open_blob()
    await writer.write(content)
    await writer.commit()
    return ReceivedFile(
        blob_key=writer.key,
        file_name=name,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        head=content[:16],
    )


def stored_files(services: Services) -> list[Path]:
    return [p for p in services.blobs.root.rglob("*") if p.is_file()]


async def test_an_accepted_upload_keeps_every_field(services: Services) -> None:
    upload = await services.uploads.accept(
        services.access, await received(services), "image/png", None
    )
    assert upload.status is UploadStatus.PENDING
    stored = await services.uploads.get(services.access, upload.id)
    assert stored == upload
    assert stored.size == len(PNG)
    assert stored.sha256 == hashlib.sha256(PNG).hexdigest()
    assert stored.expires_at - stored.created_at == POLICY.handle_ttl
    assert stored.purge_at - stored.created_at == POLICY.retention
    assert services.blobs.path_of(stored.blob_key).read_bytes() == PNG


@pytest.mark.parametrize(
    ("content", "declared", "name", "error"),
    [
        (PNG, "application/pdf", "image.png", errors.InvalidPayload),
        (b"just some text", "image/png", "image.png", errors.InvalidPayload),
        (PNG, "image/gif", "image.png", errors.InvalidPayload),
        (PNG, None, "image.png", errors.InvalidPayload),
        (b"", "image/png", "image.png", errors.InvalidPayload),
        (PNG, "image/png", "my image.png", errors.InvalidFileName),
        (PNG, "image/png", "", errors.InvalidFileName),
    ],
)
async def test_a_refused_upload_leaves_no_row_and_no_file(
    services: Services, content: bytes, declared: str | None, name: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await services.uploads.accept(
            services.access, await received(services, content, name), declared, None
        )
    assert stored_files(services) == []
    assert (await services.uploads.list(services.access, limit=10, offset=0))[1] == 0


async def test_the_rate_limit_is_exact_under_concurrency(services: Services) -> None:
    async def one() -> str:
        try:
            await services.uploads.accept(
                services.access, await received(services), "image/png", None
            )
        except errors.RateLimited:
            return "limited"
        return "accepted"

    outcomes = await asyncio.gather(*(one() for _ in range(40)))
    assert outcomes.count("accepted") == 20
    assert outcomes.count("limited") == 20
    assert len(stored_files(services)) == 20
    with pytest.raises(errors.RateLimited):
        await services.uploads.admit(services.access, None)


async def test_an_idempotency_key_answers_the_first_upload_again(services: Services) -> None:
    first = await services.uploads.accept(
        services.access, await received(services), "image/png", "key-1"
    )
    assert (await services.uploads.admit(services.access, "key-1")) == first
    again = await services.uploads.accept(
        services.access, await received(services), "image/png", "key-1"
    )
    assert again == first
    assert len(stored_files(services)) == 1
    other = await services.uploads.accept(
        services.access, await received(services), "image/png", "key-2"
    )
    assert other.id != first.id


async def test_concurrent_requests_with_one_key_create_one_upload(services: Services) -> None:
    files = [await received(services) for _ in range(8)]
    results = await asyncio.gather(
        *(services.uploads.accept(services.access, f, "image/png", "same") for f in files)
    )
    assert len({upload.id for upload in results}) == 1
    assert len(stored_files(services)) == 1


async def test_pages_list_newest_first(services: Services) -> None:
    ids = []
    for _ in range(5):
        upload = await services.uploads.accept(
            services.access, await received(services), "image/png", None
        )
        ids.append(upload.id)
    page, total = await services.uploads.list(services.access, limit=2, offset=1)
    assert total == 5
    assert [u.id for u in page] == ids[::-1][1:3]
    with pytest.raises(errors.NotFound):
        await services.uploads.get(services.access, "missing")
