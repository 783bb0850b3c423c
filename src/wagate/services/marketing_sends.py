"""Refusing a marketing template send to a user who opted out of marketing messages.

Meta fails such a send with 131050 after accepting it; the gateway refuses it
before Meta is called, with a 400 that names the user, unless the send's
``extra_info.ignore_marketing_opt_out`` is true. A template is marketing when
Meta's template webhooks said so (its category per language, kept by the inbox
processor); a template Meta never described is let through.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wagate.domain import errors
from wagate.domain.marketing import IGNORE_OPT_OUT, category_for, refusal, template_of
from wagate.domain.tenancy import PhoneNumber
from wagate.store import Database
from wagate.store import webhook_events as field_rows

__all__ = ["check_marketing_send"]


async def check_marketing_send(
    database: Database, phone: PhoneNumber, body: Mapping[str, Any], extra: Mapping[str, Any]
) -> None:
    """Raise :class:`InvalidPayload` when ``body`` is a MARKETING template to a user who
    opted out of marketing messages from ``phone``, and ``extra`` does not override it."""
    override = extra.get(IGNORE_OPT_OUT)
    if override is not None and not isinstance(override, bool):
        raise errors.InvalidPayload({f"extra_info.{IGNORE_OPT_OUT}": "must be true or false"})
    template = template_of(body)
    if template is None or override is True:
        return
    name, language = template
    recipient = str(body.get("to", ""))
    async with database.transaction() as connection:
        categories = await field_rows.categories_of(connection, phone.waba_id, name)
        category = category_for(categories, language)
        if category is None:
            return
        preference = await field_rows.preference_of(connection, phone.number, recipient)
    why = refusal(recipient, category, preference is not None and preference.opted_out, extra)
    if why is not None:
        raise errors.InvalidPayload({"messaging_object.to": why})
