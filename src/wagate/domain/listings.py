"""WABAs and numbers as the customer API answers them and the command line prints them.

One shape for both, so that ``GET /v2/{sid}/whatsapp/numbers`` and
``wagate numbers list --json`` cannot drift apart. A number's webhook secret is
never part of it: only the answer of attaching (PATCH, ``numbers attach``) shows it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wagate.domain.tenancy import PhoneNumber, Waba

__all__ = ["number_fields", "utc_text", "waba_fields"]


def utc_text(moment: datetime) -> str:
    """A UTC time as ISO 8601 with ``Z`` (``2026-12-07T09:18:10.123456Z``)."""
    return moment.isoformat().replace("+00:00", "Z")


def waba_fields(waba: Waba) -> dict[str, Any]:
    """A WABA: its id, the API version it is used on, its callback profile, its creation."""
    return {
        "waba_id": waba.waba_id,
        "api_version": waba.api_version.value,
        "callback_profile_id": waba.callback_profile_id,
        "created_at": utc_text(waba.created_at),
    }


def number_fields(phone: PhoneNumber) -> dict[str, Any]:
    """A number: its WABA, Meta's id for it, and where its callbacks and pushes go."""
    return {
        "number": phone.number,
        "waba_id": phone.waba_id,
        "phone_number_id": phone.phone_number_id,
        "callback_profile_id": phone.callback_profile_id,
        "incoming_callback_profile_id": phone.incoming_callback_profile_id,
        "webhook_url": phone.webhook_url,
        "created_at": utc_text(phone.created_at),
    }
