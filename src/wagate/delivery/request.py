"""Preparing one attempt of a delivery: its headers, signature and body, as pure functions.

A delivery is signed with its profile's secrets (both during a rotation), or,
for a request no profile owns (a number's webhook, a message's
``callback_url``), with the number's webhook secret
(:mod:`wagate.delivery.signing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from wagate.delivery.signing import headers_for, sign, signed_payload
from wagate.domain.callbacks import CallbackProfile, Delivery

__all__ = ["REDACTED", "SENSITIVE_HEADERS", "PreparedRequest", "Signing", "prepare", "redact"]

REDACTED: Final = "[redacted]"
SENSITIVE_HEADERS: Final = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key"}
)


@dataclass(frozen=True, slots=True)
class Signing:
    """What signs a delivery: its profile (None for a request no profile owns) and,
    for those, the number's webhook secret."""

    profile: CallbackProfile | None
    number_secret: str | None


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """The request an attempt makes, ready for the sender."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


def prepare(delivery: Delivery, signing: Signing, now: datetime) -> PreparedRequest:
    """The request for an attempt of ``delivery`` made at ``now``."""
    profile = signing.profile
    body = delivery.body.encode("utf-8") if delivery.body is not None else None
    timestamp = int(now.timestamp())
    signed = signed_payload(delivery.url, body)
    if profile is not None:
        secrets = profile.signing_secrets(now)
    else:
        secrets = [signing.number_secret] if signing.number_secret else []
    headers = dict(profile.headers) if profile is not None else {}
    if secrets:
        signatures = [sign(secret, delivery.id, timestamp, signed) for secret in secrets]
        headers.update(headers_for(delivery.id, timestamp, signatures))
    else:
        headers.update({"webhook-id": delivery.id, "webhook-timestamp": str(timestamp)})
    if body is not None:
        headers["Content-Type"] = "application/json"
    return PreparedRequest(delivery.method, delivery.url, headers, body)


def redact(headers: dict[str, str], profile: CallbackProfile | None = None) -> dict[str, str]:
    """Headers as logged: credentials, and every custom header value of the profile, replaced."""
    custom = {name.lower() for name in profile.headers} if profile is not None else set()
    return {
        name: REDACTED if name.lower() in SENSITIVE_HEADERS or name.lower() in custom else value
        for name, value in headers.items()
    }
