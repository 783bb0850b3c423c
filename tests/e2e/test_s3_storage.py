"""Media in an S3 bucket: upload into it, transfer out of it, download and purge.

Real processes on 127.0.0.1: moto's S3 server, the sandbox, and a gateway
with ``WAGATE_STORAGE_URL=s3://…``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.e2e.conftest import GatewayFactory
from tests.e2e.sandbox import (
    Sandbox,
    get_upload,
    resumable_media_url,
    sandbox_process,
    wait_for_status,
)
from tests.e2e.test_transfer import files_under, gateway_env, make_media, parse_time, post_media
from tests.e2e.uploads import BOUNDARY, endless_png_body
from tests.support import PATIENCE, S3Server, local_http, running_s3_server, wait_until


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with running_s3_server(tmp_path_factory.mktemp("s3") / "moto.log") as server:
        yield server


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandbox_process(tmp_path_factory.mktemp("sandbox")) as running:
        yield running


def test_an_upload_lives_in_the_bucket_reaches_meta_and_is_purged_from_it(
    start_gateway: GatewayFactory,
    s3_server: S3Server,
    sandbox: Sandbox,
    data_dir: Path,
    tmp_path: Path,
) -> None:
    prefix = f"media-{tmp_path.name}"
    env = gateway_env(
        sandbox,
        **s3_server.env(prefix),
        WAGATE_HANDLE_TTL_SECONDS="2",
        WAGATE_RETENTION_SECONDS="10",
    )
    gateway = start_gateway(env=env, data_dir=data_dir)
    media = make_media(tmp_path, "bucket.png", 12_000_000)

    upload_id = post_media(gateway, media)
    record = wait_for_status(gateway, upload_id, "UPLOADED", timeout=PATIENCE)

    stored = s3_server.keys(prefix + "/uploads/")
    assert len(stored) == 1, stored
    assert files_under(data_dir / "media") == [], "nothing is stored on the local disk"
    session = sandbox.session_of(media.name)
    assert session is not None
    assert session["complete"] is True
    assert session["sha256"] == media.sha256
    assert record["uploaded_file_handle"] == session["handle"]

    link = record["file_link"]
    assert link.startswith(f"{s3_server.endpoint}/{s3_server.bucket}/{prefix}/uploads/"), (
        "a presigned URL of the object itself"
    )
    lives_until = signed_until(link)
    assert abs((lives_until - parse_time(record["purge_at"])).total_seconds()) <= 2, (
        "it lives until the purge"
    )
    whole = local_http.get(link, timeout=60)
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "image/png"
    assert hashlib.sha256(whole.content).hexdigest() == media.sha256
    part = local_http.get(link, headers={"Range": "bytes=0-99"}, timeout=10)
    assert part.status_code == 206
    assert part.content == media.path.read_bytes()[:100]

    wait_for_status(gateway, upload_id, "EXPIRED", timeout=PATIENCE)
    wait_until(
        lambda: get_upload(gateway, upload_id).status_code == 404 or None, PATIENCE, "the purge"
    )
    assert s3_server.keys(prefix + "/uploads/") == []
    assert local_http.get(link, timeout=10).status_code == 404, "the object itself is gone"


def test_an_over_limit_upload_leaves_no_object_in_the_bucket(
    start_gateway: GatewayFactory,
    s3_server: S3Server,
    sandbox: Sandbox,
    data_dir: Path,
    tmp_path: Path,
) -> None:
    prefix = f"media-{tmp_path.name}"
    env = gateway_env(sandbox, **s3_server.env(prefix), WAGATE_UPLOAD_MAX_BYTES="20000000")
    gateway = start_gateway(env=env, data_dir=data_dir)

    response = local_http.post(
        resumable_media_url(gateway),
        headers={
            "api-key": "KEY1",
            "content-type": f"multipart/form-data; boundary={BOUNDARY}",
        },
        content=endless_png_body(25_000_000),
        timeout=60,
    )

    assert response.status_code == 413
    assert response.json()["code"] == "WA413"
    assert s3_server.keys(prefix) == []
    assert gateway.process.poll() is None


def signed_until(url: str) -> datetime:
    """When a SigV4 presigned URL stops working: its signing time plus its lifetime."""
    query = dict(parse_qsl(urlsplit(url).query))
    signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return signed_at + timedelta(seconds=int(query["X-Amz-Expires"]))
