"""Sending messages and setting a number's targets, on a real database, with the sandbox as Meta.

The Meta sandbox is served in-process on 127.0.0.1 and reached by the real
Graph client, so "nothing reached Meta" is read from the sandbox itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from wagate.delivery.ssrf import AddressPolicy
from wagate.domain import errors
from wagate.sandbox import SandboxSettings, create_sandbox_app
from wagate.services.inbox_processing import InboxProcessor
from wagate.services.messages import MessageService
from wagate.services.profiles import ProfileService
from wagate.services.tenancy import TenancyService
from wagate.settings import Settings
from wagate.store import Database
from wagate.store import messages as message_rows
from wagate.store import tenancy as tenancy_rows
from wagate.upstream.graph import GraphClient

TOKEN = "integration-token"
SETTINGS = Settings(meta_access_token=TOKEN, meta_app_id="APP1", meta_app_secret="s")
NUMBER = "15550783881"
TEXT = {"to": "15550100100", "type": "text", "text": {"body": "hello"}}


@dataclass
class World:
    database: Database
    tenancy: TenancyService
    profiles: ProfileService
    messages: MessageService
    http: aiohttp.ClientSession
    sandbox_url: str

    async def accepted_by_meta(self) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.sandbox_url}/_sandbox/messages") as response:
            data: list[dict[str, Any]] = (await response.json())["data"]
            return data

    async def profile(self, sid: str) -> str:
        profile = await self.profiles.create(
            sid,
            title="status",
            http_method="POST",
            url="http://127.0.0.1:9/s",
            body=None,
            headers={},
        )
        return profile.id


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    database = Database(database_url)
    await database.upgrade_schema()
    tenancy = TenancyService(database)
    for sid in ("SID1", "SID2"):
        await tenancy.create_account(sid, f"C-{sid}", api_key=f"K-{sid}")
        await tenancy.create_waba(sid, f"WABA-{sid}")
    await tenancy.create_number("SID1", "WABA-SID1", NUMBER, "PNID1")
    profiles = ProfileService(database, pod="stage", addresses=AddressPolicy(["127.0.0.0/8"]))
    server = TestServer(create_sandbox_app(SandboxSettings.of(SETTINGS)), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            sandbox_url = str(server.make_url("")).rstrip("/")
            graph = GraphClient(
                http, base_url=sandbox_url, version="v21.0", app_id="APP1", access_token=TOKEN
            )
            yield World(
                database, tenancy, profiles, MessageService(database, graph), http, sandbox_url
            )
    finally:
        await server.close()
        await database.close()


async def test_a_new_number_has_its_signing_secret_and_patch_returns_it(world: World) -> None:
    async with world.database.transaction() as connection:
        secret = (await tenancy_rows.webhook_secrets_of(connection, [NUMBER])).get(NUMBER)
    assert secret, "callbacks to its messages' callback_url are signed from the start"
    phone, returned = await world.profiles.attach_to_number(
        "SID1", "WABA-SID1", NUMBER, profile_id=None, webhook_url=None
    )
    assert returned == secret
    assert (phone.callback_profile_id, phone.webhook_url) == (None, None)


async def test_patching_one_target_answers_with_both_as_they_now_are(world: World) -> None:
    profile_id = await world.profile("SID1")
    await world.profiles.attach_to_number(
        "SID1", "WABA-SID1", NUMBER, profile_id=profile_id, webhook_url=None
    )
    phone, _ = await world.profiles.attach_to_number(
        "SID1", "WABA-SID1", NUMBER, profile_id=None, webhook_url="http://127.0.0.1:9/push"
    )
    assert (phone.callback_profile_id, phone.webhook_url) == (profile_id, "http://127.0.0.1:9/push")
    phone, _ = await world.profiles.attach_to_number(
        "SID1", "WABA-SID1", NUMBER, profile_id=None, webhook_url=None, clear_profile=True
    )
    assert (phone.callback_profile_id, phone.webhook_url) == (None, "http://127.0.0.1:9/push")


async def test_a_callback_profile_not_of_the_account_is_refused_before_meta_sees_it(
    world: World,
) -> None:
    phone = await world.messages.number_of("SID1", NUMBER)
    foreign = await world.profile("SID2")
    for profile_id in (foreign, "stage_no-such-profile"):
        with pytest.raises(errors.InvalidPayload) as refused:
            await world.messages.send(phone, TEXT, {"callback_profile_id": profile_id})
        assert "extra_info.callback_profile_id" in refused.value.details
    assert await world.accepted_by_meta() == []

    own = await world.profile("SID1")
    sent = await world.messages.send(phone, TEXT, {"callback_profile_id": own})
    [accepted] = await world.accepted_by_meta()
    assert accepted["id"] == sent.wamid
    assert (await InboxProcessor(world.database).process_next()).processed == 1, (
        "the wamid's record"
    )
    async with world.database.transaction() as connection:
        stored = await message_rows.get_by_wamid(connection, sent.wamid)
    assert stored is not None
    assert (stored.id, stored.callback_profile_id) == (sent.id, own)
