"""Accounts, WABAs and numbers: who may use the gateway and for what."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "ACCOUNT_TYPES",
    "E164_DIGITS",
    "E164_PROBLEM",
    "Account",
    "ApiVersion",
    "PhoneNumber",
    "Waba",
    "is_e164_digits",
]

#: A number in E.164 as WhatsApp writes it: the country code and number, 7 to 15
#: digits, without '+', spaces or punctuation.
E164_DIGITS = re.compile(r"[1-9][0-9]{6,14}")
E164_PROBLEM = "must be an E.164 number: 7 to 15 digits, no '+', spaces or punctuation"


def is_e164_digits(number: str) -> bool:
    """Whether ``number`` is E.164 digits (``15550783881``), as numbers are stored."""
    return E164_DIGITS.fullmatch(number) is not None


class ApiVersion(enum.StrEnum):
    """The version of the provider's WhatsApp API a WABA is onboarded on."""

    V1 = "v1"
    V2 = "v2"


@dataclass(frozen=True, slots=True)
class Account:
    """A customer account, addressed by its SID."""

    sid: str
    company_id: str
    api_key_hash: str
    whatsapp_enabled: bool
    created_at: datetime
    account_type: str = "postpaid"
    rate_card: dict[str, str] = field(default_factory=dict)


ACCOUNT_TYPES = ("postpaid", "prepaid", "tech_provider")


@dataclass(frozen=True, slots=True)
class Waba:
    """A WhatsApp Business Account of a customer."""

    waba_id: str
    sid: str
    api_version: ApiVersion
    callback_profile_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A WhatsApp business number of a WABA."""

    number: str
    sid: str
    waba_id: str
    phone_number_id: str
    callback_profile_id: str | None
    webhook_url: str | None
    created_at: datetime
    #: The profile that gets the messages the number's users send.
    incoming_callback_profile_id: str | None = None
