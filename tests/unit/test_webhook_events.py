"""The catalogue of event types and what a subscription takes."""

from __future__ import annotations

import pytest

from wagate.domain.webhook_events import (
    ALL_EVENTS,
    CATALOGUE,
    effective_types,
    validated_types,
    wants,
)


def test_the_catalogue_names_meta_s_fields_and_our_two_message_events() -> None:
    for name in (
        "played",
        "errors",
        "smb_message_echoes",
        "message_echoes",
        "user_preferences",
        "message_template_status_update",
        "message_template_quality_update",
        "template_category_update",
        "account_update",
    ):
        assert CATALOGUE[name].description


def test_a_subscription_is_a_list_of_catalogue_names() -> None:
    assert validated_types(["played", "played", "*"]) == ("played", "*")
    assert validated_types([]) == ()
    for wrong in (["nope"], "played", [1], ["x"] * 100):
        with pytest.raises(ValueError, match="event type"):
            validated_types(wrong)


def test_what_a_subscription_takes() -> None:
    assert wants(("played",), "played")
    assert not wants(("played",), "errors")
    assert wants((ALL_EVENTS,), "anything_meta_adds")
    assert not wants((), "played")


def test_a_number_s_own_subscription_wins_over_its_waba_s() -> None:
    assert effective_types(("played",), ("*",)) == ("played",)
    assert effective_types((), ("*",)) == ()
    assert effective_types(None, ("*",)) == ("*",)
    assert effective_types(None, None) == ()
