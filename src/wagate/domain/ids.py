"""Identifiers and secrets: how they are made and how keys are kept."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid

__all__ = [
    "api_key_matches",
    "hash_api_key",
    "new_api_key",
    "new_token",
    "new_upload_id",
    "time_ordered_uuid",
]


def time_ordered_uuid() -> uuid.UUID:
    """A fresh UUID (version 7) whose first 48 bits are the time in milliseconds.

    Rows keyed by it are added at the end of their primary-key index instead of at
    random places in it: the hot tables take thousands a second.
    """
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # the RFC 4122 variant
    return uuid.UUID(int=value)


def new_upload_id() -> str:
    """A fresh resumable-media id."""
    return str(uuid.uuid4())


def new_api_key() -> str:
    """A fresh API key: 32 characters, as the provider's keys are."""
    return "A" + secrets.token_hex(16)[:31]


def new_token() -> str:
    """An unguessable URL-safe token (for download links and the like)."""
    return secrets.token_urlsafe(32)


def hash_api_key(api_key: str) -> str:
    """The stored form of an API key.

    Keys are long random strings, so one round of SHA-256 keeps them safe at
    rest; they are never stored in clear.
    """
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def api_key_matches(api_key: str, stored_hash: str) -> bool:
    """Whether ``api_key`` is the key behind ``stored_hash``, in constant time."""
    return hmac.compare_digest(hash_api_key(api_key), stored_hash)
