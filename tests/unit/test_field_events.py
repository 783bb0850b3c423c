"""Meta's non-message fields parsed into the events customers opt into, from Meta's
payloads (``tests/fixtures/meta``, each naming its source)."""

from __future__ import annotations

import pytest

from tests.meta_fixtures import cases, notification
from wagate.domain.field_events import field_events, push_payload, subject_of
from wagate.domain.webhook_events import CATALOGUE, EventScope

NUMBER = "106540352242922"
WABA = "102290129340398"


def test_a_marketing_opt_out_is_an_event_of_its_number() -> None:
    [event] = field_events(notification("user_preferences", "stop"), NUMBER)
    assert (event.type, event.scope, event.phone_number_id) == (
        "user_preferences",
        EventScope.NUMBER,
        NUMBER,
    )
    assert event.waba_id == WABA
    assert field_events(notification("user_preferences", "stop"), None) == []
    assert field_events(notification("user_preferences", "stop"), "another") == []


def test_template_and_account_updates_are_events_of_the_waba() -> None:
    for document in cases("template_updates").values():
        [event] = field_events(document, None)
        assert event.scope is EventScope.WABA
        assert event.type in CATALOGUE
        assert field_events(document, NUMBER) == []
    for document in cases("account_update").values():
        [event] = field_events(document, None)
        assert event.type == "account_update"


def test_every_sample_field_is_in_the_catalogue() -> None:
    for name in ("account_update", "template_updates", "user_preferences", "message_echoes"):
        for document in cases(name).values():
            for change in document["entry"][0]["changes"]:
                assert change["field"] in CATALOGUE


def test_echoes_keep_meta_s_members_in_the_push() -> None:
    document = notification("message_echoes", "text")
    [event] = field_events(document, "1122334455667")
    payload = push_payload(event, "972123456789")
    value = document["entry"][0]["changes"][0]["value"]
    assert payload["event"] == "smb_message_echoes"
    assert payload["business_phone"] == "972123456789"
    assert payload["messaging_product"] == "whatsapp"
    assert payload["message_echoes"] == value["message_echoes"]
    assert payload["contacts"] == value["contacts"]
    assert "metadata" not in payload


def test_a_waba_event_carries_its_value_under_its_field() -> None:
    document = notification("account_update", "account_restriction")
    [event] = field_events(document, None)
    payload = push_payload(event, "15550783881")
    assert payload["account_update"] == document["entry"][0]["changes"][0]["value"]
    assert payload["event"] == "account_update"
    assert payload["waba_id"] == WABA
    assert payload["time"] == 1641330498


def test_played_statuses_and_value_errors_come_out_of_the_messages_field() -> None:
    played = notification("statuses_conversation", "played")
    [event] = field_events(played, "1122334455667")
    assert event.type == "played"
    assert [s["status"] for s in push_payload(event, "x")["statuses"]] == ["played"]
    with_errors = notification("inbound_messages", "interactive_message_with_err")
    [event] = field_events(with_errors, "1122334455667")
    assert event.type == "errors"
    payload = push_payload(event, "x")
    assert payload["errors"][0]["code"] == 131000
    assert "messages" not in payload


def test_ordinary_messages_and_statuses_are_no_field_event() -> None:
    document = notification("inbound_messages", "edited_image")
    assert field_events(document, NUMBER) == []


@pytest.mark.parametrize("broken", [{}, {"entry": "x"}, {"entry": [{"changes": [1, {"x": 1}]}]}])
def test_malformed_notifications_give_no_event(broken: dict[str, object]) -> None:
    assert field_events(broken, None) == []


def test_a_field_meta_adds_later_is_an_event_of_its_own_name() -> None:
    document = {"entry": [{"id": WABA, "changes": [{"field": "brand_new", "value": {"x": 1}}]}]}
    [event] = field_events(document, None)
    assert (event.type, event.scope) == ("brand_new", EventScope.WABA)
    assert subject_of(event) == f"field:{WABA}"


def test_an_edit_that_carries_media_names_it_for_download() -> None:
    from wagate.domain.inbound import inbound_messages

    document = notification("inbound_messages", "edited_image")
    [message] = inbound_messages(document["entry"][0]["changes"][0]["value"])
    assert message.type == "edit"
    assert message.media is not None
    assert (message.media.id, message.media.mime_type) == ("1234567890", "image/jpeg")


def test_only_bodies_that_may_carry_events_are_parsed_again() -> None:
    import json

    from wagate.domain.field_events import may_have_events

    for name, key in (("user_preferences", "stop"), ("account_update", "account_deleted")):
        assert may_have_events(json.dumps(notification(name, key)))
    assert may_have_events(json.dumps(notification("statuses_conversation", "played")))
    assert may_have_events(
        json.dumps(notification("inbound_messages", "interactive_message_with_err"))
    )
    assert not may_have_events(json.dumps(notification("inbound_messages", "edited_image")))
    assert not may_have_events(
        json.dumps(notification("inbound_messages", "edited_image"), indent=2)
    )
    compact = json.dumps(notification("user_preferences", "stop"), separators=(",", ":"))
    assert may_have_events(compact)
    assert not may_have_events(
        json.dumps(notification("inbound_messages", "edited_image"), separators=(",", ":"))
    )
