"""Identifiers and secrets: how they are made and how keys are kept."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid


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
