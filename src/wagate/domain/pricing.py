"""The ``price`` of seed 002's status callbacks, from what Meta bills a message.

Since 2025-07-01 Meta prices each message (per-message pricing): a status's
``pricing`` is ``{pricing_model: "PMP", category, type, billable}``, with
``type`` ``regular`` (billed), ``free_customer_service`` or
``free_entry_point`` (free), and may come on ``sent`` and again on
``delivered`` or ``read``. Before, a conversation was billed
(``pricing_model: "CBP"`` and a ``conversation`` whose ``expiration_timestamp``
says it opened); such payloads still count: the conversation's category is the
message's.

The rule:

- the price of a message is decided once, from the first status of it that
  carries pricing: a free type gives no price, a billed one the rate of its
  category for the recipient's country;
- the rate is the account's own for the category when it has one, else the
  operator's rate card (``WAGATE_RATE_CARD``: category → country → price,
  ``*`` for any country);
- only postpaid accounts see prices (seed 002: prepaid and Tech Provider
  accounts never do);
- the callback that shows it is the first ``delivered`` or ``read`` forwarded
  of the message (seed 002 shows the price on delivered; Meta skips
  ``delivered`` when a message is read at once): once per message.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import phonenumbers

from wagate.domain.identity import country_of_bsuid
from wagate.domain.messages import STATUS_RANK, Billing, Message

__all__ = [
    "ANY_COUNTRY",
    "Billed",
    "PricePlan",
    "RateCard",
    "StatusPrice",
    "billed_by",
    "parse_rate_card",
    "plan_prices",
    "price_of",
    "recipient_country",
]

#: The rate card key that stands for any country.
ANY_COUNTRY: Final = "*"
#: The statuses whose callback may show the price (the first forwarded of them does).
_SHOWN_AT: Final = frozenset({"delivered", "read"})
_DELIVERED_RANK: Final = STATUS_RANK["delivered"]


@dataclass(frozen=True, slots=True)
class RateCard:
    """The operator's prices: category → country (ISO code, or ``*``) → price."""

    rates: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def rate(self, category: str, country: str | None) -> str | None:
        """The price of a message of ``category`` to ``country``; None when the card has
        none."""
        for by_country in (self.rates.get(category), self.rates.get(ANY_COUNTRY)):
            if not by_country:
                continue
            if country and country in by_country:
                return by_country[country]
            if ANY_COUNTRY in by_country:
                return by_country[ANY_COUNTRY]
        return None


def parse_rate_card(document: object) -> RateCard:
    """A rate card from its JSON form; ValueError naming what is wrong."""
    if not isinstance(document, dict):
        raise ValueError("the rate card must be an object: category → country → price")
    rates: dict[str, dict[str, str]] = {}
    for category, by_country in document.items():
        if not isinstance(by_country, dict):
            raise ValueError(f"{category}: must be an object of country → price")
        prices: dict[str, str] = {}
        for country, price in by_country.items():
            if isinstance(price, bool) or not isinstance(price, str | int | float):
                raise ValueError(f"{category}.{country}: the price must be a number or text")
            prices[str(country) if country == ANY_COUNTRY else str(country).upper()] = str(price)
        rates[str(category).lower()] = prices
    return RateCard(rates)


@dataclass(frozen=True, slots=True)
class Billed:
    """What a status says Meta bills: the category, or ``free`` when Meta bills nothing."""

    category: str
    free: bool


def billed_by(status: Mapping[str, Any]) -> Billed | None:
    """What Meta bills the message, as this status says; None when it says nothing."""
    pricing = status.get("pricing")
    pricing = pricing if isinstance(pricing, dict) else {}
    if str(pricing.get("pricing_model") or "").upper() == "PMP":
        category = str(pricing.get("category") or "").lower()
        kind = str(pricing.get("type") or "regular").lower()
        free = kind != "regular" or pricing.get("billable") is False
        return Billed(category, free) if category else None
    conversation = status.get("conversation")
    conversation = conversation if isinstance(conversation, dict) else {}
    if not pricing and "expiration_timestamp" not in conversation:
        return None
    origin = conversation.get("origin")
    category = str(
        pricing.get("category") or (origin.get("type") if isinstance(origin, dict) else "") or ""
    ).lower()
    # A free service conversation still shows its price (seed 002).
    return Billed(category, False) if category else None


def recipient_country(message: Message) -> str | None:
    """The recipient's country (ISO code): from the phone number (the NANP's ``+1``
    countries told apart by their area codes), else from the BSUID."""
    digits = "".join(ch for ch in message.recipient if ch.isascii() and ch.isdigit())
    region = _country_of_number(digits) if digits else None
    return region or country_of_bsuid(message.recipient_user_id or "")


@functools.lru_cache(maxsize=65_536)
def _country_of_number(digits: str) -> str | None:
    """The country of an international number's digits; None when none is known.

    Cached: parsing a number costs more than the rest of a status's pricing, and a
    busy number writes to the same recipients again and again."""
    try:
        number = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    if not region and number.country_code is not None:
        region = phonenumbers.region_code_for_country_code(number.country_code)
    return str(region) if region and region != "ZZ" else None


def price_of(message: Message, billed: Billed, billing: Billing, card: RateCard) -> str:
    """The price of a message Meta bills so ("" when free or nothing is priced)."""
    if billed.free or billing.account_type != "postpaid":
        return ""
    own = billing.rate_card.get(billed.category)
    if own is not None:
        return str(own)
    return card.rate(billed.category, recipient_country(message)) or ""


@dataclass(frozen=True, slots=True)
class StatusPrice:
    """One forwarded status of a message: the message, Meta's status, and the price its
    callback shows (None for most)."""

    message: Message
    status: Mapping[str, Any]
    price: str | None


@dataclass
class PricePlan:
    """The prices a batch decides: per forwarded status, and per message to store."""

    statuses: list[StatusPrice] = field(default_factory=list)
    #: Message id → the price decided now ("" when free), for the messages that had none.
    decided: dict[str, str] = field(default_factory=dict)


def plan_prices(
    forwarded: Sequence[tuple[Message, Mapping[str, Any]]],
    billing: Mapping[str, Billing],
    card: RateCard,
) -> PricePlan:
    """Walk a batch's forwarded statuses in order: decide each message's price at its first
    status carrying pricing, and show it on its first forwarded ``delivered`` or ``read``.

    ``forwarded`` is (message as read before the batch, status) in the order the
    statuses were forwarded; ``billing`` each account's, by SID.
    """
    plan = PricePlan()
    prices: dict[str, str | None] = {}
    ranks: dict[str, int] = {}
    for message, status in forwarded:
        price = prices.get(message.id, message.price)
        if price is None:
            billed = billed_by(status)
            if billed is not None:
                account = billing.get(message.sid) or Billing("postpaid", {})
                price = price_of(message, billed, account, card)
                plan.decided[message.id] = price
        prices[message.id] = price
        name = str(status.get("status", "")).lower()
        rank = ranks.get(message.id, message.forwarded_rank)
        shown = price if name in _SHOWN_AT and rank < _DELIVERED_RANK and price else None
        ranks[message.id] = max(rank, STATUS_RANK.get(name, rank))
        plan.statuses.append(StatusPrice(message, status, shown))
    return plan
