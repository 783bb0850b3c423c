"""Portal sessions and CSRF tokens, signed with HMAC-SHA256.

A session is a cookie the gateway signed: the SID, when it expires, a random
nonce, and a fingerprint of the account's API-key hash (a new key ends every
session of the old one). It is checked on every request; nothing about it is
kept on the server. The key comes from ``WAGATE_PORTAL_SESSION_KEY`` or is
generated once and kept in the data directory (:func:`load_or_create_key`),
so sessions outlive a restart. Separate keys are derived from it for
sessions, CSRF tokens and the sign-in form, so that no token of one kind
passes for another.

A form of a signed-in customer carries the session's CSRF token, the HMAC of
its nonce; the sign-in form carries a token of its own that expires.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

SESSION_COOKIE: Final = "wagate_portal"
KEY_FILE_NAME: Final = "portal-session.key"
LOGIN_TOKEN_SECONDS: Final = 3600
_VERSION: Final = "v1"


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in customer: its account and how long the sign-in lasts."""

    sid: str
    expires_at: int
    nonce: str
    key_fingerprint: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Issues and checks session cookies and CSRF tokens under one secret key."""

    def __init__(self, key: bytes, *, lifetime: timedelta) -> None:
        if len(key) < 16:
            raise ValueError("the portal session key must be at least 16 bytes")
        self._session_key = hmac.digest(key, b"wagate portal session", "sha256")
        self._csrf_key = hmac.digest(key, b"wagate portal csrf", "sha256")
        self._login_key = hmac.digest(key, b"wagate portal sign-in", "sha256")
        self.lifetime = lifetime

    def fingerprint(self, api_key_hash: str) -> str:
        """What a session remembers of the account's API key: a keyed hash of its hash."""
        return hmac.new(self._session_key, api_key_hash.encode(), "sha256").hexdigest()[:32]

    def matches_key(self, session: Session, api_key_hash: str) -> bool:
        """Whether the session was issued under the account's current API key."""
        return hmac.compare_digest(self.fingerprint(api_key_hash), session.key_fingerprint)

    def issue(self, sid: str, api_key_hash: str, now: datetime) -> str:
        """The cookie value of a new session of ``sid``."""
        session = Session(
            sid=sid,
            expires_at=int((now + self.lifetime).timestamp()),
            nonce=_b64(secrets.token_bytes(18)),
            key_fingerprint=self.fingerprint(api_key_hash),
        )
        payload = json.dumps(
            {
                "sid": session.sid,
                "exp": session.expires_at,
                "nonce": session.nonce,
                "key": session.key_fingerprint,
            },
            separators=(",", ":"),
        ).encode()
        body = f"{_VERSION}.{_b64(payload)}"
        return f"{body}.{self._sign(body)}"

    def read(self, cookie: str | None, now: datetime) -> Session | None:
        """The session a cookie carries, or None when it is missing, forged or expired."""
        if not cookie or cookie.count(".") != 2:
            return None
        body, _, signature = cookie.rpartition(".")
        if not hmac.compare_digest(self._sign(body), signature):
            return None
        version, _, encoded = body.partition(".")
        if version != _VERSION:
            return None
        try:
            fields = json.loads(_unb64(encoded))
            session = Session(
                sid=str(fields["sid"]),
                expires_at=int(fields["exp"]),
                nonce=str(fields["nonce"]),
                key_fingerprint=str(fields["key"]),
            )
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        if session.expires_at <= now.timestamp():
            return None
        return session

    def csrf_token(self, session: Session) -> str:
        """The token every form of this session carries."""
        return _b64(hmac.digest(self._csrf_key, session.nonce.encode(), "sha256"))

    def csrf_valid(self, session: Session, token: str | None) -> bool:
        """Whether ``token`` is this session's CSRF token."""
        return bool(token) and hmac.compare_digest(self.csrf_token(session), str(token))

    def login_token(self, now: datetime) -> str:
        """The token of a sign-in form shown at ``now``."""
        issued = str(int(now.timestamp()))
        return f"{issued}.{_b64(hmac.digest(self._login_key, issued.encode(), 'sha256'))}"

    def login_token_valid(self, token: str | None, now: datetime) -> bool:
        """Whether ``token`` is a sign-in form's token of the last hour."""
        issued, _, mac = (token or "").partition(".")
        if not issued.isdigit():
            return False
        expected = _b64(hmac.digest(self._login_key, issued.encode(), "sha256"))
        age = now.timestamp() - int(issued)
        return hmac.compare_digest(expected, mac) and -60 <= age <= LOGIN_TOKEN_SECONDS

    def _sign(self, body: str) -> str:
        return _b64(hmac.digest(self._session_key, body.encode(), "sha256"))


def load_or_create_key(configured: str | None, data_dir: Path) -> tuple[bytes, bool]:
    """The session key: the configured one, else the data directory's, made on first use.

    Returns the key and whether it was just created. Any number of processes
    sharing the data directory agree on one key: the file is written aside and
    linked into place, so exactly one creator wins and the others read its key.
    """
    if configured:
        return configured.encode(), False
    path = data_dir / KEY_FILE_NAME
    try:
        return _read_key(path), False
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    draft = data_dir / f".{KEY_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_hex(32) + "\n")
    try:
        os.link(draft, path)
        created = True
    except FileExistsError:
        created = False
    finally:
        draft.unlink()
    return _read_key(path), created


def _read_key(path: Path) -> bytes:
    text = path.read_text().strip()
    if len(text) < 32:
        raise ValueError(f"{path} holds no session key; delete it to have one made")
    return text.encode()
