"""The Cloud API message objects a customer may send, checked before Meta is called.

Each type is checked enough that a mistake Meta would refuse is answered 400
with the field at fault (``messaging_object.image.link``) instead of a round
trip to Meta: the required members, their types, Meta's documented lengths
and counts. Members the checks do not know are passed to Meta as they are.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Final, NoReturn
from urllib.parse import urlsplit

from wagate.domain.errors import InvalidPayload
from wagate.domain.identity import is_bsuid

__all__ = [
    "INTERACTIVE_TYPES",
    "MAX_BUTTONS",
    "MAX_BUTTON_ID",
    "MAX_BUTTON_TITLE",
    "MAX_CAPTION",
    "MAX_CTA_TEXT",
    "MAX_FOOTER_TEXT",
    "MAX_HEADER_TEXT",
    "MAX_INTERACTIVE_BODY",
    "MAX_LIST_BUTTON",
    "MAX_ROWS",
    "MAX_ROW_DESCRIPTION",
    "MAX_ROW_ID",
    "MAX_ROW_TITLE",
    "MAX_SECTIONS",
    "MAX_SECTION_TITLE",
    "MAX_TEXT_BODY",
    "MAX_URL",
    "MEDIA_TYPES",
    "OTHER_INTERACTIVE_TYPES",
    "SEND_TYPES",
    "Where",
    "validated_message",
]

MEDIA_TYPES: Final = ("image", "video", "audio", "document", "sticker")
SEND_TYPES: Final = (
    "text",
    "template",
    *MEDIA_TYPES,
    "interactive",
    "location",
    "contacts",
    "reaction",
)
#: The interactive messages the checks know in detail; the others need a body and an action.
INTERACTIVE_TYPES: Final = ("button", "list", "cta_url")
OTHER_INTERACTIVE_TYPES: Final = (
    "product",
    "product_list",
    "flow",
    "location_request_message",
    "address_message",
    "call_permission_request",
)
MAX_TEXT_BODY: Final = 4096
MAX_CAPTION: Final = 1024
MAX_INTERACTIVE_BODY: Final = 1024
MAX_HEADER_TEXT: Final = 60
MAX_FOOTER_TEXT: Final = 60
MAX_BUTTONS: Final = 3
MAX_BUTTON_TITLE: Final = 20
MAX_BUTTON_ID: Final = 256
MAX_SECTIONS: Final = 10
MAX_ROWS: Final = 10
MAX_SECTION_TITLE: Final = 24
MAX_ROW_TITLE: Final = 24
MAX_ROW_ID: Final = 200
MAX_ROW_DESCRIPTION: Final = 72
MAX_LIST_BUTTON: Final = 20
MAX_CTA_TEXT: Final = 20
MAX_URL: Final = 2000
_CAPTIONED = frozenset({"image", "video", "document"})
_HEADER_TYPES = frozenset({"text", "image", "video", "document"})

Where = str


def validated_message(messaging_object: object) -> dict[str, Any]:
    """The Cloud API body to send for ``messaging_object``, with ``messaging_product`` and
    ``recipient_type`` added when missing; :class:`InvalidPayload` naming the field at fault."""
    where = "messaging_object"
    if not isinstance(messaging_object, dict):
        _fail(where, "must be a Cloud API message object")
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **messaging_object,
    }
    if body["messaging_product"] != "whatsapp":
        _fail(f"{where}.messaging_product", "must be whatsapp")
    if body["recipient_type"] != "individual":
        _fail(f"{where}.recipient_type", "must be individual")
    _check_recipient(body, where)
    kind = body.get("type")
    if kind not in SEND_TYPES:
        _fail(f"{where}.type", f"must be one of {', '.join(SEND_TYPES)}")
    content = body.get(kind)
    if kind == "contacts":
        _check_contact_cards(content, f"{where}.contacts")
    elif not isinstance(content, dict):
        _fail(f"{where}.{kind}", f"a {kind} message needs its {kind} object")
    else:
        _CHECKS[kind](content, f"{where}.{kind}", kind)
    if "context" in body:
        context = _object(body["context"], f"{where}.context")
        _text(context.get("message_id"), f"{where}.context.message_id", required=True, most=255)
    if "biz_opaque_callback_data" in body:
        _text(body["biz_opaque_callback_data"], f"{where}.biz_opaque_callback_data", most=512)
    return body


def _check_recipient(body: Mapping[str, Any], where: Where) -> None:
    """``to`` (a phone number), ``recipient`` (a BSUID or parent BSUID), or both (Meta
    then sends to the phone number)."""
    if body.get("recipient") is None:
        _text(body.get("to"), f"{where}.to", required=True, most=64)
        return
    recipient = _text(body["recipient"], f"{where}.recipient", required=True, most=160)
    if not is_bsuid(recipient):
        _fail(
            f"{where}.recipient",
            "must be a business-scoped user id (BSUID), as US.13491208655302741918",
        )
    if body.get("to") is not None:
        _text(body["to"], f"{where}.to", required=True, most=64)


def _check_text(text: Mapping[str, Any], where: Where, _kind: str) -> None:
    _text(text.get("body"), f"{where}.body", required=True, most=MAX_TEXT_BODY)
    if "preview_url" in text and not isinstance(text["preview_url"], bool):
        _fail(f"{where}.preview_url", "must be true or false")


def _check_template(template: Mapping[str, Any], where: Where, _kind: str) -> None:
    _text(template.get("name"), f"{where}.name", required=True, most=512)
    language = _object(template.get("language"), f"{where}.language")
    _text(language.get("code"), f"{where}.language.code", required=True, most=16)
    components = template.get("components", [])
    if not isinstance(components, list):
        _fail(f"{where}.components", "must be a list of objects")
    for index, component in enumerate(components):
        _object(component, f"{where}.components[{index}]")


def _check_media(media: Mapping[str, Any], where: Where, kind: str) -> None:
    has_id, has_link = "id" in media, "link" in media
    if has_id == has_link:
        _fail(where, "give either id (a media id from Meta) or link (an https URL), not both")
    if has_id:
        _text(media["id"], f"{where}.id", required=True, most=255)
    else:
        _url(media["link"], f"{where}.link")
    if "caption" in media:
        if kind not in _CAPTIONED:
            _fail(f"{where}.caption", f"a {kind} has no caption")
        _text(media["caption"], f"{where}.caption", most=MAX_CAPTION)
    if "filename" in media:
        if kind != "document":
            _fail(f"{where}.filename", "only a document has a file name")
        _text(media["filename"], f"{where}.filename", required=True, most=255)


def _check_interactive(interactive: Mapping[str, Any], where: Where, _kind: str) -> None:
    kind = interactive.get("type")
    known = (*INTERACTIVE_TYPES, *OTHER_INTERACTIVE_TYPES)
    if kind not in known:
        _fail(f"{where}.type", f"must be one of {', '.join(known)}")
    needs_body = kind not in ("product", "address_message")
    if needs_body or "body" in interactive:
        body = _object(interactive.get("body"), f"{where}.body")
        _text(body.get("text"), f"{where}.body.text", required=True, most=MAX_INTERACTIVE_BODY)
    if "footer" in interactive:
        footer = _object(interactive["footer"], f"{where}.footer")
        _text(footer.get("text"), f"{where}.footer.text", required=True, most=MAX_FOOTER_TEXT)
    if "header" in interactive:
        _check_header(_object(interactive["header"], f"{where}.header"), f"{where}.header")
    action = _object(interactive.get("action"), f"{where}.action")
    if kind == "button":
        _check_buttons(action, f"{where}.action")
    elif kind == "list":
        _check_list(action, f"{where}.action")
    elif kind == "cta_url":
        _check_cta(action, f"{where}.action")


def _check_header(header: Mapping[str, Any], where: Where) -> None:
    kind = header.get("type")
    if kind not in _HEADER_TYPES:
        _fail(f"{where}.type", f"must be one of {', '.join(sorted(_HEADER_TYPES))}")
    if kind == "text":
        _text(header.get("text"), f"{where}.text", required=True, most=MAX_HEADER_TEXT)
    else:
        _check_media(_object(header.get(kind), f"{where}.{kind}"), f"{where}.{kind}", "header")


def _check_buttons(action: Mapping[str, Any], where: Where) -> None:
    buttons = _list(action.get("buttons"), f"{where}.buttons", most=MAX_BUTTONS)
    ids: set[str] = set()
    for index, item in enumerate(buttons):
        at = f"{where}.buttons[{index}]"
        button = _object(item, at)
        if button.get("type") != "reply":
            _fail(f"{at}.type", "must be reply")
        reply = _object(button.get("reply"), f"{at}.reply")
        button_id = _text(reply.get("id"), f"{at}.reply.id", required=True, most=MAX_BUTTON_ID)
        _text(reply.get("title"), f"{at}.reply.title", required=True, most=MAX_BUTTON_TITLE)
        if button_id in ids:
            _fail(f"{at}.reply.id", "must differ from the other buttons' ids")
        ids.add(button_id)


def _check_list(action: Mapping[str, Any], where: Where) -> None:
    _text(action.get("button"), f"{where}.button", required=True, most=MAX_LIST_BUTTON)
    sections = _list(action.get("sections"), f"{where}.sections", most=MAX_SECTIONS)
    rows = 0
    ids: set[str] = set()
    for index, item in enumerate(sections):
        at = f"{where}.sections[{index}]"
        section = _object(item, at)
        if len(sections) > 1 or "title" in section:
            _text(section.get("title"), f"{at}.title", required=True, most=MAX_SECTION_TITLE)
        for number, row_item in enumerate(_list(section.get("rows"), f"{at}.rows")):
            row_at = f"{at}.rows[{number}]"
            row = _object(row_item, row_at)
            row_id = _text(row.get("id"), f"{row_at}.id", required=True, most=MAX_ROW_ID)
            _text(row.get("title"), f"{row_at}.title", required=True, most=MAX_ROW_TITLE)
            if "description" in row:
                _text(row["description"], f"{row_at}.description", most=MAX_ROW_DESCRIPTION)
            if row_id in ids:
                _fail(f"{row_at}.id", "must differ from the other rows' ids")
            ids.add(row_id)
            rows += 1
    if rows > MAX_ROWS:
        _fail(f"{where}.sections", f"at most {MAX_ROWS} rows in all sections together")


def _check_cta(action: Mapping[str, Any], where: Where) -> None:
    if action.get("name") != "cta_url":
        _fail(f"{where}.name", "must be cta_url")
    parameters = _object(action.get("parameters"), f"{where}.parameters")
    _text(
        parameters.get("display_text"),
        f"{where}.parameters.display_text",
        required=True,
        most=MAX_CTA_TEXT,
    )
    _url(parameters.get("url"), f"{where}.parameters.url")


def _check_location(location: Mapping[str, Any], where: Where, _kind: str) -> None:
    _number(location.get("latitude"), f"{where}.latitude", 90.0)
    _number(location.get("longitude"), f"{where}.longitude", 180.0)
    for name in ("name", "address"):
        if name in location:
            _text(location[name], f"{where}.{name}", most=1000)


def _check_contact_cards(cards: object, where: Where) -> None:
    for index, item in enumerate(_list(cards, where, most=257)):
        card = _object(item, f"{where}[{index}]")
        name = _object(card.get("name"), f"{where}[{index}].name")
        _text(name.get("formatted_name"), f"{where}[{index}].name.formatted_name", required=True)
        for field in ("phones", "emails", "urls", "addresses"):
            if field in card:
                for number, entry in enumerate(_list(card[field], f"{where}[{index}].{field}")):
                    _object(entry, f"{where}[{index}].{field}[{number}]")


def _check_reaction(reaction: Mapping[str, Any], where: Where, _kind: str) -> None:
    _text(reaction.get("message_id"), f"{where}.message_id", required=True, most=255)
    if not isinstance(reaction.get("emoji"), str):
        _fail(f"{where}.emoji", "must be an emoji (empty to remove the reaction)")


_CHECKS: Final[dict[str, Callable[[Mapping[str, Any], Where, str], None]]] = {
    "text": _check_text,
    "template": _check_template,
    **dict.fromkeys(MEDIA_TYPES, _check_media),
    "interactive": _check_interactive,
    "location": _check_location,
    "reaction": _check_reaction,
}


def _fail(where: Where, problem: str) -> NoReturn:
    raise InvalidPayload({where: problem})


def _object(value: object, where: Where) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        _fail(where, "must be an object")
    return value


def _list(value: object, where: Where, *, most: int | None = None) -> list[Any]:
    if not isinstance(value, list) or not value:
        _fail(where, "must be a non-empty list")
    if most is not None and len(value) > most:
        _fail(where, f"at most {most} items")
    return value


def _text(value: object, where: Where, *, required: bool = False, most: int = 4096) -> str:
    if not isinstance(value, str):
        _fail(where, "is missing" if value is None else "must be a string")
    if required and not value.strip():
        _fail(where, "must not be empty")
    if len(value) > most:
        _fail(where, f"at most {most} characters")
    return value


def _url(value: object, where: Where) -> None:
    text = _text(value, where, required=True, most=MAX_URL)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        _fail(where, "must be an absolute http(s) URL")


def _number(value: object, where: Where, limit: float) -> None:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            _fail(where, "must be a number")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        _fail(where, "must be a number")
    if not -limit <= float(value) <= limit:
        _fail(where, f"must be between -{limit:g} and {limit:g}")
