"""The ingress spool on a real database: webhooks acknowledged once spooled reach the inbox
once each, in order, across restarts and crashes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from wagate import metrics
from wagate.domain.clock import utcnow
from wagate.domain.errors import DatabaseUnavailable
from wagate.domain.inbox import webhook_entries
from wagate.services import ingress as ingress_module
from wagate.services.ingress import IngressService
from wagate.store import Database
from wagate.store import inbox as inbox_rows
from wagate.store.ingress_spool import IngressSpool
from wagate.store.tables import inbox


def webhook(number: int) -> bytes:
    """A status webhook for phone number id PNID1, told apart by its wamid."""
    value = {
        "metadata": {"phone_number_id": "PNID1"},
        "statuses": [{"id": f"wamid.{number}", "status": "sent", "timestamp": "1660019986"}],
    }
    document = {"object": "whatsapp_business_account", "entry": [{"changes": [{"value": value}]}]}
    return json.dumps(document).encode()


def ingress(database: Database) -> IngressService:
    return IngressService(database, app_secret="secret", verify_token="v")


async def inbox_bodies(database: Database) -> list[str]:
    async with database.transaction() as connection:
        rows = await connection.execute(select(inbox.c.body).order_by(inbox.c.seq))
    return list(rows.scalars())


def spool_of_a_killed_server(directory: Path, bodies: list[bytes]) -> list[int]:
    """Spool ``bodies`` as a server would have before it was killed; their numbers."""
    spool = IngressSpool(directory)
    spool.read_unmoved(0)
    numbers = [spool.append(body, utcnow()) for body in bodies]
    spool.close()
    return numbers


def spooled_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.iterdir())


async def test_spooled_webhooks_reach_the_inbox_once_each_in_order(
    database: Database, tmp_path: Path
) -> None:
    service = ingress(database)
    assert await service.open_spool(tmp_path / "spool") == 0
    bodies = [webhook(number) for number in range(300)]
    for body in bodies:
        await service.store(body)
    assert metrics.REGISTRY.get_sample_value("wagate_ingress_spooled") == len(bodies)
    await service.settled()
    assert await inbox_bodies(database) == [body.decode() for body in bodies]
    assert spooled_bytes(tmp_path / "spool") == 0
    assert metrics.REGISTRY.get_sample_value("wagate_ingress_spooled") == 0
    await service.close()


async def test_a_restart_moves_what_a_crash_left_in_the_spool_exactly_once(
    database: Database, tmp_path: Path
) -> None:
    directory = tmp_path / "spool"
    bodies = [webhook(number) for number in range(5)]
    numbers = spool_of_a_killed_server(directory, bodies)
    # Killed after the first two were committed to the inbox, before the spool heard of it.
    async with database.transaction() as connection:
        entries = [entry for body in bodies[:2] for entry in webhook_entries(body.decode())]
        await inbox_rows.append(connection, entries, utcnow())
        await inbox_rows.set_spool_position(connection, numbers[1])

    restarted = ingress(database)
    assert await restarted.open_spool(directory) == 3
    assert await inbox_bodies(database) == [body.decode() for body in bodies]
    await restarted.store(webhook(5))
    await restarted.close()

    again = ingress(database)
    assert await again.open_spool(directory) == 0
    assert len(await inbox_bodies(database)) == 6
    await again.close()


async def test_a_record_cut_short_is_dropped_and_the_spool_goes_on(
    database: Database, tmp_path: Path
) -> None:
    directory = tmp_path / "spool"
    spool_of_a_killed_server(directory, [webhook(0), webhook(1)])
    (segment,) = directory.iterdir()
    segment.write_bytes(segment.read_bytes()[:-10])  # the last write never completed

    service = ingress(database)
    assert await service.open_spool(directory) == 1
    await service.store(webhook(2))
    await service.settled()
    assert await inbox_bodies(database) == [webhook(0).decode(), webhook(2).decode()]
    await service.close()


async def test_a_long_backlog_rolls_over_segments_and_deletes_the_moved_ones(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("wagate.store.ingress_spool.SEGMENT_BYTES", 2048)
    directory = tmp_path / "spool"
    spool = IngressSpool(directory)
    spool.read_unmoved(0)
    numbers = [spool.append(webhook(number), utcnow()) for number in range(40)]
    assert len(list(directory.iterdir())) > 3
    spool.moved_through(numbers[19])
    kept = IngressSpool(directory)
    assert [record.number for record in kept.read_unmoved(numbers[19])] == numbers[20:]
    spool.moved_through(numbers[-1])
    assert spooled_bytes(directory) == 0
    spool.close()


async def test_acknowledgements_wait_for_room_and_fail_when_none_comes(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingress_module, "MAX_UNMOVED", 0)
    monkeypatch.setattr(ingress_module, "ROOM_WAIT_SECONDS", 0.05)
    service = ingress(database)
    await service.open_spool(tmp_path / "spool")
    with pytest.raises(DatabaseUnavailable):
        await service.store(webhook(0))
    assert await inbox_bodies(database) == []
    await service.close()
