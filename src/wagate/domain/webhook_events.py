"""The catalogue of webhook events a customer can opt into, beside statuses and messages.

Meta's ``whatsapp_business_account`` webhooks carry more than message statuses
and incoming messages: echoes of messages sent from the WhatsApp Business app,
users' marketing preferences, template reviews, account notices. Each arrives
in a change named by its ``field``; the event type a customer opts into is that
field's name. Two more come inside the ``messages`` field: ``played`` (a voice
message was played) and ``errors`` (errors Meta reports about a change as a
whole, beside or instead of its messages). ``*`` opts into every type,
including fields Meta adds later.

An event is about one business number (its change names the number in
``metadata``) or about the WABA as a whole (template and account changes).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

__all__ = [
    "ALL_EVENTS",
    "CATALOGUE",
    "MAX_EVENT_TYPES",
    "EventScope",
    "EventType",
    "effective_types",
    "unknown_types",
    "validated_types",
    "wants",
]

#: Opts into every event type, including fields Meta adds later.
ALL_EVENTS: Final = "*"
#: The longest list of event types one subscription holds.
MAX_EVENT_TYPES: Final = 64


class EventScope(enum.StrEnum):
    """What an event is about: one business number, or the WABA as a whole."""

    NUMBER = "number"
    WABA = "waba"


@dataclass(frozen=True, slots=True)
class EventType:
    """One entry of the catalogue: its name (Meta's field name), scope and meaning."""

    name: str
    scope: EventScope
    description: str


def _entry(name: str, scope: EventScope, description: str) -> tuple[str, EventType]:
    return name, EventType(name, scope, description)


_N, _W = EventScope.NUMBER, EventScope.WABA

#: Every event type, by name. The order is the one documentation lists them in.
CATALOGUE: Final[Mapping[str, EventType]] = dict(
    [
        _entry("played", _N, "A voice message the business sent was played (a `played` status)."),
        _entry(
            "errors", _N, "Errors Meta reports about a change as a whole (value-level `errors`)."
        ),
        _entry(
            "smb_message_echoes",
            _N,
            "A message the business sent from the WhatsApp Business app beside the API.",
        ),
        _entry("message_echoes", _N, "A message the business sent from another of its clients."),
        _entry(
            "user_preferences",
            _N,
            "A user stopped or resumed marketing messages (kept by the gateway as well).",
        ),
        _entry("smb_app_state_sync", _N, "Contacts synchronised from the WhatsApp Business app."),
        _entry("history", _N, "Chat history shared from the WhatsApp Business app."),
        _entry("calls", _N, "A call to or from the business number."),
        _entry("message_template_status_update", _W, "A template was approved, rejected, paused."),
        _entry("message_template_quality_update", _W, "A template's quality rating changed."),
        _entry("message_template_components_update", _W, "A template's components changed."),
        _entry(
            "template_category_update",
            _W,
            "Meta changed a template's category (kept by the gateway as well).",
        ),
        _entry("account_update", _W, "The WABA was restricted, banned, verified, or changed."),
        _entry("account_review_update", _W, "The WABA's review came to a decision."),
        _entry("account_alerts", _W, "An alert about the WABA (limits, profile)."),
        _entry("business_capability_update", _W, "The WABA's messaging limits changed."),
        _entry("phone_number_name_update", _W, "A number's display name was reviewed."),
        _entry("phone_number_quality_update", _W, "A number's quality rating or tier changed."),
        _entry("security", _W, "A security setting of a number changed (two-step PIN)."),
        _entry("partner_solutions", _W, "A partner solution's status changed."),
    ]
)


def unknown_types(names: Iterable[str]) -> list[str]:
    """The names that are neither in the catalogue nor ``*``, sorted."""
    return sorted({n for n in names if n != ALL_EVENTS and n not in CATALOGUE})


def validated_types(names: object) -> tuple[str, ...]:
    """A subscription's event types, de-duplicated in their order; ValueError with a
    sentence when ``names`` is not a list of catalogue names (or ``*``)."""
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError("must be a list of event type names")
    if len(names) > MAX_EVENT_TYPES:
        raise ValueError(f"at most {MAX_EVENT_TYPES} event types")
    unknown = unknown_types(names)
    if unknown:
        raise ValueError(f"unknown event types {unknown}; see the catalogue")
    return tuple(dict.fromkeys(names))


def wants(event_types: Iterable[str], event_type: str) -> bool:
    """Whether a subscription to ``event_types`` takes an event of ``event_type``."""
    chosen = set(event_types)
    return ALL_EVENTS in chosen or event_type in chosen


def effective_types(
    number_types: tuple[str, ...] | None, waba_types: tuple[str, ...] | None
) -> tuple[str, ...]:
    """The types a number takes: its own subscription when it has one, else its WABA's."""
    if number_types is not None:
        return number_types
    return waba_types or ()
