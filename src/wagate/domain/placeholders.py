"""The placeholder vocabulary of callback profiles: the ``<name>`` tokens a template may use."""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "ALL_PLACEHOLDERS",
    "INCOMING_MESSAGE_PLACEHOLDERS",
    "MESSAGE_STATUS_PLACEHOLDERS",
    "PLACEHOLDER_RE",
    "RESUMABLE_MEDIA_PLACEHOLDERS",
    "placeholders_in",
]

RESUMABLE_MEDIA_PLACEHOLDERS: Final[frozenset[str]] = frozenset(
    {
        "status",
        "uploaded_file_handle",
        "file_name",
        "file_link",
        "resumable_media_id",
        "waba_id",
        "company_id",
        "field",
        "time",
        "callback_profile_id",
    }
)

MESSAGE_STATUS_PLACEHOLDERS: Final[frozenset[str]] = frozenset(
    {
        "id",
        "custom_response",
        "timestamp",
        "mobile",
        "message",
        "status",
        "phone_number",
        "whatsapp_number",
        "error",
        "error_code",
        "ref",
        "ref1",
        "ref2",
        "price",
        # Our extension of the provider's fields: the recipient's BSUID, parent BSUID and
        # username, when Meta gave them.
        "user_id",
        "parent_user_id",
        "username",
    }
)

#: An incoming message's: the provider's incoming fields, ``id`` (Meta's message id),
#: ``error`` (why its media could not be had), and, when it replies to a message the
#: gateway sent, that message's id and refs; and the sender's BSUID, parent BSUID and
#: username (our extension).
INCOMING_MESSAGE_PLACEHOLDERS: Final[frozenset[str]] = frozenset(
    {
        "id",
        "body",
        "mime_type",
        "media_url",
        "from",
        "name",
        "type",
        "created_at",
        "reply_to",
        "wanumber",
        "mobile",
        "custom_response",
        "message",
        "contacts",
        "location",
        "error",
        "reply_to_message_id",
        "ref",
        "ref1",
        "ref2",
        "callback_profile_id",
        # Our extension: the sender's BSUID, parent BSUID and username, when Meta gave them.
        "user_id",
        "parent_user_id",
        "username",
    }
)

ALL_PLACEHOLDERS: Final[frozenset[str]] = (
    RESUMABLE_MEDIA_PLACEHOLDERS | MESSAGE_STATUS_PLACEHOLDERS | INCOMING_MESSAGE_PLACEHOLDERS
)

PLACEHOLDER_RE: Final = re.compile(r"<([a-z0-9_]+)>")


def placeholders_in(text: str) -> set[str]:
    """The names of the ``<name>`` tokens in ``text`` (names are ``[a-z0-9_]+``)."""
    return set(PLACEHOLDER_RE.findall(text))
