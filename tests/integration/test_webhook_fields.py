"""Meta's non-message fields through the inbox, on a real database: kept (opt-outs,
template categories), forwarded to the webhook_url of those who opted in, left
``unknown`` for the others and forwarded when reprocessed after an opt-in."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.deliveries import queued_deliveries
from tests.integration.meta_posts import feed_signed
from tests.meta_fixtures import notification, readdressed
from wagate.delivery.ssrf import AddressPolicy
from wagate.domain import errors
from wagate.domain.clock import utcnow
from wagate.domain.inbox import InboxKind
from wagate.domain.jobs import JobKind
from wagate.services.graph_versions import GraphVersions
from wagate.services.inbox_processing import InboxProcessor
from wagate.services.ingress import IngressService
from wagate.services.marketing_sends import check_marketing_send
from wagate.services.profiles import ProfileService
from wagate.services.stored_webhooks import StoredWebhooks
from wagate.services.tenancy import TenancyService
from wagate.services.webhook_subscriptions import WebhookSubscriptions
from wagate.store import Database, queue
from wagate.store import inbox as inbox_rows
from wagate.store import tenancy as tenancy_rows
from wagate.store import webhook_events as field_rows

SECRET = "integration-secret"
WABA = "102290129340398"
NUMBER = "15550783881"
PHONE_NUMBER_ID = "106540352242922"
OTHER_NUMBER = "15550783882"
OTHER_PHONE_NUMBER_ID = "106540352242923"
USER = "16505551234"


@dataclass
class World:
    database: Database
    ingress: IngressService
    processor: InboxProcessor
    subscriptions: WebhookSubscriptions


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    database = Database(database_url)
    await database.upgrade_schema()
    tenancy = TenancyService(database)
    await tenancy.create_account("SID1", "CID1", api_key="K")
    await tenancy.create_waba("SID1", WABA)
    profiles = ProfileService(database, pod="stage", addresses=AddressPolicy(["127.0.0.0/8"]))
    for number, phone_number_id, url in (
        (NUMBER, PHONE_NUMBER_ID, "http://127.0.0.1:9/push"),
        (OTHER_NUMBER, OTHER_PHONE_NUMBER_ID, "http://127.0.0.1:9/other"),
    ):
        await tenancy.create_number("SID1", WABA, number, phone_number_id)
        await profiles.attach_to_number("SID1", WABA, number, profile_id=None, webhook_url=url)
    try:
        yield World(
            database,
            IngressService(database, app_secret=SECRET, verify_token="v"),
            InboxProcessor(database),
            WebhookSubscriptions(database),
        )
    finally:
        await database.close()


async def feed(world: World, *documents: dict[str, Any]) -> None:
    bodies = [json.dumps(d).encode() for d in documents]
    await feed_signed(world.ingress, world.processor, SECRET, bodies)


async def pushes(world: World) -> list[tuple[str, dict[str, Any]]]:
    """Every push queued: (the URL's last segment, its JSON body), in order."""
    return [
        (d.url.rsplit("/", 1)[-1], json.loads(d.body or "{}"))
        for d in await queued_deliveries(world.database)
    ]


async def outcomes(world: World) -> dict[str, int]:
    async with world.database.transaction() as connection:
        return await inbox_rows.count_by_outcome(connection, InboxKind.META_WEBHOOK)


def opt_out() -> dict[str, Any]:
    return notification("user_preferences", "stop")


async def test_nothing_is_forwarded_until_opted_in_and_reprocessing_forwards_it(
    world: World,
) -> None:
    await feed(world, opt_out())
    assert await pushes(world) == []
    assert await outcomes(world) == {"unknown": 1}
    async with world.database.transaction() as connection:
        kept = await field_rows.preference_of(connection, NUMBER, USER)
    assert kept is not None
    assert kept.opted_out, "the opt-out is kept even though nobody hears of it"

    await world.subscriptions.set_for_waba("SID1", WABA, ["user_preferences"])
    stored = StoredWebhooks(world.database)
    (entry,), total = await stored.list(outcomes=("unknown",))
    assert entry.scope == PHONE_NUMBER_ID
    assert total == 1
    assert await stored.reprocess(utcnow() - timedelta(hours=1), ("unknown",)) == 1
    await feed(world)
    ((where, push),) = await pushes(world)
    assert where == "push"
    assert push["event"] == "user_preferences"
    assert push["business_phone"] == NUMBER
    assert push["user_preferences"][0]["value"] == "stop"
    assert await outcomes(world) == {"processed": 1, "reprocessed": 1}


async def test_a_waba_event_reaches_each_opted_in_number_s_url(world: World) -> None:
    await world.subscriptions.set_for_waba("SID1", WABA, ["*"])
    await world.subscriptions.set_for_number("SID1", OTHER_NUMBER, ["played"])
    await feed(world, notification("account_update", "account_restriction"))
    ((where, push),) = await pushes(world)
    assert where == "push", "the other number's own subscription leaves account updates out"
    assert push["event"] == "account_update"
    assert push["account_update"]["event"] == "ACCOUNT_RESTRICTION"
    assert await outcomes(world) == {"processed": 1}
    (entry,), _ = await StoredWebhooks(world.database).list(outcomes=("processed",))
    assert entry.scope is None
    assert json.loads(entry.detail or "{}") == {"forwarded": 1}, "no unknown_number"


async def test_a_waba_event_nobody_opted_into_says_so_and_not_unknown_number(
    world: World,
) -> None:
    await feed(world, notification("template_updates", "status_rejected"))
    (entry,), _ = await StoredWebhooks(world.database).list(outcomes=("unknown",))
    assert json.loads(entry.detail or "{}") == {"field_kept": 1, "field_not_subscribed": 1}


async def test_an_event_of_a_waba_we_do_not_serve_counts_its_number_unknown(
    world: World,
) -> None:
    document = readdressed(notification("account_update", "account_restriction"), waba_id="999")
    await feed(world, document)
    (entry,), _ = await StoredWebhooks(world.database).list(outcomes=("unknown",))
    assert json.loads(entry.detail or "{}") == {"field_unknown_number": 1}


async def test_a_webhook_mixing_a_number_s_and_a_waba_s_changes_forwards_both(
    world: World,
) -> None:
    await world.subscriptions.set_for_number("SID1", NUMBER, ["*"])
    mixed = opt_out()
    mixed["entry"] += notification("account_update", "account_restriction")["entry"]
    await feed(world, mixed)
    events = sorted(push["event"] for where, push in await pushes(world) if where == "push")
    assert events == ["account_update", "user_preferences"]
    assert await outcomes(world) == {"processed": 2}, "one entry for the number, one for the WABA"


async def test_template_categories_are_kept_per_template_and_language(world: World) -> None:
    await feed(
        world,
        notification("template_updates", "status_rejected"),
        readdressed(notification("template_updates", "category_marketing"), waba_id=WABA),
    )
    async with world.database.transaction() as connection:
        cart = await field_rows.categories_of(connection, WABA, "abandoned_cart")
        mine = await field_rows.categories_of(connection, WABA, "my_message_template")
    assert [(c.language, c.category) for c in cart] == [("en", "MARKETING")]
    assert [(c.language, c.category) for c in mine] == [("he", "MARKETING")]


async def test_played_echoes_and_errors_reach_a_number_that_takes_them(world: World) -> None:
    await world.subscriptions.set_for_number(
        "SID1", NUMBER, ["played", "errors", "smb_message_echoes"]
    )
    moved = {"waba_id": WABA, "phone_number_id": PHONE_NUMBER_ID}
    await feed(
        world,
        readdressed(notification("statuses_conversation", "played"), **moved),
        readdressed(notification("inbound_messages", "interactive_message_with_err"), **moved),
        readdressed(notification("message_echoes", "text"), **moved),
    )
    events = [push["event"] for where, push in await pushes(world) if "event" in push]
    assert events == ["played", "errors", "smb_message_echoes"]


async def test_a_later_resume_lifts_an_opt_out_and_an_older_stop_does_not_return(
    world: World,
) -> None:
    await feed(world, notification("user_preferences", "resume"), opt_out())
    async with world.database.transaction() as connection:
        kept = await field_rows.preference_of(connection, NUMBER, USER)
    assert kept is not None
    assert not kept.opted_out, "the stop is older (Meta's timestamp) than the resume"


async def test_subscriptions_are_checked_and_owned(world: World) -> None:
    with pytest.raises(errors.InvalidPayload):
        await world.subscriptions.set_for_waba("SID1", WABA, ["nope"])
    with pytest.raises(errors.WabaNotFound):
        await world.subscriptions.of_waba("SID2", WABA)
    with pytest.raises(errors.NotFound):
        await world.subscriptions.of_number("SID2", NUMBER)
    await world.subscriptions.set_for_waba("SID1", WABA, ["played"])
    mine = await world.subscriptions.of_number("SID1", NUMBER)
    assert (mine.event_types, mine.effective) == (None, ("played",))
    await world.subscriptions.set_for_number("SID1", NUMBER, [])
    mine = await world.subscriptions.of_number("SID1", NUMBER)
    assert (mine.event_types, mine.effective) == ((), ())
    await world.subscriptions.set_for_number("SID1", NUMBER, None)
    assert (await world.subscriptions.of_number("SID1", NUMBER)).effective == ("played",)


async def test_an_opt_out_refuses_the_next_marketing_template_send(world: World) -> None:
    promo = {
        "to": USER,
        "type": "template",
        "template": {"name": "abandoned_cart", "language": {"code": "en"}},
    }
    async with world.database.transaction() as connection:
        phone = await tenancy_rows.get_number(connection, NUMBER)
    assert phone is not None
    await feed(world, opt_out())
    await check_marketing_send(world.database, phone, promo, {})  # no category known yet
    await feed(world, notification("template_updates", "status_rejected"))
    with pytest.raises(errors.InvalidPayload) as refused:
        await check_marketing_send(world.database, phone, promo, {})
    assert USER in refused.value.details["messaging_object.to"]
    assert "131050" in refused.value.details["messaging_object.to"]
    await check_marketing_send(world.database, phone, promo, {"ignore_marketing_opt_out": True})
    await check_marketing_send(world.database, phone, {**promo, "to": "15550001111"}, {})
    with pytest.raises(errors.InvalidPayload):
        await check_marketing_send(world.database, phone, promo, {"ignore_marketing_opt_out": 1})
    await feed(world, notification("user_preferences", "resume"))
    await check_marketing_send(world.database, phone, promo, {})


async def test_a_waba_s_graph_version_is_found_by_waba_and_by_number(world: World) -> None:
    versions = GraphVersions(world.database, refresh_seconds=0)
    assert await versions.version_for(WABA) is None
    await world.subscriptions.set_graph_version("SID1", WABA, "v25.0")
    assert await versions.version_for(WABA) == "v25.0"
    assert await versions.version_for(PHONE_NUMBER_ID) == "v25.0"
    with pytest.raises(errors.InvalidPayload):
        await world.subscriptions.set_graph_version("SID1", WABA, "25")
    await world.subscriptions.set_graph_version("SID1", WABA, None)
    assert await versions.version_for(OTHER_PHONE_NUMBER_ID) is None


async def test_an_edit_carrying_media_waits_for_its_download(world: World) -> None:
    await feed(world, notification("inbound_messages", "edited_image"))
    async with world.database.transaction() as connection:
        jobs = await queue.count_by_kind(connection)
    assert jobs == {JobKind.DOWNLOAD_MEDIA.value: 1}
    assert await pushes(world) == [], "the customer hears of it once its media is stored"


def test_the_command_line_lists_and_reprocesses_unknown_webhooks(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from wagate.cli.main import app

    env = {"WAGATE_DATA_DIR": str(tmp_path)}
    runner = CliRunner()
    listed = runner.invoke(app, ["webhooks", "list", "--outcome", "unknown", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output)["total"] == 0
    since = (utcnow() - timedelta(hours=1)).isoformat()
    again = runner.invoke(
        app, ["webhooks", "reprocess", "--since", since, "--outcome", "unknown"], env=env
    )
    assert again.exit_code == 0, again.output
    assert json.loads(again.output) == {"reprocessed": 0}
    wrong = runner.invoke(app, ["webhooks", "list", "--outcome", "lost"], env=env)
    assert wrong.exit_code != 0
