"""The portal's read models: a message's status, what a delivery is, what a page may show."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wagate.domain.activity import (
    ACCEPTED,
    INCOMING_EVENTS,
    MESSAGE_EVENTS,
    UPLOAD_EVENTS,
    DeliveryKind,
    MessageRecord,
    RecordedStatus,
    delivery_kind,
    placeholder_groups,
    redact_headers,
    status_at_rank,
)
from wagate.domain.messages import STATUS_RANK
from wagate.domain.placeholders import ALL_PLACEHOLDERS

NOW = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.mark.parametrize("status", list(STATUS_RANK))
def test_the_current_status_is_the_last_one_forwarded(status: str) -> None:
    assert status_at_rank(STATUS_RANK[status]) == status


def test_a_message_with_nothing_forwarded_is_accepted() -> None:
    assert status_at_rank(0) == ACCEPTED


def test_a_message_lists_the_refs_it_has() -> None:
    message = MessageRecord(
        id="m:0", sid="S", waba_id="W", number="1", recipient="2", wamid="wamid.1",
        type="text", template_name=None, ref="order", ref1=None, ref2="campaign",
        callback_url=None, callback_profile_id=None, forwarded_rank=2, created_at=NOW,
    )  # fmt: skip
    assert message.refs == ["order", "campaign"]
    assert message.current_status == "delivered"


def test_a_status_names_metas_errors() -> None:
    payload = {"errors": [{"code": 131026, "title": "Message undeliverable"}, "junk"]}
    recorded = RecordedStatus("failed", True, "1700000000", payload, NOW)
    assert recorded.errors == ["131026: Message undeliverable"]
    assert RecordedStatus("sent", True, None, {"errors": "none"}, NOW).errors == []


@pytest.mark.parametrize(
    ("profile_id", "method", "kind"),
    [
        ("stage_1", "POST", DeliveryKind.PROFILE),
        ("stage_1", "GET", DeliveryKind.PROFILE),
        (None, "POST", DeliveryKind.PUSH),
        (None, "GET", DeliveryKind.CALLBACK_URL),
    ],
)
def test_a_delivery_is_a_profiles_callback_a_push_or_a_callback_url(
    profile_id: str | None, method: str, kind: DeliveryKind
) -> None:
    assert delivery_kind(profile_id, method) is kind


def test_credentials_in_headers_are_hidden_and_signatures_are_not() -> None:
    shown = redact_headers(
        {
            "X-Shop-Token": "t0k3n",
            "X-Api-Key": "k",
            "Authorization": "[redacted]",
            "webhook-signature": "v1,abc",
            "webhook-id": "msg_1",
            "Content-Type": "application/json",
            "X-Session": "s",
        }
    )
    assert shown == {
        "X-Shop-Token": "[redacted]",
        "X-Api-Key": "[redacted]",
        "Authorization": "[redacted]",
        "webhook-signature": "v1,abc",
        "webhook-id": "msg_1",
        "Content-Type": "application/json",
        "X-Session": "[redacted]",
    }


def test_a_profile_offers_the_placeholders_of_what_it_is_attached_to() -> None:
    assert placeholder_groups(on_wabas=True, on_numbers=False) == [UPLOAD_EVENTS]
    on_numbers = [MESSAGE_EVENTS, INCOMING_EVENTS]
    assert placeholder_groups(on_wabas=False, on_numbers=True) == on_numbers
    every = [UPLOAD_EVENTS, *on_numbers]
    assert placeholder_groups(on_wabas=True, on_numbers=True) == every
    assert placeholder_groups(on_wabas=False, on_numbers=False) == every
    names = set(UPLOAD_EVENTS.names) | set(MESSAGE_EVENTS.names) | set(INCOMING_EVENTS.names)
    assert names == ALL_PLACEHOLDERS
    assert {"media_url", "wanumber", "reply_to"} <= set(INCOMING_EVENTS.names)
    assert "uploaded_file_handle" in UPLOAD_EVENTS.names
    assert "ref1" in MESSAGE_EVENTS.names
