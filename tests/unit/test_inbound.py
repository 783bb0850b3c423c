"""Incoming messages from Meta's own sample payloads: parsed, and what the customer hears."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.meta_samples import (
    BUTTON,
    CONTACT_WITHOUT_PROFILE,
    CONTACTS,
    DISPLAY_NUMBER,
    IMAGE,
    LOCATION,
    MEDIA_SHA256,
    NAME,
    REPLIED_TO,
    SAMPLES,
    SYSTEM,
    TEXT,
    TEXT_REPLY,
    TIMESTAMP,
    UNKNOWN,
    USER,
    WAMID,
    message_of,
)
from wagate.domain.inbound import InboundMessage, inbound_messages, sha256_hex
from wagate.domain.inbox import change_values, webhook_entries
from wagate.domain.incoming import (
    MediaOutcome,
    incoming_callback_values,
    webhook_incoming_payload,
)
from wagate.domain.messages import Message
from wagate.domain.placeholders import INCOMING_MESSAGE_PLACEHOLDERS

BUSINESS = "15550783881"


def parsed(sample: dict[str, Any]) -> InboundMessage:
    (value,) = change_values(sample)
    (message,) = inbound_messages(value)
    return message


def ours(**fields: Any) -> Message:
    base: dict[str, Any] = {
        "id": "ad97e2f3-c923-4b1e-b3a3-0b1d2e3f4d97:0", "sid": "SID1", "waba_id": "WABA1",
        "number": BUSINESS, "phone_number_id": "106540352242922", "recipient": USER,
        "wamid": REPLIED_TO, "type": "template", "template_id": "233",
        "template_name": "promo", "template_components": [], "ref": "order-42", "ref1": "shop-7",
        "ref2": None, "callback_url": None, "callback_profile_id": None,
        "tag_name": "spring-sale", "forwarded_rank": 1,
    }  # fmt: skip
    return Message(**{**base, **fields})


# (body, mime_type, custom_response) each sample gives
EXPECTED = {
    "text": ("Does it come in another color?", None, "false"),
    "image": ("Best BBQ in town!", "image/jpeg", "false"),
    "video": ("Here's the problem", "video/mp4", "false"),
    "audio": (None, "audio/ogg; codecs=opus", "false"),
    "document": ("Lucky Shrub Invoice", "application/pdf", "false"),
    "sticker": (None, "image/webp", "false"),
    "location": (None, None, "false"),
    "contacts": (None, None, "false"),
    "interactive/button_reply": ("Cancel", None, "cancel-button"),
    "interactive/list_reply": ("Priority Mail Express", None, "priority_express"),
    "button": ("Unsubscribe from Promos", None, "Unsubscribe from Promos"),
    "reaction": ("\U0001f600", None, "false"),
    "order": ("Love these!", None, "false"),
    "system": ("User Sheena Nelson changed from 16505551234 to 12195555358", None, "false"),
    "unsupported": ("Message type unknown", None, "false"),
    "unknown": (None, None, "false"),
}


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_documented_type_is_parsed_with_its_sender_and_kept_whole(name: str) -> None:
    sample = SAMPLES[name]
    message = parsed(sample)
    assert message.wamid == WAMID
    assert message.sender == USER
    assert message.timestamp == TIMESTAMP
    assert message.type == message_of(sample)["type"]
    assert message.raw == message_of(sample), "the message object is kept as Meta sent it"
    assert message.name == (None if name == "system" else NAME)
    body, mime_type, chosen = EXPECTED[name]
    values = incoming_callback_values(message, business_number=BUSINESS)
    assert values.get("body") == body
    assert values.get("mime_type") == mime_type
    assert values["custom_response"] == chosen
    assert values["id"] == WAMID
    assert values["from"] == values["mobile"] == USER
    assert values["wanumber"] == BUSINESS
    assert values["created_at"] == TIMESTAMP
    assert json.loads(values["message"]) == message_of(sample)
    assert set(values) <= INCOMING_MESSAGE_PLACEHOLDERS


@pytest.mark.parametrize("name", ["image", "video", "audio", "document", "sticker"])
def test_a_media_message_names_its_file(name: str) -> None:
    message = parsed(SAMPLES[name])
    assert message.media is not None
    assert message.media.id == message_of(SAMPLES[name])[name]["id"]
    assert message.media.sha256 == MEDIA_SHA256
    other = {"location", "contacts", "text", "reaction", "unknown", "system", "unsupported"}
    assert all(parsed(SAMPLES[kind]).media is None for kind in other)


def test_a_document_keeps_its_file_name() -> None:
    media = parsed(SAMPLES["document"]).media
    assert media is not None
    assert media.filename == "lucky-shrub-invoice.pdf"


def test_an_unknown_type_is_forwarded_as_raw_data_not_dropped() -> None:
    message = parsed(UNKNOWN)
    assert message.type == "poll_vote"
    values = incoming_callback_values(message, business_number=BUSINESS)
    assert json.loads(values["message"])["poll_vote"]["options"] == [{"id": "2", "text": "Tuesday"}]
    push = webhook_incoming_payload(BUSINESS, message)
    assert push["messages"] == [message_of(UNKNOWN)]


def test_a_contact_without_profile_has_no_name_and_no_profile_in_the_push() -> None:
    message = parsed(CONTACT_WITHOUT_PROFILE)
    assert message.name is None
    assert "name" not in incoming_callback_values(message, business_number=BUSINESS)
    push = webhook_incoming_payload(BUSINESS, message)
    assert push["contacts"] == [{"wa_id": USER}]


def test_a_system_message_has_no_contacts_and_still_a_sender() -> None:
    message = parsed(SYSTEM)
    assert message.contact is None
    assert webhook_incoming_payload(BUSINESS, message)["contacts"] == []


def test_location_and_contacts_are_their_own_fields() -> None:
    location = incoming_callback_values(parsed(LOCATION), business_number=BUSINESS)
    assert json.loads(location["location"])["name"] == "Philz Coffee"
    assert "contacts" not in location
    cards = incoming_callback_values(parsed(CONTACTS), business_number=BUSINESS)
    assert json.loads(cards["contacts"])[0]["name"]["formatted_name"] == "Kerry Fisher"


def test_a_reply_names_the_message_replied_to_and_ours_brings_its_id_and_refs() -> None:
    message = parsed(TEXT_REPLY)
    assert message.reply_to == REPLIED_TO
    unknown = incoming_callback_values(message, business_number=BUSINESS)
    assert unknown["reply_to"] == REPLIED_TO
    assert "reply_to_message_id" not in unknown
    assert "ref" not in unknown
    known = incoming_callback_values(message, business_number=BUSINESS, replied=ours())
    assert known["reply_to_message_id"] == "ad97e2f3-c923-4b1e-b3a3-0b1d2e3f4d97:0"
    assert (known["ref"], known["ref1"]) == ("order-42", "shop-7")
    assert "ref2" not in known, "values that are not there are left out"


def test_a_reaction_replies_to_the_message_it_reacts_to() -> None:
    assert parsed(SAMPLES["reaction"]).reply_to == REPLIED_TO


def test_media_outcome_gives_media_url_or_error() -> None:
    message = parsed(IMAGE)
    stored = incoming_callback_values(
        message, business_number=BUSINESS, media=MediaOutcome(url="https://gw.example/media/t")
    )
    assert stored["media_url"] == "https://gw.example/media/t"
    assert "error" not in stored
    failed = incoming_callback_values(
        message, business_number=BUSINESS, media=MediaOutcome(error="Meta answered HTTP 503")
    )
    assert "media_url" not in failed
    assert failed["error"] == "Meta answered HTTP 503"
    push = webhook_incoming_payload(
        BUSINESS, message, media=MediaOutcome(url="https://gw.example/media/t")
    )
    assert push["messages"][0]["image"] == {
        **message_of(IMAGE)["image"],
        "link": "https://gw.example/media/t",
    }


def test_the_push_has_seed_003s_shape_for_text() -> None:
    assert webhook_incoming_payload(BUSINESS, parsed(TEXT)) == {
        "business_phone": BUSINESS,
        "contacts": [{"profile": {"name": NAME}, "wa_id": USER}],
        "messages": [message_of(TEXT)],
        "messaging_product": "whatsapp",
    }


def test_a_template_button_click_is_pushed_with_tag_name_and_wa_ext() -> None:
    push = webhook_incoming_payload(BUSINESS, parsed(BUTTON), replied=ours())
    (message,) = push["messages"]
    assert message["tag_name"] == "spring-sale"
    assert json.loads(message["wa_ext"]) == {
        "templateId": 233,
        "templateName": "promo",
        "components": [],
    }
    assert message["context"] == {"from": DISPLAY_NUMBER, "id": REPLIED_TO}


def test_every_sample_is_one_inbox_entry_of_its_number() -> None:
    for sample in SAMPLES.values():
        (entry,) = webhook_entries(json.dumps(sample))
        assert entry.scope == "106540352242922"
        assert entry.items == 1


def test_messages_without_an_id_are_left_out_and_sha256_reads_hex_or_base64() -> None:
    value = {"messages": [{"from": USER, "type": "text"}, "not an object", message_of(TEXT)]}
    assert [m.wamid for m in inbound_messages(value)] == [WAMID]
    assert sha256_hex(MEDIA_SHA256.upper()) == MEDIA_SHA256
    as_base64 = "gdO9io20hoyVIO1HGG6LfFeJ5h/3n3+DS+aVC4CKkNM="
    assert sha256_hex(as_base64) == MEDIA_SHA256
    assert sha256_hex("not a hash") is None


def test_a_webhook_mixing_a_number_s_and_a_waba_s_changes_keeps_both() -> None:
    number_change = next(iter(SAMPLES.values()))["entry"][0]
    waba_change = {
        "id": "102290129340398",
        "changes": [
            {
                "field": "account_update",
                "value": {"event": "ACCOUNT_RESTRICTION", "restriction_info": []},
            }
        ],
    }
    body = json.dumps(
        {"object": "whatsapp_business_account", "entry": [number_change, waba_change]}
    )
    assert [(e.scope, e.items) for e in webhook_entries(body)] == [
        ("106540352242922", 1),
        (None, 1),
    ]


def test_a_webhook_naming_no_number_is_one_entry_of_no_number() -> None:
    body = json.dumps({"object": "whatsapp_business_account", "entry": []})
    assert [e.scope for e in webhook_entries(body)] == [None]
    assert [e.scope for e in webhook_entries("not json")] == [None]
