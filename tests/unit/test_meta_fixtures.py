"""The fixtures of Meta's payloads: each names its source and is a notification."""

from __future__ import annotations

import pytest

from tests.meta_fixtures import FIXTURES, cases, source
from wagate.domain.inbox import change_values

NAMES = sorted(path.stem for path in FIXTURES.glob("*.json"))


@pytest.mark.parametrize("name", NAMES)
def test_every_fixture_names_its_source_and_is_a_notification(name: str) -> None:
    assert source(name).strip()
    found = cases(name)
    assert found
    for case, document in found.items():
        assert "_source" not in document
        assert change_values(document), f"{name}/{case} has no change value"


def test_the_fixtures_cover_what_meta_sends_in_2026() -> None:
    assert {
        "inbound_messages",
        "bsuid_inbound",
        "statuses_pmp",
        "statuses_conversation",
        "user_id_changes",
        "message_echoes",
        "user_preferences",
        "template_updates",
        "account_update",
        "value_errors",
    } <= set(NAMES)
