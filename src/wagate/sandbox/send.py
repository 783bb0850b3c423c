"""The Cloud API's send-message request: what the sandbox checks, and what it answers.

``POST /{version}/{phone_number_id}/messages`` takes a JSON body such as::

    {"messaging_product": "whatsapp", "recipient_type": "individual",
     "to": "15551234567", "type": "template",
     "template": {"name": "hello", "language": {"code": "en_US"}, "components": []}}

Like Meta, a missing ``type`` means ``text``; every type the Cloud API sends is
accepted when its object is there, and any other type answers code 131051.

``recipient`` (a business-scoped user id, BSUID) may name the user instead of
``to``; with both, Meta sends to the number. Some messages Meta sends only to a
phone number and answers code 131062 for a BSUID: the sandbox does so for
authentication templates, which it tells by their name (starting with
``auth`` or ``otp``) or a ``copy_code`` button.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from wagate.domain.identity import is_bsuid
from wagate.sandbox.graph_errors import (
    GraphApiError,
    bsuid_not_supported,
    unsupported_message_type,
    whatsapp_invalid_parameter,
)
from wagate.sandbox.messages import wa_id_of

#: The message types of the Cloud API's send endpoint.
MESSAGE_TYPES = frozenset(
    {
        "text",
        "template",
        "image",
        "audio",
        "document",
        "video",
        "sticker",
        "location",
        "contacts",
        "interactive",
        "reaction",
    }
)
MAX_TEXT_BODY = 4096
MIN_DIGITS, MAX_DIGITS = 5, 15
_PHONE_PUNCTUATION = frozenset("+-(). ")


@dataclass(frozen=True)
class SendRequest:
    """A send request the sandbox accepts."""

    to: str
    wa_id: str
    type: str
    body: dict[str, object]
    template_name: str | None = None
    template_language: str | None = None
    #: The BSUID the send named in ``recipient``.
    user_id: str | None = None


def _required(name: str) -> GraphApiError:
    return whatsapp_invalid_parameter(f"The parameter {name} is required.")


def _invalid(details: str) -> GraphApiError:
    return whatsapp_invalid_parameter("Invalid parameter", details=details)


def _non_empty_text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _check_to(to: object) -> tuple[str, str]:
    if to is None or to == "":
        raise _required("to")
    if not isinstance(to, str):
        raise _invalid(f"Param to must be a string, not {type(to).__name__}")
    wa_id = wa_id_of(to)
    if any(not (ch.isascii() and ch.isdigit()) and ch not in _PHONE_PUNCTUATION for ch in to):
        raise _invalid(f"Param to must be a phone number, not {to!r}")
    if not MIN_DIGITS <= len(wa_id) <= MAX_DIGITS:
        raise _invalid(f"Param to must have {MIN_DIGITS} to {MAX_DIGITS} digits, not {to!r}")
    return to, wa_id


def _check_text(text: Mapping[str, object]) -> None:
    body = _non_empty_text(text.get("body"))
    if body is None:
        raise _required("text['body']")
    if len(body) > MAX_TEXT_BODY:
        raise _invalid(f"Param text['body'] must be at most {MAX_TEXT_BODY} characters long")


def _check_template(template: Mapping[str, object]) -> tuple[str, str]:
    name = _non_empty_text(template.get("name"))
    if name is None:
        raise _required("template['name']")
    language = template.get("language")
    if not isinstance(language, dict):
        raise _required("template['language']")
    code = _non_empty_text(language.get("code"))
    if code is None:
        raise _required("template['language']['code']")
    components = template.get("components", [])
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        raise _invalid("Param template['components'] must be a list of objects")
    return name, code


def parse_send_request(body: object) -> SendRequest:
    """The request in ``body`` (parsed JSON), or the GraphApiError Meta would answer."""
    params: Mapping[str, object] = body if isinstance(body, dict) else {}
    product = params.get("messaging_product")
    if product is None or product == "":
        raise _required("messaging_product")
    if product != "whatsapp":
        raise whatsapp_invalid_parameter(
            f'Param messaging_product must be one of {{WHATSAPP}} - got "{product}".'
        )
    recipient_type = params.get("recipient_type", "individual")
    if recipient_type != "individual":
        raise whatsapp_invalid_parameter(
            f'Param recipient_type must be one of {{INDIVIDUAL}} - got "{recipient_type}".'
        )
    user_id = _check_recipient(params.get("recipient"))
    to, wa_id = ("", "") if user_id and params.get("to") is None else _check_to(params.get("to"))
    given_type = params.get("type", "text")
    message_type = _non_empty_text(given_type)
    if message_type is None:
        raise _invalid(f"Param type must be a non-empty string, not {given_type!r}")
    if message_type not in MESSAGE_TYPES:
        raise unsupported_message_type(message_type)
    content = params.get(message_type)
    if message_type == "contacts":
        if not isinstance(content, list) or not content:
            raise _required("contacts")
    elif not isinstance(content, dict):
        raise _required("text['body']" if message_type == "text" else message_type)
    name = language = None
    if message_type == "text" and isinstance(content, dict):
        _check_text(content)
    elif message_type == "template" and isinstance(content, dict):
        name, language = _check_template(content)
        if user_id and not wa_id and _is_authentication(name, content):
            raise bsuid_not_supported()
    return SendRequest(
        to=to,
        wa_id=wa_id,
        type=message_type,
        body=dict(params),
        template_name=name,
        template_language=language,
        user_id=user_id,
    )


def _check_recipient(recipient: object) -> str | None:
    if recipient is None:
        return None
    if not isinstance(recipient, str) or not is_bsuid(recipient):
        raise _invalid(f"Param recipient must be a business-scoped user id, not {recipient!r}")
    return recipient


def _is_authentication(name: str, template: Mapping[str, object]) -> bool:
    if name.lower().startswith(("auth", "otp")):
        return True
    components = template.get("components")
    return isinstance(components, list) and any(
        isinstance(c, dict) and c.get("sub_type") == "copy_code" for c in components
    )


def send_response(request: SendRequest, wamid: str) -> dict[str, object]:
    """Meta's answer to an accepted send: the contact and the new message id."""
    message: dict[str, object] = {"id": wamid}
    if request.type == "template":
        message["message_status"] = "accepted"
    contact: dict[str, object] = (
        {"input": request.to, "wa_id": request.wa_id}
        if request.wa_id
        else {"input": request.user_id, "user_id": request.user_id}
    )
    return {"messaging_product": "whatsapp", "contacts": [contact], "messages": [message]}
