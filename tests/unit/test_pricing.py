"""Kaleyra's price from Meta's per-message pricing, once per message, from the fixtures."""

from __future__ import annotations

from typing import Any

import pytest

from tests.meta_fixtures import notification, value_of
from wagate.domain.messages import Billing, Message
from wagate.domain.pricing import (
    Billed,
    RateCard,
    billed_by,
    parse_rate_card,
    plan_prices,
    recipient_country,
)

POSTPAID = Billing("postpaid", {})
CARD = parse_rate_card(
    {"marketing": {"US": "0.025", "IN": "0.0107", "*": "0.04"}, "utility": {"*": "0.004"}}
)


def _status(case: str, file: str = "statuses_pmp") -> dict[str, Any]:
    status: dict[str, Any] = value_of(notification(file, case))["statuses"][0]
    return status


def _message(recipient: str = "16505551234", **changes: Any) -> Message:
    fields: dict[str, Any] = {
        "id": "m1:0", "sid": "AC1", "waba_id": "w1", "number": "15550783881",
        "phone_number_id": "p1", "recipient": recipient, "wamid": "wamid.x", "type": "template",
        "template_id": None, "template_name": "offer", "template_components": None,
        "ref": None, "ref1": None, "ref2": None, "callback_url": None,
        "callback_profile_id": None, "tag_name": None, "forwarded_rank": 0,
    }  # fmt: skip
    return Message(**{**fields, **changes})


def test_pmp_pricing_says_the_category_and_whether_it_is_free() -> None:
    assert billed_by(_status("sent_marketing")) == Billed("marketing", free=False)
    assert billed_by(_status("delivered_marketing")) == Billed("marketing", free=False)
    assert billed_by(_status("sent_utility_free_customer_service")) == Billed("utility", True)
    assert billed_by(_status("sent_service_free_entry_point")) == Billed("service", True)
    assert billed_by(_status("read_marketing")) is None


def test_conversation_era_payloads_still_price_their_conversation() -> None:
    assert billed_by(_status("sent", "statuses_conversation")) == Billed("service", False)
    assert billed_by(_status("failed", "statuses_conversation")) is None


def test_the_price_is_decided_at_sent_and_shown_once_on_delivered() -> None:
    message = _message()
    plan = plan_prices(
        [
            (message, _status("sent_marketing")),
            (message, _status("delivered_marketing")),
            (message, _status("read_marketing")),
        ],
        {"AC1": POSTPAID},
        CARD,
    )
    assert plan.decided == {"m1:0": "0.025"}
    assert [s.price for s in plan.statuses] == [None, "0.025", None]


def test_a_price_decided_in_an_earlier_batch_is_not_decided_again() -> None:
    message = _message(price="0.025", forwarded_rank=1)
    plan = plan_prices([(message, _status("delivered_marketing"))], {"AC1": POSTPAID}, CARD)
    assert plan.decided == {}
    assert [s.price for s in plan.statuses] == ["0.025"]
    shown = _message(price="0.025", forwarded_rank=2)
    plan = plan_prices([(shown, _status("read_marketing"))], {"AC1": POSTPAID}, CARD)
    assert [s.price for s in plan.statuses] == [None]


def test_read_at_once_shows_the_price_when_delivered_was_skipped() -> None:
    message = _message(price="0.025", forwarded_rank=1)
    plan = plan_prices([(message, _status("read_marketing"))], {"AC1": POSTPAID}, CARD)
    assert [s.price for s in plan.statuses] == ["0.025"]


def test_free_types_give_no_price() -> None:
    message = _message()
    plan = plan_prices(
        [
            (message, _status("sent_utility_free_customer_service")),
            (message, _status("delivered_utility_free_customer_service")),
        ],
        {"AC1": POSTPAID},
        CARD,
    )
    assert plan.decided == {"m1:0": ""}
    assert [s.price for s in plan.statuses] == [None, None]


@pytest.mark.parametrize("account_type", ["prepaid", "tech_provider"])
def test_only_postpaid_accounts_see_prices(account_type: str) -> None:
    message = _message()
    plan = plan_prices(
        [(message, _status("sent_marketing")), (message, _status("delivered_marketing"))],
        {"AC1": Billing(account_type, {"marketing": "0.01"})},
        CARD,
    )
    assert [s.price for s in plan.statuses] == [None, None]


def test_the_accounts_own_rate_comes_before_the_operators_card() -> None:
    message = _message(recipient="919876543210")
    own = Billing("postpaid", {"marketing": "0.0099"})
    plan = plan_prices([(message, _status("sent_marketing"))], {"AC1": own}, CARD)
    assert plan.decided == {"m1:0": "0.0099"}
    plan = plan_prices([(message, _status("sent_marketing"))], {"AC1": POSTPAID}, CARD)
    assert plan.decided == {"m1:0": "0.0107"}


def test_the_rate_card_goes_by_country_then_wildcard() -> None:
    assert CARD.rate("marketing", "US") == "0.025"
    assert CARD.rate("marketing", "BR") == "0.04"
    assert CARD.rate("utility", "US") == "0.004"
    assert CARD.rate("authentication", "US") is None
    assert RateCard().rate("marketing", "US") is None
    with pytest.raises(ValueError, match="country"):
        parse_rate_card({"marketing": "0.01"})


def test_the_recipients_country_comes_from_the_number_or_the_bsuid() -> None:
    assert recipient_country(_message("16505551234")) == "US"
    assert recipient_country(_message("18765551234")) == "JM"  # +1, Jamaica
    assert recipient_country(_message("14165551234")) == "CA"
    assert recipient_country(_message("+91 98765 43210")) == "IN"
    assert recipient_country(_message("", recipient_user_id="BR.8812")) == "BR"
