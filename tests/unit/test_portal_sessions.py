"""Portal sessions and CSRF tokens: signed, expiring, bound to the key and to each other."""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from wagate.portal.sessions import KEY_FILE_NAME, SessionSigner, load_or_create_key

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
KEY = b"0123456789abcdef0123456789abcdef"
HASH = "a" * 64


def signer(key: bytes = KEY, hours: int = 8) -> SessionSigner:
    return SessionSigner(key, lifetime=timedelta(hours=hours))


def test_a_cookie_reads_back_as_its_session_until_it_expires() -> None:
    cookie = signer().issue("SID1", HASH, NOW)
    session = signer().read(cookie, NOW + timedelta(hours=7, minutes=59))
    assert session is not None
    assert session.sid == "SID1"
    assert session.expires_at == int((NOW + timedelta(hours=8)).timestamp())
    assert signer().read(cookie, NOW + timedelta(hours=8)) is None


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: c[:-1] + ("A" if c[-1] != "A" else "B"),  # the signature
        lambda c: c.replace("v1.", "v1.e", 1),  # the payload
        lambda c: "v2" + c[2:],  # the version
        lambda c: c.rsplit(".", 1)[0],  # no signature
        lambda c: "",
        lambda c: "a.b.c",
    ],
)
def test_a_changed_cookie_is_no_session(tamper: object) -> None:
    cookie = signer().issue("SID1", HASH, NOW)
    assert callable(tamper)
    assert signer().read(tamper(cookie), NOW) is None


def test_another_key_reads_no_session_and_a_short_key_is_refused() -> None:
    cookie = signer().issue("SID1", HASH, NOW)
    assert signer(b"another key of the gateway, long").read(cookie, NOW) is None
    with pytest.raises(ValueError, match="16 bytes"):
        SessionSigner(b"short", lifetime=timedelta(hours=1))


def test_a_new_api_key_ends_the_sessions_of_the_old_one() -> None:
    session = signer().read(signer().issue("SID1", HASH, NOW), NOW)
    assert session is not None
    assert signer().matches_key(session, HASH)
    assert not signer().matches_key(session, "b" * 64)


def test_the_csrf_token_is_the_sessions_own() -> None:
    first = signer().read(signer().issue("SID1", HASH, NOW), NOW)
    second = signer().read(signer().issue("SID1", HASH, NOW), NOW)
    assert first is not None
    assert second is not None
    token = signer().csrf_token(first)
    assert signer().csrf_valid(first, token)
    assert not signer().csrf_valid(second, token)
    assert not signer().csrf_valid(first, None)
    assert not signer().csrf_valid(first, "")
    assert not signer(b"another key of the gateway, long").csrf_valid(first, token)


def test_the_sign_in_token_lasts_an_hour_and_cannot_be_made_up() -> None:
    token = signer().login_token(NOW)
    assert signer().login_token_valid(token, NOW + timedelta(minutes=59))
    assert not signer().login_token_valid(token, NOW + timedelta(minutes=61))
    issued, _, mac = token.partition(".")
    later = str(int(issued) + 3000)
    assert not signer().login_token_valid(f"{later}.{mac}", NOW)
    assert not signer().login_token_valid(None, NOW)
    assert not signer().login_token_valid("x.y", NOW)
    # Nor does a session's CSRF token pass for it, or the other way round.
    session = signer().read(signer().issue("SID1", HASH, NOW), NOW)
    assert session is not None
    assert not signer().login_token_valid(signer().csrf_token(session), NOW)
    assert not signer().csrf_valid(session, token)


def test_the_configured_key_wins(tmp_path: Path) -> None:
    assert load_or_create_key("a configured key", tmp_path) == (b"a configured key", False)
    assert not (tmp_path / KEY_FILE_NAME).exists()


def test_a_key_is_made_once_private_and_kept_across_restarts(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    key, created = load_or_create_key(None, data_dir)
    assert created
    path = data_dir / KEY_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, created_again = load_or_create_key(None, data_dir)
    assert (again, created_again) == (key, False)
    # A session signed before the "restart" is read after it.
    cookie = SessionSigner(key, lifetime=timedelta(hours=1)).issue("SID1", HASH, NOW)
    assert SessionSigner(again, lifetime=timedelta(hours=1)).read(cookie, NOW) is not None
    assert [p.name for p in data_dir.iterdir()] == [KEY_FILE_NAME]


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: load_or_create_key(None, tmp_path), range(16)))
    assert len({key for key, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert os.listdir(tmp_path) == [KEY_FILE_NAME]


def test_an_empty_key_file_is_an_error_not_a_weak_key(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE_NAME).write_text("\n")
    with pytest.raises(ValueError, match="no session key"):
        load_or_create_key(None, tmp_path)
