"""Incoming media on a real database and real files, the sandbox as Meta (in-process, on
127.0.0.1): downloaded, checked, stored and linked; retried through Meta's faults;
given up on with the error; downloaded again on request."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.integration.deliveries import queued_deliveries
from tests.integration.meta_posts import post_webhook
from tests.meta_samples import IMAGE, PHONE_NUMBER_ID, WAMID, with_id
from wagate.blobs import LocalBlobStore
from wagate.delivery.ssrf import AddressPolicy
from wagate.domain.backoff import Backoff
from wagate.domain.jobs import JobKind
from wagate.sandbox import SandboxSettings, create_sandbox_app
from wagate.services.file_links import FileLinks
from wagate.services.inbox_processing import InboxProcessor
from wagate.services.incoming_media import IncomingMediaService, MediaPolicy
from wagate.services.ingress import IngressService
from wagate.services.jobs import JobQueue
from wagate.services.profiles import ProfileService
from wagate.services.tenancy import TenancyService
from wagate.settings import Settings
from wagate.store import Database
from wagate.store.inbound import MediaState
from wagate.upstream.graph import GraphClient

TOKEN = "integration-token"
SECRET = "integration-secret"
SETTINGS = Settings(meta_access_token=TOKEN, meta_app_id="APP1", meta_app_secret=SECRET)
NUMBER = "15550783881"
PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40
QUICK = Backoff(base=0.01, cap=0.02, jitter=0.0)


@dataclass
class World:
    database: Database
    ingress: IngressService
    media: IncomingMediaService
    jobs: JobQueue
    blobs: LocalBlobStore
    http: aiohttp.ClientSession
    sandbox_url: str

    async def control(self, path: str, body: Any, content_type: str | None = None) -> Any:
        url = f"{self.sandbox_url}/_sandbox/{path}"
        if content_type is not None:
            request = self.http.post(url, data=body, headers={"Content-Type": content_type})
        else:
            request = self.http.post(url, json=body)
        async with request as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def user_sends_photo(self, wamid: str = WAMID) -> str:
        """A user's photo, held by Meta, and the webhook naming it, received and processed."""
        media_id: str = (await self.control("media", PHOTO, "image/jpeg"))["id"]
        document = with_id(IMAGE, wamid)
        image = document["entry"][0]["changes"][0]["value"]["messages"][0]["image"]
        image.update(id=media_id, sha256=hashlib.sha256(PHOTO).hexdigest())
        body = json.dumps(document).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        await post_webhook(self.ingress, body, signature)
        while (await InboxProcessor(self.database).process_next()).processed:
            pass
        return media_id

    async def run_jobs(self) -> int:
        """Run every download job due now; how many ran."""
        jobs = await self.jobs.claim(
            [JobKind.DOWNLOAD_MEDIA], worker="w", limit=10, lease=timedelta(minutes=1)
        )
        for job in jobs:
            await self.media.run(job)
        return len(jobs)

    async def callbacks(self) -> list[dict[str, Any]]:
        """The incoming callbacks queued, in order."""
        return [json.loads(d.body or "{}") for d in await queued_deliveries(self.database)]


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    database = Database(database_url)
    await database.upgrade_schema()
    tenancy = TenancyService(database)
    await tenancy.create_account("SID1", "C1", api_key="K1")
    await tenancy.create_waba("SID1", "WABA1")
    await tenancy.create_number("SID1", "WABA1", NUMBER, PHONE_NUMBER_ID)
    profiles = ProfileService(database, pod="stage", addresses=AddressPolicy(["127.0.0.0/8"]))
    body = {"id": "<id>", "media_url": "<media_url>", "mime_type": "<mime_type>",
            "error": "<error>", "type": "<type>"}  # fmt: skip
    profile = await profiles.create(
        "SID1", title="incoming", http_method="POST", url="http://127.0.0.1:9/in",
        body=json.dumps(body), headers={},
    )  # fmt: skip
    await profiles.attach_to_number(
        "SID1", "WABA1", NUMBER, profile_id=None, webhook_url=None, incoming_profile_id=profile.id
    )
    blobs = LocalBlobStore(tmp_path / "media")
    server = TestServer(create_sandbox_app(SandboxSettings.of(SETTINGS)), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            url = str(server.make_url("")).rstrip("/")
            graph = GraphClient(http, base_url=url, version="v21.0", app_id="APP1",
                                access_token=TOKEN)  # fmt: skip
            policy = MediaPolicy(tries_per_run=3, max_runs=2, backoff=QUICK, run_backoff=QUICK)
            media = IncomingMediaService(
                database, blobs, graph, FileLinks("http://gw.example", blobs), policy
            )
            ingress = IngressService(database, app_secret=SECRET, verify_token="v")
            yield World(database, ingress, media, JobQueue(database), blobs, http, url)
    finally:
        await server.close()
        await blobs.close()
        await database.close()


async def stored_bytes(world: World, media_url: str) -> bytes:
    token = media_url.rsplit("/", 1)[1]
    stored = await world.media.find_by_token(token)
    assert stored is not None
    assert stored.media is not None
    assert stored.media.blob_key is not None
    return b"".join([chunk async for chunk in world.blobs.read(stored.media.blob_key)])


async def test_the_callback_waits_for_the_media_and_links_the_same_bytes(world: World) -> None:
    await world.user_sends_photo()
    assert await world.callbacks() == []
    assert await world.run_jobs() == 1
    (callback,) = await world.callbacks()
    assert callback["id"] == WAMID
    assert callback["mime_type"] == "image/jpeg"
    assert callback["media_url"].startswith("http://gw.example/media/")
    assert "error" not in callback
    assert await stored_bytes(world, callback["media_url"]) == PHOTO
    view = await world.media.get("SID1", NUMBER, WAMID)
    assert view.media_url == callback["media_url"]


@pytest.mark.parametrize(
    "fault",
    [{"fail_next": 2}, {"wrong_sha256_next": 1}, {"cut_download_after_bytes": 100}],
    ids=["two 5xx", "a wrong sha256", "a cut download"],
)
async def test_a_fault_of_meta_is_retried_and_the_media_delivered_once(
    world: World, fault: dict[str, int]
) -> None:
    await world.control("media", b"warm-up", "text/plain")
    await world.control("faults", fault)
    await world.user_sends_photo()
    assert await world.run_jobs() == 1
    (callback,) = await world.callbacks()
    assert await stored_bytes(world, callback["media_url"]) == PHOTO
    assert await world.run_jobs() == 0, "the job is done"


async def test_meta_failing_for_good_is_told_with_the_error_then_retried_on_request(
    world: World,
) -> None:
    await world.control("faults", {"fail_next": 1000})
    await world.user_sends_photo()
    assert await world.run_jobs() == 1, "first run: a few tries, then later"
    assert await world.callbacks() == []
    while not await world.run_jobs():  # the second run, once its short backoff is over
        await asyncio.sleep(0.01)
    (failed,) = await world.callbacks()
    assert "media_url" not in failed
    assert "503" in failed["error"]
    view = await world.media.get("SID1", NUMBER, WAMID)
    assert view.stored.media is not None
    assert view.stored.media.state == MediaState.FAILED

    async with world.http.delete(f"{world.sandbox_url}/_sandbox/faults") as response:
        assert response.status == 200
    retried = await world.media.retry("SID1", NUMBER, WAMID)
    assert retried.stored.media is not None
    assert retried.stored.media.state == MediaState.PENDING
    assert await world.run_jobs() == 1
    failed_again, stored = await world.callbacks()
    assert failed_again == failed
    assert await stored_bytes(world, stored["media_url"]) == PHOTO
    assert (await world.media.retry("SID1", NUMBER, WAMID)).stored.media.state == "stored"
