"""Standard Webhooks v1 signatures: ``v1,`` HMAC-SHA256 over ``id.timestamp.payload``.

The payload is the body of a POST and the request target (path and query) of
a GET (:func:`signed_payload`). During a secret rotation both the old and the new
secret sign, and the header carries both signatures separated by a space.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _random
from collections.abc import Sequence
from typing import Final
from urllib.parse import urlsplit

__all__ = [
    "SECRET_BYTES",
    "SECRET_PREFIX",
    "headers_for",
    "new_secret",
    "request_target",
    "secret_key",
    "sign",
    "signature_header",
    "signed_payload",
]

SECRET_PREFIX: Final = "whsec_"  # noqa: S105
SECRET_BYTES: Final = 24


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` and the base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(_random.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_…`` secret; raises ValueError when it is not base64 or empty."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("the signing secret is not base64") from exc
    if not key:
        raise ValueError("the signing secret is empty")
    return key


def request_target(url: str) -> str:
    """The path and query of a URL: what a GET's signature covers."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def signed_payload(url: str, body: bytes | None) -> bytes:
    """What a request's signature covers: its body, or, for a request with none (a
    GET), its request target."""
    return body if body is not None else request_target(url).encode("utf-8")


def sign(secret: str, msg_id: str, timestamp: int, payload: bytes) -> str:
    """The ``v1,<base64>`` signature of ``payload`` sent as message ``msg_id`` at ``timestamp``."""
    signed = f"{msg_id}.{timestamp}.".encode() + payload
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets: Sequence[str], msg_id: str, timestamp: int, payload: bytes) -> str:
    """The ``webhook-signature`` value: one signature per secret, separated by spaces."""
    if not secrets:
        raise ValueError("at least one secret is needed to sign")
    return " ".join(sign(secret, msg_id, timestamp, payload) for secret in secrets)


def headers_for(msg_id: str, timestamp: int, signatures: str | Sequence[str]) -> dict[str, str]:
    """The ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers.

    ``signatures`` is a header value from :func:`signature_header` or a list of
    signatures from :func:`sign`.
    """
    value = signatures if isinstance(signatures, str) else " ".join(signatures)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": value,
    }
