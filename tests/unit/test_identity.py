"""Users known by phone number, BSUID or both, from Meta's published payloads."""

from __future__ import annotations

import pytest

from tests.meta_fixtures import notification, value_of
from wagate.domain.entry_changes import reported_statuses
from wagate.domain.errors import InvalidPayload
from wagate.domain.identity import identity_changes, is_bsuid
from wagate.domain.inbound import inbound_messages
from wagate.domain.incoming import incoming_callback_values, webhook_incoming_payload
from wagate.domain.message_types import validated_message
from wagate.domain.messages import Message, status_callback_values, webhook_status_payload
from wagate.domain.placeholders import (
    INCOMING_MESSAGE_PLACEHOLDERS,
    MESSAGE_STATUS_PLACEHOLDERS,
)

BSUID = "US.13491208655302741918"
PARENT = "US.ENT.11815799212886844830"
BUSINESS = "15550783881"


def _message(recipient: str = "", user_id: str | None = BSUID) -> Message:
    return Message(
        id="m1:0", sid="AC1", waba_id="w1", number=BUSINESS, phone_number_id="p1",
        recipient=recipient, wamid="wamid.x", type="text", template_id=None,
        template_name=None, template_components=None, ref="r", ref1=None, ref2=None,
        callback_url=None, callback_profile_id=None, tag_name=None, forwarded_rank=0,
        recipient_user_id=user_id,
    )  # fmt: skip


def test_a_bsuid_only_user_is_known_by_bsuid_and_has_no_invented_number() -> None:
    document = notification("bsuid_inbound", "text_without_phone")
    [message] = inbound_messages(value_of(document))
    assert message.sender == ""
    assert message.user.user_id == BSUID
    assert message.user.parent_user_id == PARENT
    assert message.user.username == "@sheena.nelson"
    assert message.name == "Sheena Nelson"
    values = incoming_callback_values(message, business_number=BUSINESS)
    assert "from" not in values
    assert "mobile" not in values
    assert (values["user_id"], values["parent_user_id"], values["username"]) == (
        BSUID,
        PARENT,
        "@sheena.nelson",
    )
    assert set(values) <= INCOMING_MESSAGE_PLACEHOLDERS
    push = webhook_incoming_payload(BUSINESS, message)
    assert push["contacts"] == value_of(document)["contacts"]
    assert "wa_id" not in push["contacts"][0]
    assert push["messages"][0]["from_user_id"] == BSUID


def test_a_user_with_number_and_bsuid_keeps_both() -> None:
    [message] = inbound_messages(
        value_of(notification("bsuid_inbound", "text_with_phone_and_bsuid"))
    )
    assert message.sender == "16505551234"
    assert message.user.user_id == BSUID
    values = incoming_callback_values(message, business_number=BUSINESS)
    assert values["from"] == values["mobile"] == "16505551234"
    assert values["user_id"] == BSUID


def test_pywa_contacts_carry_user_ids_that_the_push_keeps() -> None:
    document = notification("inbound_messages", "text")
    [message] = inbound_messages(value_of(document))
    assert message.user.user_id == BSUID
    assert message.user.parent_user_id == PARENT
    push = webhook_incoming_payload(BUSINESS, message)
    assert push["contacts"] == value_of(document)["contacts"]


def test_a_status_of_a_message_sent_to_a_bsuid_names_the_user_by_bsuid() -> None:
    value = value_of(notification("statuses_pmp", "delivered_to_bsuid"))
    [status] = reported_statuses(value, 1)
    assert status.contact is not None
    values = status_callback_values(_message(), status.payload, contact=status.contact)
    assert "mobile" not in values
    assert "phone_number" not in values
    assert values["user_id"] == BSUID
    assert values["parent_user_id"] == PARENT
    assert values["username"] == "@sheena.nelson"
    assert set(values) <= MESSAGE_STATUS_PLACEHOLDERS


def test_a_status_push_carries_metas_whole_status_and_the_contact() -> None:
    value = value_of(notification("statuses_pmp", "sent_with_callback_data"))
    [status] = reported_statuses(value, 1)
    push = webhook_status_payload(BUSINESS, status.payload, status.contact)
    [entry] = push["statuses"]
    assert entry["pricing"] == value["statuses"][0]["pricing"]
    assert entry["recipient_user_id"] == BSUID
    assert entry["recipient_parent_user_id"] == PARENT
    assert entry["biz_opaque_callback_data"] == "campaign-42"
    assert push["contacts"] == value["contacts"]
    to_bsuid = value_of(notification("statuses_pmp", "sent_to_bsuid"))["statuses"][0]
    assert "recipient_id" not in webhook_status_payload(BUSINESS, to_bsuid)["statuses"][0]


def test_identity_changes_are_read_from_system_messages_and_user_id_update() -> None:
    [changed] = identity_changes(value_of(notification("user_id_changes", "user_changed_user_id")))
    assert changed.reason == "user_changed_user_id"
    assert changed.before.user_id == BSUID
    assert changed.after.user_id == "US.57240081357714530312"
    assert changed.after.phone == "16505551234"
    [number] = identity_changes(value_of(notification("user_id_changes", "user_changed_number")))
    assert (number.before.phone, number.after.phone) == ("16505551234", "16505559876")
    assert number.after.user_id == BSUID
    [update] = identity_changes(value_of(notification("user_id_changes", "user_id_update")))
    assert (update.before.user_id, update.after.user_id) == (BSUID, "US.57240081357714530312")
    pywa = identity_changes(value_of(notification("system_messages", "phone_number_change")))
    assert [c.after.phone for c in pywa] == ["972912345678"]


def test_bsuids_are_told_from_phone_numbers() -> None:
    assert is_bsuid(BSUID)
    assert is_bsuid(PARENT)
    assert not is_bsuid("16505551234")
    assert not is_bsuid("us.123")


def test_a_send_may_name_a_bsuid_instead_of_a_number() -> None:
    body = validated_message({"recipient": BSUID, "type": "text", "text": {"body": "Hi"}})
    assert body["recipient"] == BSUID
    assert "to" not in body
    with pytest.raises(InvalidPayload) as refused:
        validated_message({"recipient": "16505551234", "type": "text", "text": {"body": "Hi"}})
    assert "messaging_object.recipient" in refused.value.details
    with pytest.raises(InvalidPayload) as missing:
        validated_message({"type": "text", "text": {"body": "Hi"}})
    assert "messaging_object.to" in missing.value.details
