"""Marketing opt-outs: what users told Meta, what templates are, and which sends to refuse.

A user who stops a business's marketing messages is reported in a
``user_preferences`` change (``category: marketing_messages``, ``value:
stop``); ``resume`` (or ``signup``) lifts it. Meta then fails marketing
template sends to that user with code 131050; the gateway refuses them before
Meta is called, unless the send says to ignore the opt-out. Whether a template
is marketing comes from Meta's template webhooks (the category of a status
update, or a category update), kept per WABA, template name and language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from wagate.domain import json_values
from wagate.domain.field_events import FieldEvent

__all__ = [
    "IGNORE_OPT_OUT",
    "MARKETING_CATEGORY",
    "MARKETING_MESSAGES",
    "MARKETING_OPT_OUT_CODE",
    "MAX_USER_LENGTH",
    "MarketingPreference",
    "TemplateCategory",
    "category_for",
    "latest",
    "preferences_of",
    "refusal",
    "template_category_of",
    "template_of",
]

#: Meta's error code for a marketing message to a user who stopped them.
MARKETING_OPT_OUT_CODE: Final = 131050
#: The category of ``user_preferences`` entries about marketing messages.
MARKETING_MESSAGES: Final = "marketing_messages"
MARKETING_CATEGORY: Final = "MARKETING"
#: The ``extra_info`` member that lets a send through an opt-out.
IGNORE_OPT_OUT: Final = "ignore_marketing_opt_out"
_STOP_VALUES: Final = frozenset({"stop"})
_RESUME_VALUES: Final = frozenset({"resume", "signup"})
MAX_USER_LENGTH: Final = 128


@dataclass(frozen=True, slots=True)
class MarketingPreference:
    """A user's marketing preference as Meta reported it, by one of the user's ids."""

    user: str
    opted_out: bool
    value: str
    detail: str
    reported_at: int


@dataclass(frozen=True, slots=True)
class TemplateCategory:
    """The category Meta gives a WABA's template, in one language ("" when not said)."""

    waba_id: str
    name: str
    language: str
    category: str


def preferences_of(event: FieldEvent) -> list[MarketingPreference]:
    """The marketing preferences a ``user_preferences`` event reports, by every id of each
    user it names (the phone number and the business-scoped user id)."""
    if event.field != "user_preferences":
        return []
    found = []
    for item in json_values.objects(event.value.get("user_preferences")):
        if json_values.text(item.get("category")) != MARKETING_MESSAGES:
            continue
        value = json_values.text(item.get("value")).lower()
        if value not in _STOP_VALUES | _RESUME_VALUES:
            continue
        stamp = item.get("timestamp")
        reported_at = int(stamp) if isinstance(stamp, int | str) and str(stamp).isdigit() else 0
        for key in ("wa_id", "user_id"):
            user = json_values.text(item.get(key))[:MAX_USER_LENGTH]
            if user:
                found.append(
                    MarketingPreference(
                        user,
                        value in _STOP_VALUES,
                        value,
                        json_values.text(item.get("detail"))[:500],
                        reported_at,
                    )
                )
    return found


def latest(preferences: Iterable[MarketingPreference]) -> list[MarketingPreference]:
    """Each user's latest preference (by Meta's timestamp; the later reported of a tie)."""
    by_user: dict[str, MarketingPreference] = {}
    for preference in preferences:
        known = by_user.get(preference.user)
        if known is None or preference.reported_at >= known.reported_at:
            by_user[preference.user] = preference
    return list(by_user.values())


def template_category_of(event: FieldEvent) -> TemplateCategory | None:
    """The template category a template status or category update states, if any."""
    if event.field == "message_template_status_update":
        category = json_values.text(event.value.get("message_template_category"))
    elif event.field == "template_category_update":
        category = json_values.text(event.value.get("new_category"))
    else:
        return None
    name = json_values.text(event.value.get("message_template_name"))
    if not category or not name:
        return None
    return TemplateCategory(
        event.waba_id,
        name[:512],
        json_values.text(event.value.get("message_template_language"))[:32],
        category.upper()[:32],
    )


def template_of(body: Mapping[str, Any]) -> tuple[str, str] | None:
    """The (name, language code) of a template send, None for other types."""
    template = body.get("template") if body.get("type") == "template" else None
    if not isinstance(template, dict) or not template.get("name"):
        return None
    language = template.get("language")
    code = json_values.text(language.get("code")) if isinstance(language, dict) else ""
    return json_values.text(template["name"]), code


def category_for(categories: Iterable[TemplateCategory], language: str) -> str | None:
    """The category of a template in ``language``: that language's, else any language's."""
    chosen = list(categories)
    for category in chosen:
        if category.language == language:
            return category.category
    return chosen[0].category if chosen else None


def refusal(
    recipient: str, category: str | None, opted_out: bool, extra_info: Mapping[str, Any]
) -> str | None:
    """Why a send must be refused (a sentence naming the user), or None to let it go: a
    MARKETING template to a user who opted out, unless ``extra_info`` says to ignore it."""
    if category != MARKETING_CATEGORY or not opted_out:
        return None
    if extra_info.get(IGNORE_OPT_OUT) is True:
        return None
    return (
        f"user {recipient} has opted out of marketing messages (Meta's "
        f"{MARKETING_OPT_OUT_CODE}); set extra_info.{IGNORE_OPT_OUT} to true to send anyway"
    )
