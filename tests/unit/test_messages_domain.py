from __future__ import annotations

from wagate.domain.messages import (
    Billing,
    Message,
    new_message_id,
    price_for,
    should_forward,
    status_callback_values,
)

POSTPAID = Billing(account_type="postpaid", rate_card={"marketing": "0.0107", "service": "0.0"})


def test_status_only_moves_forward() -> None:
    assert should_forward(0, "sent")
    assert should_forward(1, "read")  # delivered was skipped
    assert not should_forward(3, "delivered")  # late delivered after read
    assert not should_forward(2, "delivered")  # duplicate
    assert should_forward(3, "failed")
    assert should_forward(3, "deleted")
    assert not should_forward(5, "failed")
    assert not should_forward(0, "bogus")


def test_message_ids_have_the_seed_form() -> None:
    assert new_message_id().endswith(":0")


def test_price_only_on_delivered_that_opened_a_conversation_for_postpaid() -> None:
    opened = {"status": "delivered", "pricing": {"billable": True, "category": "marketing"}}
    assert price_for(opened, POSTPAID) == "0.0107"
    assert price_for({**opened, "status": "sent"}, POSTPAID) is None
    assert price_for({"status": "delivered"}, POSTPAID) is None
    assert price_for(opened, Billing("tech_provider", POSTPAID.rate_card)) is None
    assert price_for(opened, Billing("prepaid", POSTPAID.rate_card)) is None
    free = {
        "status": "delivered",
        "conversation": {"id": "c", "expiration_timestamp": "1", "origin": {"type": "service"}},
    }
    assert price_for(free, POSTPAID) == "0.0"  # free service conversations still show a price


def test_status_callbacks_name_the_recipient_by_digits_as_the_seed_does() -> None:
    message = Message(
        id=new_message_id(), sid="S", waba_id="W", number="15550783881", phone_number_id="P",
        recipient="+91 98765-43210", wamid="wamid.x", type="text", template_id=None,
        template_name=None, template_components=None, ref=None, ref1=None, ref2=None,
        callback_url=None, callback_profile_id=None, tag_name=None, forwarded_rank=0,
    )  # fmt: skip
    values = status_callback_values(message, {"status": "sent", "timestamp": "1"})
    assert values["mobile"] == values["phone_number"] == "919876543210"
    assert values["whatsapp_number"] == "15550783881"
