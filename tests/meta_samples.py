"""Meta's sample payloads of the WhatsApp Business Account ``messages`` webhook, one per
inbound message type.

Source: Meta for Developers, WhatsApp Cloud API, "Messages webhook reference"
(https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/<type>)
and "Webhooks payload examples"
(https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples).
Each sample is the documented syntax with the example values of the
reference's parameter tables (business number 15550783881, phone number id
106540352242922, WABA 102290129340398, user 16505551234 "Sheena Nelson");
where a page gives no example value, a plausible one of the documented type.
``UNKNOWN`` is a type no page documents (as a future one would be);
``CONTACT_WITHOUT_PROFILE`` is a documented text message whose contact has no
``profile`` (Meta sends none for some users).
"""

from __future__ import annotations

import copy
from typing import Any

WABA_ID = "102290129340398"
DISPLAY_NUMBER = "15550783881"
PHONE_NUMBER_ID = "106540352242922"
USER = "16505551234"
NAME = "Sheena Nelson"
WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
REPLIED_TO = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3NjY0QjI4MzdFQ0Y0RkQ0NkEA"
TIMESTAMP = "1739321024"
MEDIA_SHA256 = "81d3bd8a8db4868c9520ed47186e8b7c5789e61ff79f7f834be6950b808a90d3"


def notification(
    message: dict[str, Any], *, contacts: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The ``whatsapp_business_account`` envelope around one inbound message."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": PHONE_NUMBER_ID},
    }
    value["contacts"] = (
        [{"profile": {"name": NAME}, "wa_id": USER}] if contacts is None else contacts
    )
    if not value["contacts"]:
        del value["contacts"]
    value["messages"] = [message]
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"value": value, "field": "messages"}]}],
    }


def _message(kind: str, body: Any, **extra: Any) -> dict[str, Any]:
    return {"from": USER, "id": WAMID, "timestamp": TIMESTAMP, "type": kind, kind: body, **extra}


# reference/messages/text
TEXT = notification(_message("text", {"body": "Does it come in another color?"}))
# reference/messages/text, a reply: "context" names the message replied to
TEXT_REPLY = notification(
    _message(
        "text",
        {"body": "Yes, the blue one please."},
        context={"from": DISPLAY_NUMBER, "id": REPLIED_TO},
    )
)
# reference/messages/image
IMAGE = notification(
    _message(
        "image",
        {
            "caption": "Best BBQ in town!",
            "mime_type": "image/jpeg",
            "sha256": MEDIA_SHA256,
            "id": "1003383421387256",
        },
    )
)
# reference/messages/video
VIDEO = notification(
    _message(
        "video",
        {
            "caption": "Here's the problem",
            "mime_type": "video/mp4",
            "sha256": MEDIA_SHA256,
            "id": "1013861047209484",
        },
    )
)
# reference/messages/audio (a voice note: "voice": true)
AUDIO = notification(
    _message(
        "audio",
        {
            "mime_type": "audio/ogg; codecs=opus",
            "sha256": MEDIA_SHA256,
            "id": "1003383421387256",
            "voice": True,
        },
    )
)
# reference/messages/document
DOCUMENT = notification(
    _message(
        "document",
        {
            "caption": "Lucky Shrub Invoice",
            "filename": "lucky-shrub-invoice.pdf",
            "mime_type": "application/pdf",
            "sha256": MEDIA_SHA256,
            "id": "1003383421387256",
        },
    )
)
# reference/messages/sticker
STICKER = notification(
    _message(
        "sticker",
        {
            "mime_type": "image/webp",
            "sha256": MEDIA_SHA256,
            "id": "1003383421387256",
            "animated": False,
        },
    )
)
# reference/messages/location
LOCATION = notification(
    _message(
        "location",
        {
            "address": "101 Forest Ave, Palo Alto, CA 94301",
            "latitude": 37.44216251868683,
            "longitude": -122.16153582049394,
            "name": "Philz Coffee",
            "url": "https://www.philzcoffee.com/",
        },
    )
)
# reference/messages/contacts
CONTACTS = notification(
    _message(
        "contacts",
        [
            {
                "addresses": [
                    {"city": "Menlo Park", "country": "United States", "country_code": "us",
                     "state": "CA", "street": "1 Hacker Way", "type": "HOME", "zip": "94025"}
                ],
                "birthday": "1999-01-23",
                "emails": [{"email": "kerry.fisher@example.com", "type": "WORK"}],
                "name": {"first_name": "Kerry", "formatted_name": "Kerry Fisher",
                         "last_name": "Fisher"},
                "org": {"company": "Lucky Shrub", "title": "Manager"},
                "phones": [{"phone": "+1 (650) 555-1234", "wa_id": "16505551234",
                            "type": "WORK"}],
                "urls": [{"url": "https://www.luckyshrub.com", "type": "WORK"}],
            }
        ],
    )
)  # fmt: skip
# reference/messages/interactive, a reply button tapped
BUTTON_REPLY = notification(
    _message(
        "interactive",
        {"type": "button_reply", "button_reply": {"id": "cancel-button", "title": "Cancel"}},
        context={"from": DISPLAY_NUMBER, "id": REPLIED_TO},
    )
)
# reference/messages/interactive, a list row chosen
LIST_REPLY = notification(
    _message(
        "interactive",
        {
            "type": "list_reply",
            "list_reply": {
                "id": "priority_express",
                "title": "Priority Mail Express",
                "description": "Next Day to 2 Days",
            },
        },
        context={"from": DISPLAY_NUMBER, "id": REPLIED_TO},
    )
)
# reference/messages/button, a template's quick-reply button tapped
BUTTON = notification(
    _message(
        "button",
        {"payload": "Unsubscribe from Promos", "text": "Unsubscribe from Promos"},
        context={"from": DISPLAY_NUMBER, "id": REPLIED_TO},
    )
)
# reference/messages/reaction
REACTION = notification(_message("reaction", {"message_id": REPLIED_TO, "emoji": "\U0001f600"}))
# reference/messages/order
ORDER = notification(
    _message(
        "order",
        {
            "catalog_id": "194836987003835",
            "text": "Love these!",
            "product_items": [
                {"product_retailer_id": "di9ozbzfi4", "quantity": 2, "item_price": 7.99,
                 "currency": "USD"}
            ],
        },
    )
)  # fmt: skip
# reference/messages/system: no contacts array
SYSTEM = notification(
    _message(
        "system",
        {
            "body": "User Sheena Nelson changed from 16505551234 to 12195555358",
            "wa_id": "12195555358",
            "type": "user_changed_number",
        },
    ),
    contacts=[],
)
# reference/messages/unsupported
UNSUPPORTED = notification(
    {
        "from": USER,
        "id": WAMID,
        "timestamp": TIMESTAMP,
        "errors": [
            {
                "code": 131051,
                "title": "Message type unknown",
                "message": "Message type unknown",
                "error_data": {"details": "Message type is currently not supported."},
            }
        ],
        "type": "unsupported",
        "unsupported": {"type": "poll_update"},
    }
)
# No page documents it: a type Meta might add tomorrow.
UNKNOWN = notification(
    _message("poll_vote", {"poll_id": "1234567890", "options": [{"id": "2", "text": "Tuesday"}]})
)
# reference/messages/text, a contact without "profile".
CONTACT_WITHOUT_PROFILE = notification(_message("text", {"body": "Hi"}), contacts=[{"wa_id": USER}])

#: Every sample by the name of the type it documents.
SAMPLES: dict[str, dict[str, Any]] = {
    "text": TEXT,
    "image": IMAGE,
    "video": VIDEO,
    "audio": AUDIO,
    "document": DOCUMENT,
    "sticker": STICKER,
    "location": LOCATION,
    "contacts": CONTACTS,
    "interactive/button_reply": BUTTON_REPLY,
    "interactive/list_reply": LIST_REPLY,
    "button": BUTTON,
    "reaction": REACTION,
    "order": ORDER,
    "system": SYSTEM,
    "unsupported": UNSUPPORTED,
    "unknown": UNKNOWN,
}


def with_id(sample: dict[str, Any], wamid: str) -> dict[str, Any]:
    """A copy of a sample whose message has another id (another message, same content)."""
    document = copy.deepcopy(sample)
    document["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = wamid
    return document


def message_of(sample: dict[str, Any]) -> dict[str, Any]:
    """The one message object of a sample."""
    message: dict[str, Any] = sample["entry"][0]["changes"][0]["value"]["messages"][0]
    return message
