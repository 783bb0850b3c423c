"""The sandbox's customer service windows and the free pricing of what is sent in them."""

from __future__ import annotations

from tests.unit.test_sandbox_messages import messaging_with_number, statuses_of, template_message
from wagate.sandbox.orders import StatusOrder
from wagate.sandbox.service_windows import SERVICE_WINDOW_SECONDS, ServiceWindows

PNID = "106540352242922"
USER = "15550100100"
WROTE = 1_700_000_000

FREE_SERVICE = {
    "billable": False,
    "pricing_model": "PMP",
    "category": "service",
    "type": "free_customer_service",
}


def test_a_window_is_open_for_24_hours_after_the_user_wrote_by_number_or_bsuid() -> None:
    windows = ServiceWindows()
    windows.user_wrote(PNID, (USER, "US.1"), WROTE)
    assert windows.is_open(PNID, (USER, None), WROTE + SERVICE_WINDOW_SECONDS - 1)
    assert windows.is_open(PNID, ("", "US.1"), WROTE + 60)
    assert not windows.is_open(PNID, (USER, None), WROTE + SERVICE_WINDOW_SECONDS)
    assert not windows.is_open("other-number", (USER, None), WROTE + 60)
    windows.user_wrote(PNID, (USER,), WROTE - 100)
    assert windows.is_open(PNID, (USER,), WROTE + SERVICE_WINDOW_SECONDS - 1), "latest kept"


def test_a_reply_in_the_window_is_free_customer_service_on_sent_and_delivered() -> None:
    messaging = messaging_with_number()
    messaging.service_windows.user_wrote(PNID, (USER,), WROTE)
    reply = template_message(type="text", template_name=None, template_language=None)
    for name in ("sent", "delivered"):
        (status,) = statuses_of(messaging.status_payload(reply, StatusOrder(name), WROTE + 60))
        assert status["pricing"] == FREE_SERVICE
        assert "conversation" not in status
    (read,) = statuses_of(messaging.status_payload(reply, StatusOrder("read"), WROTE + 60))
    assert "pricing" not in read


def test_a_reply_outside_the_window_carries_no_pricing() -> None:
    messaging = messaging_with_number()
    messaging.service_windows.user_wrote(PNID, (USER,), WROTE)
    reply = template_message(type="text", template_name=None, template_language=None)
    late = WROTE + SERVICE_WINDOW_SECONDS + 1
    (status,) = statuses_of(messaging.status_payload(reply, StatusOrder("sent"), late))
    assert "pricing" not in status


def test_in_the_window_a_utility_template_is_free_and_a_marketing_one_billed() -> None:
    messaging = messaging_with_number()
    messaging.service_windows.user_wrote(PNID, (USER,), WROTE)
    order = StatusOrder.parse({"status": "sent", "category": "utility"})
    (utility,) = statuses_of(messaging.status_payload(template_message(), order, WROTE + 60))
    assert utility["pricing"] == {**FREE_SERVICE, "category": "utility"}
    promo = template_message(wamid="wamid.promo")
    (marketing,) = statuses_of(messaging.status_payload(promo, StatusOrder("sent"), WROTE + 60))
    assert marketing["pricing"]["type"] == "regular"
    assert marketing["pricing"]["billable"] is True
