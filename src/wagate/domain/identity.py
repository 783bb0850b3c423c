"""Who a WhatsApp user is: a phone number, a business-scoped user id (BSUID), or both.

Since 2026 Meta names users by a BSUID (``user_id``, ``from_user_id``,
``recipient_user_id``: a country code, a dot and an id, as
``US.13491208655302741918``), and a parent BSUID shared across a business
portfolio's accounts (``US.ENT.…``). A user who set a username may come
without a phone number at all (no ``wa_id``, ``from`` or ``recipient_id``).
Nothing here invents a missing phone number: where Meta sent none, there is
none.

A user's BSUID or phone number can change; Meta says so with a system message
(``user_changed_user_id``, ``user_changed_number``) or the ``user_id_update``
field. :func:`identity_changes` reads both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "BSUID_RE",
    "IDENTITY_SYSTEM_TYPES",
    "MAX_USERNAME_LENGTH",
    "MAX_USER_ID_LENGTH",
    "IdentityChange",
    "UserIdentity",
    "contact_for",
    "contact_identity",
    "country_of_bsuid",
    "identity_changes",
    "is_bsuid",
    "status_identity",
]

#: A BSUID or parent BSUID: ISO country code, optional ``ENT``, an alphanumeric id.
BSUID_RE: Final = re.compile(r"^[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}$")
#: The longest user id stored.
MAX_USER_ID_LENGTH: Final = 160
MAX_USERNAME_LENGTH: Final = 64


def is_bsuid(value: str) -> bool:
    """Whether ``value`` is written as a BSUID or a parent BSUID."""
    return bool(BSUID_RE.match(value))


def country_of_bsuid(value: str) -> str | None:
    """The ISO country code a BSUID starts with, or None when it is no BSUID."""
    return value[:2] if is_bsuid(value) else None


@dataclass(frozen=True, slots=True)
class UserIdentity:
    """What Meta told of a user: phone number, BSUID, parent BSUID, username (each may
    be missing)."""

    phone: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None
    username: str | None = None

    @property
    def key(self) -> str:
        """The user's phone number when known, else the BSUID ("" when neither)."""
        return self.phone or self.user_id or ""


def contact_identity(contact: Mapping[str, Any] | None) -> UserIdentity:
    """The identity a ``contacts`` entry gives."""
    if not contact:
        return UserIdentity()
    profile = contact.get("profile")
    username = profile.get("username") if isinstance(profile, dict) else None
    return UserIdentity(
        phone=_id(contact.get("wa_id")),
        user_id=_id(contact.get("user_id")),
        parent_user_id=_id(contact.get("parent_user_id")),
        username=_text(username, MAX_USERNAME_LENGTH),
    )


def status_identity(
    status: Mapping[str, Any], contact: Mapping[str, Any] | None = None
) -> UserIdentity:
    """The recipient of a status: its ``recipient_id`` / ``recipient_user_id`` /
    ``recipient_parent_user_id``, completed by the value's matching contact."""
    known = contact_identity(contact)
    return UserIdentity(
        phone=_id(status.get("recipient_id")) or known.phone,
        user_id=_id(status.get("recipient_user_id")) or known.user_id,
        parent_user_id=_id(status.get("recipient_parent_user_id")) or known.parent_user_id,
        username=known.username,
    )


def contact_for(
    contacts: Sequence[Mapping[str, Any]], *, phone: str | None, user_id: str | None
) -> Mapping[str, Any] | None:
    """The ``contacts`` entry of the user with this phone number or BSUID; the only one
    when there is one and nothing matches."""
    for contact in contacts:
        if phone and str(contact.get("wa_id") or "") == phone:
            return contact
        if user_id and str(contact.get("user_id") or "") == user_id:
            return contact
    return contacts[0] if len(contacts) == 1 else None


@dataclass(frozen=True, slots=True)
class IdentityChange:
    """A user's new identity: what Meta called them before and what it calls them now."""

    before: UserIdentity
    after: UserIdentity
    #: Meta's word for the change: user_changed_user_id, user_changed_number, user_id_update.
    reason: str


IDENTITY_SYSTEM_TYPES: Final = frozenset({"user_changed_user_id", "user_changed_number"})


def identity_changes(value: Mapping[str, Any]) -> list[IdentityChange]:
    """The identity changes of one change value: its system messages of a changed BSUID
    or number, and its ``user_id_update`` entries."""
    found: list[IdentityChange] = []
    for message in _dicts(value.get("messages")):
        system = message.get("system")
        if message.get("type") != "system" or not isinstance(system, dict):
            continue
        reason = str(system.get("type") or "")
        if reason not in IDENTITY_SYSTEM_TYPES:
            continue
        before = UserIdentity(
            phone=_id(message.get("from")), user_id=_id(message.get("from_user_id"))
        )
        after = UserIdentity(
            phone=(_id(system.get("wa_id")) or before.phone)
            if reason == "user_changed_number"
            else before.phone,
            user_id=_id(system.get("user_id")) or before.user_id,
            parent_user_id=_id(system.get("parent_user_id")),
        )
        found.append(IdentityChange(before, after, reason))
    for update in _dicts(value.get("user_id_update")):
        user_id = update.get("user_id")
        parent = update.get("parent_user_id")
        phone = _id(update.get("wa_id"))
        found.append(
            IdentityChange(
                UserIdentity(phone=phone, user_id=_side(user_id, "previous")),
                UserIdentity(
                    phone=phone,
                    user_id=_side(user_id, "current"),
                    parent_user_id=_side(parent, "current"),
                ),
                "user_id_update",
            )
        )
    return [change for change in found if change.after.user_id or change.after.phone]


def _side(value: object, side: str) -> str | None:
    if isinstance(value, dict):
        return _id(value.get(side))
    return _id(value) if side == "current" else None


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _id(value: object) -> str | None:
    return _text(value, MAX_USER_ID_LENGTH)


def _text(value: object, most: int) -> str | None:
    if value is None or isinstance(value, dict | list | bool):
        return None
    text = str(value).strip()
    return text[:most] if text else None
