"""Marketing opt-outs and template categories from Meta's payloads, and the refusal rule."""

from __future__ import annotations

from tests.meta_fixtures import notification
from wagate.domain.field_events import field_events
from wagate.domain.marketing import (
    IGNORE_OPT_OUT,
    MarketingPreference,
    TemplateCategory,
    category_for,
    latest,
    preferences_of,
    refusal,
    template_category_of,
    template_of,
)

NUMBER = "106540352242922"


def test_a_stop_is_an_opt_out_by_every_id_of_the_user() -> None:
    [event] = field_events(notification("user_preferences", "stop"), NUMBER)
    preferences = preferences_of(event)
    assert [p.user for p in preferences] == ["16505551234"]
    assert preferences[0].opted_out
    assert preferences[0].reported_at == 1731705700
    resumed = notification("user_preferences", "resume")
    item = resumed["entry"][0]["changes"][0]["value"]["user_preferences"][0]
    item["user_id"] = "US.13491208655302741918"
    [event] = field_events(resumed, NUMBER)
    assert [(p.user, p.opted_out) for p in preferences_of(event)] == [
        ("16505551234", False),
        ("US.13491208655302741918", False),
    ]


def test_the_latest_preference_wins() -> None:
    stop = MarketingPreference("u", True, "stop", "", 10)
    resume = MarketingPreference("u", False, "resume", "", 20)
    assert latest([resume, stop]) == [resume]
    assert latest([stop, resume]) == [resume]


def test_template_categories_come_from_status_and_category_updates() -> None:
    [approved] = field_events(notification("template_updates", "status_rejected"), None)
    assert template_category_of(approved) == TemplateCategory(
        "102290129340398", "abandoned_cart", "en", "MARKETING"
    )
    [changed] = field_events(notification("template_updates", "category_marketing"), None)
    category = template_category_of(changed)
    assert category is not None
    assert category.category == "MARKETING"
    [quality] = field_events(notification("template_updates", "quality_yellow"), None)
    assert template_category_of(quality) is None


def test_a_marketing_template_to_an_opted_out_user_is_refused_unless_overridden() -> None:
    why = refusal("16505551234", "MARKETING", True, {})
    assert why is not None
    assert "16505551234" in why
    assert "131050" in why
    assert refusal("16505551234", "MARKETING", True, {IGNORE_OPT_OUT: True}) is None
    assert refusal("16505551234", "UTILITY", True, {}) is None
    assert refusal("16505551234", "MARKETING", False, {}) is None
    assert refusal("16505551234", None, True, {}) is None


def test_the_template_of_a_send_and_its_category() -> None:
    body = {"type": "template", "template": {"name": "promo", "language": {"code": "en"}}}
    assert template_of(body) == ("promo", "en")
    assert template_of({"type": "text", "text": {"body": "x"}}) is None
    categories = [
        TemplateCategory("w", "promo", "de", "UTILITY"),
        TemplateCategory("w", "promo", "en", "MARKETING"),
    ]
    assert category_for(categories, "en") == "MARKETING"
    assert category_for(categories, "fr") == "UTILITY"
    assert category_for([], "en") is None
