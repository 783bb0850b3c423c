"""Every Cloud API message type a customer sends, checked before Meta: 400 names the field."""

from __future__ import annotations

from typing import Any

import pytest

from wagate.domain.errors import InvalidPayload
from wagate.domain.message_types import SEND_TYPES, validated_message

TO = "919876543210"
WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
BUTTONS = {
    "type": "button",
    "header": {"type": "text", "text": "Delivery"},
    "body": {"text": "Shall we deliver tomorrow?"},
    "footer": {"text": "Lucky Shrub"},
    "action": {
        "buttons": [
            {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
            {"type": "reply", "reply": {"id": "no", "title": "No"}},
        ]
    },
}
LIST = {
    "type": "list",
    "body": {"text": "Which shipping option?"},
    "action": {
        "button": "Options",
        "sections": [
            {"title": "Fast", "rows": [{"id": "express", "title": "Express",
                                        "description": "Next day"}]},
            {"title": "Cheap", "rows": [{"id": "ground", "title": "Ground"}]},
        ],
    },
}  # fmt: skip
CTA = {
    "type": "cta_url",
    "body": {"text": "See the order."},
    "action": {
        "name": "cta_url",
        "parameters": {"display_text": "Open", "url": "https://shop.example/o/42"},
    },
}
#: One valid message of every type.
VALID: dict[str, dict[str, Any]] = {
    "text": {"text": {"body": "Hello", "preview_url": False}},
    "template": {"template": {"name": "order_update", "language": {"code": "en_US"},
                              "components": [{"type": "body", "parameters": []}]}},
    "image": {"image": {"id": "1037543291543636", "caption": "Your receipt"}},
    "video": {"video": {"link": "https://cdn.example/v.mp4", "caption": "How to"}},
    "audio": {"audio": {"id": "1037543291543637"}},
    "document": {"document": {"link": "https://cdn.example/i.pdf", "filename": "invoice.pdf"}},
    "sticker": {"sticker": {"id": "1037543291543638"}},
    "interactive": {"interactive": BUTTONS},
    "location": {"location": {"latitude": 37.44, "longitude": -122.16, "name": "Philz"}},
    "contacts": {"contacts": [{"name": {"formatted_name": "Kerry Fisher"},
                               "phones": [{"phone": "+16505551234", "type": "WORK"}]}]},
    "reaction": {"reaction": {"message_id": WAMID, "emoji": "\U0001f44d"}},
}  # fmt: skip


def message(kind: str, **content: Any) -> dict[str, Any]:
    return {"to": TO, "type": kind, **(content or VALID[kind])}


def refused(document: Any) -> dict[str, str]:
    with pytest.raises(InvalidPayload) as caught:
        validated_message(document)
    return caught.value.details


@pytest.mark.parametrize("kind", SEND_TYPES)
def test_a_valid_message_of_each_type_goes_to_meta_as_given(kind: str) -> None:
    body = validated_message(message(kind))
    assert body == {"messaging_product": "whatsapp", "recipient_type": "individual",
                    **message(kind)}  # fmt: skip


@pytest.mark.parametrize("interactive", [LIST, CTA])
def test_lists_and_cta_url_buttons_are_taken(interactive: dict[str, Any]) -> None:
    validated_message(message("interactive", interactive=interactive))


def test_a_reply_is_a_message_with_context() -> None:
    body = validated_message({**message("text"), "context": {"message_id": WAMID}})
    assert body["context"] == {"message_id": WAMID}
    assert refused({**message("text"), "context": {}}) == {
        "messaging_object.context.message_id": "is missing"
    }


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ("a string", "messaging_object"),
        ({"type": "text", "text": {"body": "x"}}, "messaging_object.to"),
        ({"to": TO, "type": "carousel", "carousel": {}}, "messaging_object.type"),
        ({"to": TO, "type": "image"}, "messaging_object.image"),
        (message("text", text={"body": ""}), "messaging_object.text.body"),
        (message("text", text={"body": "x" * 4097}), "messaging_object.text.body"),
        (message("image", image={}), "messaging_object.image"),
        (message("image", image={"id": "1", "link": "https://x.example/a.png"}),
         "messaging_object.image"),
        (message("image", image={"link": "ftp://x.example/a.png"}), "messaging_object.image.link"),
        (message("audio", audio={"id": "1", "caption": "no"}), "messaging_object.audio.caption"),
        (message("image", image={"id": "1", "filename": "a.png"}),
         "messaging_object.image.filename"),
        (message("template", template={"language": {"code": "en"}}),
         "messaging_object.template.name"),
        (message("template", template={"name": "t"}), "messaging_object.template.language"),
        (message("location", location={"latitude": 91, "longitude": 0}),
         "messaging_object.location.latitude"),
        (message("location", location={"latitude": 1}), "messaging_object.location.longitude"),
        (message("contacts", contacts=[]), "messaging_object.contacts"),
        (message("contacts", contacts=[{"name": {}}]),
         "messaging_object.contacts[0].name.formatted_name"),
        (message("reaction", reaction={"emoji": "x"}), "messaging_object.reaction.message_id"),
        (message("interactive", interactive={**BUTTONS, "type": "carousel"}),
         "messaging_object.interactive.type"),
        (message("interactive", interactive={**BUTTONS, "body": {"text": ""}}),
         "messaging_object.interactive.body.text"),
    ],
)  # fmt: skip
def test_a_mistake_names_the_field_at_fault(document: Any, field: str) -> None:
    assert list(refused(document)) == [field]


def test_buttons_keep_meta_s_counts_lengths_and_unique_ids() -> None:
    four = {**BUTTONS, "action": {"buttons": BUTTONS["action"]["buttons"] * 2}}
    assert list(refused(message("interactive", interactive=four))) == [
        "messaging_object.interactive.action.buttons"
    ]
    long_title = {**BUTTONS, "action": {"buttons": [
        {"type": "reply", "reply": {"id": "a", "title": "x" * 21}}]}}  # fmt: skip
    assert list(refused(message("interactive", interactive=long_title))) == [
        "messaging_object.interactive.action.buttons[0].reply.title"
    ]
    twice = {**BUTTONS, "action": {"buttons": [
        {"type": "reply", "reply": {"id": "a", "title": "A"}},
        {"type": "reply", "reply": {"id": "a", "title": "B"}}]}}  # fmt: skip
    assert list(refused(message("interactive", interactive=twice))) == [
        "messaging_object.interactive.action.buttons[1].reply.id"
    ]


def test_a_list_has_at_most_ten_rows_and_titled_sections() -> None:
    rows = [{"id": f"r{i}", "title": f"Row {i}"} for i in range(11)]
    too_many = {
        **LIST,
        "action": {"button": "Options", "sections": [{"title": "All", "rows": rows}]},
    }
    assert list(refused(message("interactive", interactive=too_many))) == [
        "messaging_object.interactive.action.sections"
    ]
    untitled = {**LIST, "action": {"button": "Options", "sections": [
        {"rows": [{"id": "a", "title": "A"}]}, {"title": "B", "rows": [{"id": "b", "title": "B"}]}
    ]}}  # fmt: skip
    assert list(refused(message("interactive", interactive=untitled))) == [
        "messaging_object.interactive.action.sections[0].title"
    ]


def test_a_cta_url_needs_an_http_url() -> None:
    bad = {
        **CTA,
        "action": {
            "name": "cta_url",
            "parameters": {"display_text": "Open", "url": "javascript:x"},
        },
    }
    assert list(refused(message("interactive", interactive=bad))) == [
        "messaging_object.interactive.action.parameters.url"
    ]  # fmt: skip
